package dev.taskevents.api;

/** What a worker reports about a task instance. */
public enum TaskEventType {
    /** The task was handed to a worker. Target state: {@link TaskState#DISPATCHED}. */
    DISPATCH,
    /** The worker started the task. Target state: {@link TaskState#RUNNING}. */
    RUNNING,
    /** The worker delays the task's start. Target state: {@link TaskState#DELAYED}. */
    DELAY,
    /** The task finished. Target state: one of the finished states, {@link TaskState#isFinished()}. */
    RESULT;

    /**
     * Whether {@code state} is a state an event of this type may carry: the one fixed state for
     * DISPATCH, RUNNING and DELAY, any finished state for RESULT.
     */
    public boolean allowsTarget(TaskState state) {
        return switch (this) {
            case DISPATCH -> state == TaskState.DISPATCHED;
            case RUNNING -> state == TaskState.RUNNING;
            case DELAY -> state == TaskState.DELAYED;
            case RESULT -> state.isFinished();
        };
    }
}
