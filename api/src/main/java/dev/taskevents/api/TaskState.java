package dev.taskevents.api;

/**
 * The state of a task instance as persisted by the store.
 *
 * <p>{@code SUBMITTED} is where the scheduler leaves a task before a worker has it; the
 * finished states are terminal: once a task is finished no event changes it again.
 */
public enum TaskState {
    /** Created by the scheduler, not yet handed to a worker. */
    SUBMITTED(false),
    /** Handed to a worker (a DISPATCH event was applied). */
    DISPATCHED(false),
    /** The worker started it (a RUNNING event was applied). */
    RUNNING(false),
    /** The worker holds it back until its delay expires (a DELAY event was applied). */
    DELAYED(false),
    /** Finished successfully. */
    SUCCESS(true),
    /** Finished with an error. */
    FAILURE(true),
    /** Stopped by a kill request. */
    KILLED(true),
    /** Stopped by a pause request; a new task instance resumes it. */
    PAUSED(true);

    private final boolean finished;

    TaskState(boolean finished) {
        this.finished = finished;
    }

    /** Whether this state is terminal: no event changes a task in a finished state. */
    public boolean isFinished() {
        return finished;
    }
}
