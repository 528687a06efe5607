package dev.taskevents.client;

/**
 * The server cannot read the feed from this cursor, and never will: it is not a cursor it issued
 * (400 {@code BAD_CURSOR}), it belongs to another database's feed (410 {@code OTHER_FEED}), or it is
 * ahead of the feed's head (410 {@code AHEAD}, e.g. a database restored from a backup). The message
 * carries the server's words; start again from {@link FeedCursor#OLDEST} or {@link FeedCursor#LATEST}
 * and resynchronise the task states.
 */
public final class CursorInvalidException extends TaskEventsException {
    private static final long serialVersionUID = 1L;
    private final String code;

    CursorInvalidException(FeedCursor cursor, int status, String code, String serverMessage) {
        super("the server cannot read the feed from cursor \"" + cursor + "\" (" + status + " " + code + ": "
                + serverMessage + "); start from FeedCursor.OLDEST or LATEST and resynchronise the task states"
                + " from GET /v1/task-instances/{id}", null);
        this.code = code;
    }

    /** The server's code: {@code BAD_CURSOR}, {@code OTHER_FEED}, {@code AHEAD}, or another it gave. */
    public String code() {
        return code;
    }
}
