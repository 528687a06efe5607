package dev.taskevents.storecontract;

import java.util.concurrent.TimeUnit;
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
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not reached within 30 s");
            }
            Thread.sleep(1);
        }
    }
}
