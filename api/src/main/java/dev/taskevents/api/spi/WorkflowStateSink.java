package dev.taskevents.api.spi;

import dev.taskevents.api.StateEvent;

/**
 * The workflow state machine's inbox: told of every task state change after it was committed,
 * in commit order per workflow instance. Called on an engine thread: return quickly (hand the
 * event to the state machine's own queue). An exception thrown here is reported by the engine
 * (logged and counted); it does not undo the change or the acknowledgement.
 */
@FunctionalInterface
public interface WorkflowStateSink {

    /** A sink that ignores every event. */
    WorkflowStateSink NONE = event -> { };

    void taskStateChanged(StateEvent event);
}
