package dev.taskevents.storage.jdbc.internal;

/**
 * The database refused the input (SQL state class 22 or 23), as the store SPI reports refused
 * input: an {@link IllegalArgumentException}, which the engine answers as a rejection instead of
 * retrying. The message names what failed and the SQL state, never the SQL or its values; the
 * driver's exception is the cause.
 */
final class RefusedByDatabaseException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    RefusedByDatabaseException(String message, Throwable cause) {
        super(message, cause);
    }
}
