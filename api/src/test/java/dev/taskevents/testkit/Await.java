package dev.taskevents.testkit;

import java.util.function.BooleanSupplier;

/**
 * Waits, bounded, for a condition a test cannot be told of by a latch (a count inside the engine,
 * work done off the test's thread). Not for interleavings: those are forced with latches and held
 * stores; this only waits for an outcome that must come.
 */
public final class Await {
    private Await() {}

    /** Polls {@code condition} every millisecond; fails the test after 30 s. */
    public static void until(BooleanSupplier condition) throws InterruptedException {
        if (!within(java.time.Duration.ofSeconds(30), condition)) {
            throw new AssertionError("condition not reached within 30 s");
        }
    }

    /** Polls {@code condition} every millisecond: true once it holds, false if {@code timeout} passed first. */
    public static boolean within(java.time.Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(1);
        }
        return true;
    }
}
