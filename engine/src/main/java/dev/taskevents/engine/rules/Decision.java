package dev.taskevents.engine.rules;

import dev.taskevents.api.TaskInstance;

/** What the state rules decide for one event against the task's stored state. */
public sealed interface Decision {
    /** Write {@code next} (version + 1) in place of the stored row. */
    record Change(TaskInstance next) implements Decision {}

    /** The event was applied before (a resend): change nothing, acknowledge. */
    record Duplicate() implements Decision {}

    /** The task has moved past the event: change nothing, acknowledge. */
    record Stale() implements Decision {}
}
