package dev.taskevents.client;

/**
 * The feed's cursor is older than the server's retention (410, {@code CURSOR_EXPIRED}): events
 * after it were deleted and cannot be read. Resume from {@link #oldest()} and resynchronise the
 * task states the consumer tracks from {@code GET /v1/task-instances/{id}}, since changes between
 * the cursor and {@code oldest()} will never be delivered.
 */
public final class CursorExpiredException extends TaskEventsException {
    private static final long serialVersionUID = 1L;
    private final transient FeedCursor oldest;

    CursorExpiredException(FeedCursor cursor, FeedCursor oldest, String serverMessage) {
        super("the feed cursor " + cursor + " is older than the server's feed retention (server said: " + serverMessage
                + "): the events after it were deleted; resume with oldest() (" + oldest
                + ") and resynchronise the task states from GET /v1/task-instances/{id}", null);
        this.oldest = oldest;
    }

    /** The cursor before the oldest event the server still holds ({@link FeedCursor#OLDEST} if it did not say). */
    public FeedCursor oldest() {
        return oldest;
    }
}
