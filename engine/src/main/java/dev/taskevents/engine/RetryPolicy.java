package dev.taskevents.engine;

import java.time.Duration;

/**
 * How often and how patiently a failed batch write is retried: {@code maxAttempts} in all,
 * waiting {@code initialBackoff}, then twice as long each time up to {@code maxBackoff}.
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    public RetryPolicy {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, was " + maxAttempts);
        }
        if (initialBackoff.isNegative() || maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException("backoff must satisfy 0 <= initial <= max, was "
                    + initialBackoff + " and " + maxBackoff);
        }
    }

    /** The wait after {@code backoff}: doubled, capped at {@code maxBackoff}. */
    public Duration next(Duration backoff) {
        Duration doubled = backoff.multipliedBy(2);
        return doubled.compareTo(maxBackoff) > 0 ? maxBackoff : doubled;
    }
}
