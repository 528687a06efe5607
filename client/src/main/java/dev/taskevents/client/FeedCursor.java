package dev.taskevents.client;

import java.util.Objects;

/**
 * A position in the server's state-event feed: the feed continues with the events after it.
 * Opaque: store {@link #toString()} (at most a few dozen ASCII characters) and give it back to
 * {@link #parse}; the server decodes it, so a cursor survives restarts of the server and works
 * on any node of a cluster. {@link #OLDEST} and {@link #LATEST} start a feed without a stored
 * cursor.
 */
public final class FeedCursor {
    /** Before the oldest event the server still holds (its retention). */
    public static final FeedCursor OLDEST = new FeedCursor(null);
    /** At the feed's head: only events committed from now on. */
    public static final FeedCursor LATEST = new FeedCursor("latest");

    private final String value;

    private FeedCursor(String value) {
        this.value = value;
    }

    /**
     * The cursor stored as {@code text} ({@link #toString()} of a cursor the server gave); the
     * server checks it, and answers a cursor it did not issue with a {@link CursorInvalidException}.
     *
     * @throws IllegalArgumentException if {@code text} is empty, longer than 200 characters or
     *     holds a character outside printable ASCII (no cursor of the server does)
     */
    public static FeedCursor parse(String text) {
        Objects.requireNonNull(text, "text");
        if (text.isEmpty() || text.length() > 200 || !text.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("not a feed cursor: \"" + (text.length() > 60 ? text.substring(0, 60) + "…" : text)
                    + "\"; give the text of a cursor the server returned (FeedCursor.toString()), or use"
                    + " FeedCursor.OLDEST or FeedCursor.LATEST");
        }
        return text.equals("latest") ? LATEST : new FeedCursor(text);
    }

    /** The value of the {@code after} query parameter, or null for {@link #OLDEST}. */
    String queryValue() {
        return value;
    }

    /** The text to store; {@code ""} for {@link #OLDEST} (which {@link #parse} refuses: store it as not started). */
    @Override
    public String toString() {
        return value == null ? "" : value;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FeedCursor other && Objects.equals(value, other.value);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(value);
    }
}
