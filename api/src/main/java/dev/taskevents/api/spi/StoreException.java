package dev.taskevents.api.spi;

/**
 * A store could not do what was asked: unreachable, failed, or refused for a reason that is not
 * the caller's input. Retrying may succeed; the message says which store and what failed.
 */
public class StoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
