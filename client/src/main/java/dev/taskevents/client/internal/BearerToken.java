package dev.taskevents.client.internal;

/**
 * The rule for a bearer token, the same for one given to the builder and for each one a token
 * supplier gives: surrounding whitespace is stripped (a token file read whole ends with a newline);
 * what remains must be printable ASCII without spaces or control characters, and not empty.
 *
 * <p>A refusal never shows the token, not even in part: exception messages reach futures, feed
 * readers, {@code onError} and logs. It names only the kind of character that is wrong.
 */
public final class BearerToken {
    private BearerToken() {
    }

    /**
     * The token without surrounding whitespace.
     *
     * @param what the token, for the message (e.g. "the token supplier's token")
     * @throws IllegalArgumentException if it is empty or holds a character a header cannot carry;
     *     the message does not contain the token
     */
    public static String check(String raw, String what) {
        String token = raw.strip();
        if (token.isEmpty()) {
            throw new IllegalArgumentException(what + " is empty (or only whitespace)");
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                String kind = c == ' ' ? "a space" : Character.isISOControl(c) ? "a control character (such as a line"
                        + " break)" : "a character outside ASCII";
                throw new IllegalArgumentException(what + " holds " + kind + " inside it: a bearer token is printable"
                        + " ASCII without spaces (the token itself is not shown)");
            }
        }
        return token;
    }
}
