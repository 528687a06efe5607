/** A worker and a scheduler that reach taskevents serve over HTTP. */
module dev.taskevents.examples.worker {
    requires dev.taskevents.client;
}
