package dev.taskevents.api;

import java.time.Instant;
import java.util.Objects;

/**
 * What the workflow's state machine is told after a task event was applied and committed: the
 * task instance {@code taskInstanceId} of {@code workflowInstanceId} is now in {@code state}.
 * Sent for applied RUNNING, DELAY and RESULT events; never for DISPATCH (the scheduler
 * dispatched the task itself), and never for a duplicate, stale or rejected event.
 *
 * @param workflowInstanceId the workflow instance
 * @param taskInstanceId the task instance that changed
 * @param eventType the event that changed it
 * @param state the task's new state
 * @param eventId the id of that event
 * @param committedAt when the change was written
 */
public record StateEvent(long workflowInstanceId, long taskInstanceId, TaskEventType eventType,
                         TaskState state, String eventId, Instant committedAt) {
    public StateEvent {
        Objects.requireNonNull(eventType, "eventType");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(eventId, "eventId");
        Objects.requireNonNull(committedAt, "committedAt");
    }
}
