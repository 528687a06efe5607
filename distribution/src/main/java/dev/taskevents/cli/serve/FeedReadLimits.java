package dev.taskevents.cli.serve;

import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * What one read of the state-event feed holds from before it reads until its answer is written:
 * one of {@link #READS_AT_ONCE} read slots, {@link #BYTES_PER_EVENT} bytes of the server's
 * {@code maxBufferedBytes} budget per event it may return, and one of the server's
 * {@code maxInFlight} permits, taken in this order: the permit last, so a poll queued for a read
 * slot or for budget holds none of the permits writers need. So feed pages count against the same limits as request bodies, and a client that sends
 * many {@code limit=10000} polls at once gets 503s instead of a page of up to 10,000 events each.
 * A parked poll holds none of these: only its reads do.
 *
 * The read slot is given back as soon as the read is done ({@link Grant#read}); the permit and the
 * page's bytes are held until the answer is written, as a request body's are, since a slow client
 * keeps them in memory that long.
 *
 * <p>Invariants: (a) {@link #admit} returns a {@link Grant} holding all three, or gives back what
 * it took and returns null. (b) A grant's bytes only shrink ({@link Grant#read}) until
 * {@link Grant#close} releases what is left, once; the read slot is released once, by whichever
 * comes first. (c) A grant is for at least one event: the page is cut to what the budget has free,
 * never below {@link #SMALLEST_PAGE} events (or the limit asked, or the whole budget, if less),
 * waiting for that much if needed.
 *
 * <p>Why a few read slots: each read of a {@code jdbc:} store takes one of the store's pooled
 * connections, which it shares with the engine's writes (8 by default); more reads at once would
 * queue there in front of the writers and would not be faster (building the answer is CPU).
 */
final class FeedReadLimits {
    /**
     * Budget per event of a page: the event as read from the store (at most about 450 bytes: the
     * objects and a 128-character event id) and the answer buffer's room for its JSON (sized for
     * the most it can take, at most about 1,100 bytes: a 128-character event id written as escapes;
     * see {@code StateEventsEndpoint#answer}). An event with a 30-character id takes about a third.
     */
    static final int BYTES_PER_EVENT = 2048;
    /** Feed reads at once, over all polls. */
    static final int READS_AT_ONCE = 4;
    /** A poll that finds the budget short waits for this many events' worth rather than take a few. */
    static final int SMALLEST_PAGE = 100;

    private final Semaphore inFlight;
    private final Semaphore bufferedBytes;
    private final int budgetBytes;
    private final Semaphore reads = new Semaphore(READS_AT_ONCE, true);

    /**
     * @param inFlight the server's permits of requests handled at once
     * @param bufferedBytes the server's budget of bytes held for requests at once
     * @param budgetBytes the size of that budget
     */
    FeedReadLimits(Semaphore inFlight, Semaphore bufferedBytes, int budgetBytes) {
        this.inFlight = inFlight;
        this.bufferedBytes = bufferedBytes;
        this.budgetBytes = budgetBytes;
    }

    /** What a read holds; {@link #limit} is the most events it may read. Closed once answered. */
    final class Grant implements AutoCloseable {
        final int limit;
        private int bytes; // guarded by this
        private boolean reading = true; // guarded by this: holds a read slot
        private boolean closed; // guarded by this

        private Grant(int limit, int bytes) {
            this.limit = limit;
            this.bytes = bytes;
        }

        /** The read is done, with {@code events}: gives back the read slot and the bytes of events not returned. */
        synchronized void read(int events) {
            int needed = bytesFor(events);
            if (!closed && needed < bytes) {
                bufferedBytes.release(bytes - needed);
                bytes = needed;
            }
            endReading();
        }

        private void endReading() {
            if (reading) {
                reading = false;
                reads.release();
            }
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                endReading();
                bufferedBytes.release(bytes);
                inFlight.release();
            }
        }
    }

    /**
     * A grant to read up to {@code limit} events (fewer if the budget is short), or null if the
     * server is too busy: no read slot or budget within {@code waitNanos}, or then no in-flight
     * permit at once (or within what is left of {@code waitNanos} when {@code waitForPermit}, for a
     * parked poll whose client is already waiting). The permit is taken last, so that a poll
     * queued for a read slot or budget holds none of the permits writers need.
     */
    Grant admit(int limit, boolean waitForPermit, long waitNanos) throws InterruptedException {
        long deadline = System.nanoTime() + waitNanos;
        boolean slot = false;
        int bytes = 0;
        boolean granted = false;
        try {
            slot = reads.tryAcquire(waitNanos, TimeUnit.NANOSECONDS);
            if (!slot) {
                return null;
            }
            int events = Math.min(limit, Math.max(Math.min(SMALLEST_PAGE, budgetBytes / BYTES_PER_EVENT),
                    bufferedBytes.availablePermits() / BYTES_PER_EVENT));
            events = Math.max(1, events);
            int wanted = bytesFor(events);
            if (!bufferedBytes.tryAcquire(wanted, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                return null;
            }
            bytes = wanted;
            if (!(waitForPermit ? inFlight.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)
                    : inFlight.tryAcquire())) {
                return null;
            }
            granted = true;
            return new Grant(events, bytes);
        } finally {
            if (!granted) { // gives back what it took, in reverse order (invariant a)
                bufferedBytes.release(bytes);
                if (slot) {
                    reads.release();
                }
            }
        }
    }

    /** The bytes reserved for {@code events}: never more than the whole budget, so one event always fits. */
    private int bytesFor(int events) {
        return (int) Math.min(budgetBytes, (long) events * BYTES_PER_EVENT);
    }
}
