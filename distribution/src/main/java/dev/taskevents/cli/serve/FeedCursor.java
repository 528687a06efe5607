package dev.taskevents.cli.serve;

import java.nio.ByteBuffer;
import java.util.Base64;

/**
 * The feed cursor on the wire: {@code te1.} and the base64url (no padding) of 16 bytes, the feed
 * id then the position, both big-endian: 26 characters. Opaque to clients (documented so),
 * versioned by its prefix, not signed (a forged cursor reads nothing the token does not already
 * allow). It holds no server state, so it survives restarts and any serve on the same database
 * decodes it.
 */
record FeedCursor(long feedId, long position) {
    static final String PREFIX = "te1.";

    String encode() {
        byte[] bytes = ByteBuffer.allocate(16).putLong(feedId).putLong(position).array();
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** The cursor in {@code text}; {@link BadRequest} 400 if it is not one this service issues. */
    static FeedCursor decode(String text) {
        if (!text.startsWith(PREFIX) || text.length() != PREFIX.length() + 22) {
            throw bad(text);
        }
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(text.substring(PREFIX.length()));
        } catch (IllegalArgumentException e) {
            throw bad(text);
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        long feedId = buffer.getLong();
        long position = buffer.getLong();
        if (position < 0 || !new FeedCursor(feedId, position).encode().equals(text)) {
            throw bad(text); // a negative position, or stray bits in the last character: not issued here
        }
        return new FeedCursor(feedId, position);
    }

    private static BadRequest bad(String text) {
        return new BadRequest("after must be a cursor this service issued (\"te1.\" and 22 more characters, from"
                + " a response's \"next\" or an event's \"cursor\"), \"latest\", or left out for the oldest event;"
                + " was \"" + JsonCodec.cut(text) + "\"");
    }
}
