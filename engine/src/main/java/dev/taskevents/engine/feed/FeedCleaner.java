package dev.taskevents.engine.feed;

import dev.taskevents.api.spi.StateEventFeed;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Retention of the state-event feed: a virtual thread that every {@code interval} deletes the
 * changes recorded more than {@code retention} ago, in steps of at most {@code chunk} events
 * ({@link StateEventFeed#prune}, one short transaction each) with a short pause between steps.
 *
 * <p>Invariants: it runs beside the write path, never in it: the store's prune takes only the
 * oldest rows and the pruned-position row, never the counter the writers take, so a batch write
 * never waits for it (and the engine's commit threads never run it). A failed step (the store is
 * down) is logged and tried again at the next interval; it never stops the thread. {@link #close}
 * stops the thread and waits for it, so no prune runs after the engine closed its store.
 */
public final class FeedCleaner implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(FeedCleaner.class.getName());
    private static final Duration PAUSE_BETWEEN_CHUNKS = Duration.ofMillis(50);

    private final StateEventFeed feed;
    private final Duration retention;
    private final Duration interval;
    private final int chunk;
    private final CountDownLatch stop = new CountDownLatch(1);
    private final LongAdder failures = new LongAdder();
    /** When the last run that did not fail ended; null before the first. */
    private volatile Instant lastRun;
    private final Thread thread;

    public FeedCleaner(StateEventFeed feed, Duration retention, Duration interval, int chunk) {
        this.feed = feed;
        this.retention = retention;
        this.interval = interval;
        this.chunk = chunk;
        this.thread = Thread.ofVirtual().name("taskevents-feed-cleaner").start(this::run);
    }

    /** When the last run that did not fail ended, if one has. */
    public Optional<Instant> lastRun() {
        return Optional.ofNullable(lastRun);
    }

    /** Failed prune steps so far. */
    public long failures() {
        return failures.sum();
    }

    private void run() {
        try {
            while (!stop.await(interval.toNanos(), TimeUnit.NANOSECONDS)) {
                cleanOnce();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Prunes while there is work, chunk by chunk; returns on the first step that deletes nothing. */
    private void cleanOnce() throws InterruptedException {
        long before = -1;
        while (stop.getCount() > 0) {
            long through;
            try {
                through = feed.prune(retention, chunk);
            } catch (RuntimeException e) {
                failures.increment();
                LOG.log(Level.WARNING, "the state-event feed could not be pruned (tried again in "
                        + interval.toSeconds() + " s): " + e.getClass().getName() + ": " + e.getMessage());
                return;
            }
            if (through == before) {
                lastRun = Instant.now();
                return;
            }
            before = through;
            if (stop.await(PAUSE_BETWEEN_CHUNKS.toNanos(), TimeUnit.NANOSECONDS)) {
                return;
            }
        }
    }

    /** Stops the thread and waits for its step in progress, if any. */
    @Override
    public void close() {
        stop.countDown();
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
