package dev.taskevents.api;

import java.util.Objects;

/**
 * The engine's answer to one {@link TaskEvent}, given only after any change it made is durable.
 *
 * <p>{@link Applied}, {@link Duplicate} and {@link Stale} are successes: the worker may stop
 * resending. {@link Rejected} is final too: resending the same event gets the same answer.
 * {@link Moved} (cluster mode) is not an answer about the event at all: resend it to the node
 * that owns its shard now.
 */
public sealed interface Acknowledgement {
    /** The id of the event this answers. */
    String eventId();

    /**
     * Whether the worker may consider the event delivered: true for {@link Applied},
     * {@link Duplicate} and {@link Stale}; false for {@link Rejected} (final) and {@link Moved}
     * (resend elsewhere).
     */
    default boolean delivered() {
        return this instanceof Applied || this instanceof Duplicate || this instanceof Stale;
    }

    /** The event changed the task; {@code task} is the row as committed. */
    record Applied(String eventId, TaskInstance task) implements Acknowledgement {
        public Applied {
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(task, "task");
        }
    }

    /** The event was applied before (a resend); nothing changed. */
    record Duplicate(String eventId, TaskState currentState) implements Acknowledgement {
        public Duplicate {
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(currentState, "currentState");
        }
    }

    /**
     * The task has moved past what the event reports (e.g. a RUNNING after the RESULT, or any
     * event for a finished task); nothing changed.
     */
    record Stale(String eventId, TaskState currentState) implements Acknowledgement {
        public Stale {
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(currentState, "currentState");
        }
    }

    /** The event cannot apply to any task; {@code message} says why, naming the ids. */
    record Rejected(String eventId, Reason reason, String message) implements Acknowledgement {
        public Rejected {
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(message, "message");
        }

        /** Why an event was rejected. */
        public enum Reason {
            /** No store holds the task instance the event names. */
            UNKNOWN_TASK_INSTANCE,
            /** The task instance exists but belongs to another workflow instance than the event says. */
            WRONG_WORKFLOW_INSTANCE,
            /**
             * The store refused the change the event makes (a value it cannot hold); nothing of it
             * was written, and the other events of its batch were not held back by it.
             */
            REFUSED_BY_STORE
        }
    }

    /**
     * Cluster mode: this node does not own the event's shard (any more), so nothing was written by
     * this answer. Resend the event to {@code ownerAddress}; if that is null (no owner right now,
     * e.g. while the shard moves), resend shortly to any node.
     *
     * @param eventId the event
     * @param shard the event's shard
     * @param ownerAddress the address of the shard's owner as this node last saw it, or null
     */
    record Moved(String eventId, int shard, String ownerAddress) implements Acknowledgement {
        public Moved {
            Objects.requireNonNull(eventId, "eventId");
            if (shard < 0) {
                throw new IllegalArgumentException("shard must not be negative, was " + shard);
            }
        }
    }
}
