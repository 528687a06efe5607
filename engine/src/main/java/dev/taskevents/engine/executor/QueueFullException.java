package dev.taskevents.engine.executor;

import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;

/**
 * A task was not accepted because {@code maxQueued} tasks were waiting or running and none
 * finished within the submit timeout. Backpressure: slow down and submit again.
 */
public class QueueFullException extends RejectedExecutionException {
    private static final long serialVersionUID = 1L;

    public QueueFullException(Object key, int maxQueued, Duration waited) {
        super("queue full: " + maxQueued + " tasks are waiting or running and none finished within "
                + waited.toMillis() + " ms; the task for key " + key + " was not accepted (submit again later,"
                + " or raise maxQueued)");
    }
}
