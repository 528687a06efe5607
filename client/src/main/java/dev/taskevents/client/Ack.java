package dev.taskevents.client;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskState;
import java.util.Objects;

/**
 * The server's final answer to one sent event: what {@code taskevents serve} says about it once
 * any change it made is durable. A future of {@link TaskEventsClient#send} completes with one of
 * these, never with a "moved" or "not applied" answer: the client resends those itself.
 *
 * <p>Why not {@link Acknowledgement}: serve answers an applied event with its new state and row
 * version, not with the whole task instance that {@link Acknowledgement.Applied} holds (that would
 * echo var pools of up to a mebibyte). {@link #from(Acknowledgement)} converts the embedded
 * engine's answer, so code can take either path.
 */
public sealed interface Ack {
    /** The id of the event this answers. */
    String eventId();

    /**
     * Whether the event is delivered and the worker may forget it: true for {@link Applied},
     * {@link Duplicate} and {@link Stale}; false for {@link Rejected}, which is final too
     * (resending gets the same answer) but means the event applies to no task.
     */
    default boolean delivered() {
        return !(this instanceof Rejected);
    }

    /** The event changed the task: it is now in {@code state}, at row {@code version}. */
    record Applied(String eventId, TaskState state, long version) implements Ack {
        public Applied {
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(state, "state");
        }
    }

    /** The event was applied before (this was a resend); the task is in {@code state}. */
    record Duplicate(String eventId, TaskState state) implements Ack {
        public Duplicate {
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(state, "state");
        }
    }

    /** The task has moved past what the event reports; nothing changed; it is in {@code state}. */
    record Stale(String eventId, TaskState state) implements Ack {
        public Stale {
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(state, "state");
        }
    }

    /** The event applies to no task; {@code message} is the server's (cut to 300 characters). */
    record Rejected(String eventId, Acknowledgement.Rejected.Reason reason, String message) implements Ack {
        public Rejected {
            Objects.requireNonNull(eventId, "eventId");
            Objects.requireNonNull(reason, "reason");
            Objects.requireNonNull(message, "message");
        }
    }

    /**
     * The embedded engine's answer as the client's.
     *
     * @throws IllegalArgumentException for {@link Acknowledgement.Moved}, which is not an answer
     *     about the event (the client resends it to the owner instead)
     */
    static Ack from(Acknowledgement ack) {
        return switch (ack) {
            case Acknowledgement.Applied a -> new Applied(a.eventId(), a.task().state(), a.task().version());
            case Acknowledgement.Duplicate d -> new Duplicate(d.eventId(), d.currentState());
            case Acknowledgement.Stale s -> new Stale(s.eventId(), s.currentState());
            case Acknowledgement.Rejected r -> new Rejected(r.eventId(), r.reason(), r.message());
            case Acknowledgement.Moved m -> throw new IllegalArgumentException("event " + m.eventId()
                    + " was answered MOVED (shard " + m.shard() + "): that is not a final answer; resend it to "
                    + (m.ownerAddress() == null ? "any node" : m.ownerAddress()));
        };
    }
}
