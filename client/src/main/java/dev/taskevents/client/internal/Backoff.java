package dev.taskevents.client.internal;

import java.net.http.HttpHeaders;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with full jitter (Brooker, "Exponential Backoff And Jitter", AWS 2015): the
 * delay before try {@code n} (1 = the first resend) is uniform in {@code [0, min(max, base * 2^(n-1))]},
 * so clients that failed together do not come back together. A server's {@code Retry-After} is a
 * floor: the delay is never shorter than what the server asked for.
 */
public record Backoff(Duration base, Duration max) {
    public Backoff {
        if (base.isNegative() || base.isZero() || max.compareTo(base) < 0) {
            throw new IllegalArgumentException("backoff needs 0 < base <= max, was base " + base + ", max " + max);
        }
    }

    /** The delay in nanoseconds before resend number {@code attempt} (1 or more). */
    public long delayNanos(int attempt) {
        long cap = max.toNanos();
        int shift = Math.min(Math.max(attempt - 1, 0), 62);
        long ceiling = base.toNanos() > (cap >> shift) ? cap : Math.min(cap, base.toNanos() << shift);
        return ThreadLocalRandom.current().nextLong(ceiling + 1);
    }

    /** As {@link #delayNanos(int)}, but at least {@code floorNanos}. */
    public long delayNanos(int attempt, long floorNanos) {
        return Math.max(floorNanos, delayNanos(attempt));
    }

    /**
     * The {@code Retry-After} of an answer in nanoseconds (its delta-seconds form, which serve
     * sends; an HTTP date or anything else counts as absent), capped at an hour; 0 when absent.
     */
    public static long retryAfterNanos(HttpHeaders headers) {
        String value = headers.firstValue("Retry-After").orElse(null);
        if (value == null || value.isBlank() || value.strip().length() > 9 || !value.strip().chars().allMatch(Character::isDigit)) {
            return 0;
        }
        return Duration.ofSeconds(Math.min(3600, Long.parseLong(value.strip()))).toNanos();
    }
}
