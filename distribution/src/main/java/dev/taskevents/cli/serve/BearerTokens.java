package dev.taskevents.cli.serve;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The accepted bearer tokens, compared in constant time: each candidate and each token are
 * hashed (SHA-256, so lengths do not leak) and compared with {@link MessageDigest#isEqual}, and
 * every token is compared, match or not. The tokens themselves are never logged or printed.
 */
final class BearerTokens {
    private final List<byte[]> digests;

    BearerTokens(List<String> tokens) {
        this.digests = tokens.stream().map(BearerTokens::sha256).toList();
    }

    /** Whether the request may pass: no tokens configured, or its Authorization header holds one of them. */
    boolean permits(String authorization) {
        if (digests.isEmpty()) {
            return true;
        }
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        byte[] candidate = sha256(authorization.substring(7).trim());
        boolean match = false;
        for (byte[] digest : digests) {
            match |= MessageDigest.isEqual(digest, candidate);
        }
        return match;
    }

    private static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }
}
