/**
 * The taskevents engine: {@link dev.taskevents.engine.TaskEventEngine} applies task events to a
 * store, in order per workflow instance and in parallel across them;
 * {@link dev.taskevents.engine.executor.KeyedExecutor} is its ordering core, usable on its own.
 *
 * <p>The state rules, the group committer and the workflow cache are internal packages.
 */
module dev.taskevents.engine {
    requires transitive dev.taskevents.api;
    requires com.github.benmanes.caffeine;

    exports dev.taskevents.engine;
    exports dev.taskevents.engine.executor;
}
