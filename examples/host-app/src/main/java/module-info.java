/** A host application that embeds the engine; the store is found through ServiceLoader by its URL. */
module dev.taskevents.examples.host {
    requires dev.taskevents.engine;
}
