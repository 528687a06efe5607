package dev.taskevents.api;

import java.time.Instant;
import java.util.Locale;

/**
 * The field checks shared by the value types. Every message names the field and the offending
 * value (cut to a readable length), so a worker's bad event can be fixed from the message alone.
 */
final class Fields {
    /** Longest host name accepted, in characters (fits a VARCHAR(255) column everywhere). */
    static final int MAX_HOST = 255;
    /** Longest log path, execute path, app ids or task name accepted, in characters. */
    static final int MAX_TEXT = 4096;
    /** Longest event id accepted, in characters. */
    static final int MAX_EVENT_ID = 128;
    /**
     * The earliest time accepted: 1000-01-01T00:00:00Z. MariaDB's and MySQL's DATETIME(6) hold
     * 1000-01-01 to 9999-12-31, PostgreSQL's timestamp 4713 BC to 294276 AD, H2's a wider range;
     * {@link java.time.Instant#parse} takes years up to ±1,000,000,000. A time outside the range
     * every store holds would pass here and fail the whole batch it is written in (PostgreSQL:
     * SQL state 22008), so it is refused here, before any store sees it.
     */
    static final Instant MIN_TIME = Instant.parse("1000-01-01T00:00:00Z");
    /** The latest time accepted: 9999-12-31T23:59:59.999999Z (microseconds, as the stores keep). */
    static final Instant MAX_TIME = Instant.parse("9999-12-31T23:59:59.999999Z");

    private Fields() {}

    static long positive(String field, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(field + " must be positive, was " + value);
        }
        return value;
    }

    static <T> T required(String field, T value) {
        if (value == null) {
            throw new IllegalArgumentException(field + " is required, was null");
        }
        return value;
    }

    static String requiredText(String field, String value, int maxLength) {
        required(field, value);
        if (value.isBlank()) {
            throw new IllegalArgumentException(field + " must not be blank, was \"" + preview(value) + "\"");
        }
        return optionalText(field, value, maxLength);
    }

    /**
     * Null is allowed. NUL characters and unpaired surrogates are refused (see {@link #noNul}).
     */
    static String optionalText(String field, String value, int maxLength) {
        if (value == null) {
            return null;
        }
        if (value.length() > maxLength) {
            throw new IllegalArgumentException(field + " is " + value.length()
                    + " characters long, the limit is " + maxLength + ": \"" + preview(value) + "\"");
        }
        return noNul(field, value);
    }

    /**
     * Text every store keeps as it was given. NUL characters are refused because PostgreSQL cannot
     * store them in text columns. An unpaired surrogate (a UTF-16 half, U+D800..U+DFFF, without its
     * other half) is not Unicode text: the memory store would keep it, PostgreSQL store {@code ?}
     * and a JSON encoder fail on it. Refusing both here keeps every store's behaviour the same.
     */
    static String noNul(String field, String value) {
        if (value == null) {
            return null;
        }
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(field + " contains a NUL character (U+0000) at index "
                    + value.indexOf('\0') + ", which no store accepts: \"" + preview(value) + "\"");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < value.length()
                    && Character.isLowSurrogate(value.charAt(i + 1))) {
                i++; // a pair: one supplementary character
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException(field + " contains an unpaired surrogate (U+"
                        + Integer.toHexString(c).toUpperCase(Locale.ROOT) + ") at index " + i
                        + ", which is not Unicode text and no store keeps alike: \"" + preview(value) + "\"");
            }
        }
        return value;
    }

    /** Null is allowed; otherwise within {@link #MIN_TIME}..{@link #MAX_TIME}, the range every store holds. */
    static Instant time(String field, Instant value) {
        if (value != null && (value.isBefore(MIN_TIME) || value.isAfter(MAX_TIME))) {
            throw new IllegalArgumentException(field + " must be between " + MIN_TIME + " and " + MAX_TIME
                    + " (the range every store holds), was " + value);
        }
        return value;
    }

    static void ordered(Instant startTime, Instant endTime) {
        if (startTime != null && endTime != null && endTime.isBefore(startTime)) {
            throw new IllegalArgumentException("endTime " + endTime + " is before startTime " + startTime);
        }
    }

    /**
     * At most 60 characters of {@code value} for a message, NULs and lone surrogates written as
     * escapes so that the message itself is valid text (a client may be sent it).
     */
    static String preview(String value) {
        String cut = value.length() <= 60 ? value : value.substring(0, 60);
        StringBuilder shown = new StringBuilder(cut.length() + 8);
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            if (c == '\0') {
                shown.append("\\0");
            } else if (Character.isHighSurrogate(c) && i + 1 < cut.length()
                    && Character.isLowSurrogate(cut.charAt(i + 1))) {
                shown.append(c).append(cut.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                shown.append("\\u").append(Integer.toHexString(c).toUpperCase(Locale.ROOT));
            } else {
                shown.append(c);
            }
        }
        return cut.length() < value.length() ? shown.append('…').toString() : shown.toString();
    }
}
