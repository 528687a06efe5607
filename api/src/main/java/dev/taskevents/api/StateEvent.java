package dev.taskevents.api;

import java.time.Instant;
import java.util.Objects;

/**
 * What the workflow's state machine is told after a task event was applied and committed: the
 * task instance {@code taskInstanceId} of {@code workflowInstanceId} is now in {@code state}.
 * Sent for applied RUNNING, DELAY and RESULT events; never for DISPATCH (the scheduler
 * dispatched the task itself), and never for a duplicate, stale or rejected event.
 *
 * <p>A sink may be told the same change more than once (after a fault, the change is told again
 * from the store's outbox), never out of commit order for one workflow: a sink drops an event
 * whose {@code version} is not above the last one it saw for that task instance.
 *
 * @param workflowInstanceId the workflow instance
 * @param taskInstanceId the task instance that changed
 * @param eventType the event that changed it
 * @param state the task's new state
 * @param eventId the id of that event
 * @param version the task instance's row version after the change: unique per task instance,
 *     rising with each change, so a repeat can be recognised
 * @param committedAt when the change was written
 */
public record StateEvent(long workflowInstanceId, long taskInstanceId, TaskEventType eventType,
                         TaskState state, String eventId, long version, Instant committedAt) {
    public StateEvent {
        Objects.requireNonNull(eventType, "eventType");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(committedAt, "committedAt");
        if (version < 1) {
            throw new IllegalArgumentException("version of a committed change must be at least 1, was " + version);
        }
    }
}
