package dev.taskevents.engine;

import dev.taskevents.api.TaskEvent;

/** An accepted event did not run before the engine's close deadline; nothing of it was written. */
public class EngineClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public EngineClosedException(TaskEvent event) {
        super("the engine closed before event " + event.eventId() + " (workflow instance "
                + event.workflowInstanceId() + ", task instance " + event.taskInstanceId()
                + ") ran; it was not applied: submit it again to another engine");
    }
}
