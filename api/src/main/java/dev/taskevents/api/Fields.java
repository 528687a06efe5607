package dev.taskevents.api;

import java.time.Instant;

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
            throw new IllegalArgumentException(field + " must not be blank, was \"" + value + "\"");
        }
        return optionalText(field, value, maxLength);
    }

    /**
     * Null is allowed. NUL characters are refused because PostgreSQL cannot store them in text
     * columns; refusing them here keeps every store's behaviour the same.
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

    static String noNul(String field, String value) {
        if (value != null && value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(field + " contains a NUL character (U+0000) at index "
                    + value.indexOf('\0') + ", which no store accepts: \"" + preview(value) + "\"");
        }
        return value;
    }

    static void ordered(Instant startTime, Instant endTime) {
        if (startTime != null && endTime != null && endTime.isBefore(startTime)) {
            throw new IllegalArgumentException("endTime " + endTime + " is before startTime " + startTime);
        }
    }

    static String preview(String value) {
        String shown = value.replace("\0", "\\0");
        return shown.length() <= 60 ? shown : shown.substring(0, 60) + "…";
    }
}
