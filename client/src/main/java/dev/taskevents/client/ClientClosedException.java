package dev.taskevents.client;

/**
 * The client was closed before the event was acknowledged (or the event was sent after
 * {@code close()}). The event may or may not have been applied: send it again with another client
 * (resending an applied event is answered as a duplicate).
 */
public final class ClientClosedException extends TaskEventsException {
    private static final long serialVersionUID = 1L;

    ClientClosedException(String message) {
        super(message, null);
    }
}
