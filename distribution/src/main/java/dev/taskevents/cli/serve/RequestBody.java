package dev.taskevents.cli.serve;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A request body held in chunks of at most 64 KiB, counted against the server's byte budget
 * before it is read. Chunks rather than one growing array: a growing array is copied at every
 * doubling and holds up to three times the body while it does; chunks hold the body once.
 *
 * <p>Budget. A body with a Content-Length reserves all of it at once before reading any, waiting
 * for the budget up to a deadline (half the body's time): all at once, because bodies that each held part of
 * the budget while waiting for the rest could wait on each other until every deadline passed;
 * waiting, because the client is then simply not read (TCP holds it back) rather than refused
 * half-sent. A chunked body reserves each chunk as it comes, waiting likewise.
 *
 * <p>Threads: one reader thread calls {@link #readFrom}; the request's handler calls
 * {@link #release} (once the answer is written, or when it gives up waiting) and, after
 * {@code readFrom} returned, {@link #stream}. {@code release} may run while the reader is still
 * blocked (in a read, or waiting for budget): it returns every byte reserved so far, and a reader
 * that reserves afterwards gives the bytes straight back and stops.
 */
final class RequestBody {
    private static final int CHUNK = 64 * 1024;

    private final Semaphore budget;
    private final int maxBytes;
    private final long deadline;
    private final List<byte[]> chunks = new ArrayList<>();
    private int size;
    private long reserved; // guarded by this
    private boolean released; // guarded by this
    private volatile boolean waitingForBudget;

    /** @param deadline {@link System#nanoTime()} until which the body may wait for budget */
    RequestBody(Semaphore budget, int maxBytes, long deadline) {
        this.budget = budget;
        this.maxBytes = maxBytes;
        this.deadline = deadline;
    }

    /**
     * Reads to the end of {@code in}; a {@link BadRequest} over the limit (413) or when no budget
     * came free in time (503).
     *
     * @param declared the Content-Length, or -1 when the body is chunked
     */
    void readFrom(InputStream in, long declared) throws IOException, InterruptedException {
        if (declared >= 0 && !reserve(declared)) {
            throw busy();
        }
        while (true) {
            int want = declared >= 0 ? (int) Math.max(1, Math.min(CHUNK, declared - size)) : CHUNK; // 1: to see the end
            if (declared < 0 && !reserve(want)) {
                throw busy();
            }
            byte[] chunk = new byte[want];
            int filled = 0;
            int n;
            while (filled < want && (n = in.read(chunk, filled, want - filled)) > 0) {
                filled += n;
            }
            if (declared < 0 && filled < want) {
                unreserve(want - filled);
            }
            if (filled > 0) {
                if ((long) size + filled > maxBytes) {
                    throw new BadRequest(413, "the request body is larger than the limit of " + maxBytes + " bytes");
                }
                chunks.add(filled == want ? chunk : java.util.Arrays.copyOf(chunk, filled));
                size += filled;
            }
            if (filled < want) {
                in.close(); // at its end: nothing left to drain
                return;
            }
        }
    }

    private static BadRequest busy() {
        return new BadRequest(503, "the server holds too many request bodies at once; retry");
    }

    /** Whether the reader is waiting for budget (rather than for the client). */
    boolean waitingForBudget() {
        return waitingForBudget;
    }

    private boolean reserve(long bytes) throws InterruptedException {
        int permits = (int) Math.min(Integer.MAX_VALUE, bytes);
        waitingForBudget = true;
        boolean got;
        try {
            got = budget.tryAcquire(permits, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } finally {
            waitingForBudget = false;
        }
        if (!got) {
            return false;
        }
        synchronized (this) {
            if (!released) {
                reserved += permits;
                return true;
            }
        }
        budget.release(permits);
        return false;
    }

    private synchronized void unreserve(int bytes) {
        if (!released) {
            budget.release(bytes);
            reserved -= bytes;
        }
    }

    /** Gives its bytes back to the budget; idempotent. */
    synchronized void release() {
        if (!released) {
            released = true;
            budget.release((int) reserved);
            reserved = 0;
        }
    }
    int size() {
        return size;
    }

    /** The body, read from its chunks without copying them. */
    InputStream stream() {
        return new InputStream() {
            private int index;
            private int offset;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                while (index < chunks.size() && offset == chunks.get(index).length) {
                    index++;
                    offset = 0;
                }
                if (index == chunks.size()) {
                    return -1;
                }
                byte[] chunk = chunks.get(index);
                int n = Math.min(len, chunk.length - offset);
                System.arraycopy(chunk, offset, b, off, n);
                offset += n;
                return n;
            }
        };
    }
}
