package dev.taskevents.cli.serve;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A request body held in chunks of at most 64 KiB, counted against the server's byte budget
 * before it is read. Chunks rather than one growing array: a growing array is copied at every
 * doubling and holds up to three times the body while it does; chunks hold the body once.
 *
 * <p>Budget. A body with a Content-Length reserves all of it at once before reading any, waiting
 * for the budget up to a deadline: all at once, because bodies that each held part of the budget
 * while waiting for the rest could wait on each other until every deadline passed; waiting,
 * because the client is then simply not read (TCP holds it back) rather than refused half-sent.
 * A chunked body reserves each chunk as it comes, waiting likewise.
 *
 * <p>One thread, the request's handler, reads it, releases it and streams it.
 */
final class RequestBody {
    private static final int CHUNK = 64 * 1024;

    private final Semaphore budget;
    private final int maxBytes;
    private final List<byte[]> chunks = new ArrayList<>();
    private int size;
    private long reserved;

    RequestBody(Semaphore budget, int maxBytes) {
        this.budget = budget;
        this.maxBytes = maxBytes;
    }

    /**
     * Reads the body of {@code exchange} to its end: a {@link BadRequest} over the limit (413),
     * when no budget came free by {@code budgetDeadline} (503), or when the body had not arrived
     * by {@code readDeadline} (408).
     *
     * @param declared the Content-Length, or -1 when the body is chunked
     * @param readTimeout how the 408's message names {@code readDeadline}
     */
    void readFrom(Exchange exchange, long declared, long budgetDeadline, long readDeadline, Duration readTimeout)
            throws IOException, InterruptedException {
        if (declared >= 0 && !reserve(declared, budgetDeadline)) {
            throw busy();
        }
        while (true) {
            int want;
            if (declared >= 0) {
                want = (int) Math.max(1, Math.min(CHUNK, declared - size)); // 1: to see the end
            } else if (size < maxBytes) {
                want = (int) Math.min(CHUNK, maxBytes - size); // never more than the limit in all
                if (!reserve(want, budgetDeadline)) {
                    throw busy();
                }
            } else {
                // At the limit: one more byte is a 413, none is the end. Nothing is kept, so nothing
                // is reserved, and a chunked body of the limit fits a budget of the limit.
                int n = exchange.read(new byte[1], 0, 1, readDeadline);
                if (n == 0) {
                    throw notArrived(readTimeout);
                }
                if (n > 0) {
                    throw new BadRequest(413, "the request body is larger than the limit of " + maxBytes + " bytes");
                }
                return;
            }
            byte[] chunk = new byte[want];
            int filled = 0;
            int n = 0;
            while (filled < want && (n = exchange.read(chunk, filled, want - filled, readDeadline)) > 0) {
                filled += n;
            }
            if (n == 0 && filled < want) {
                throw notArrived(readTimeout);
            }
            if (declared < 0 && filled < want) {
                unreserve(want - filled);
            }
            if (filled > 0) {
                if ((long) size + filled > maxBytes) {
                    throw new BadRequest(413, "the request body is larger than the limit of " + maxBytes + " bytes");
                }
                chunks.add(filled == want ? chunk : Arrays.copyOf(chunk, filled));
                size += filled;
            }
            if (filled < want) {
                return; // at its end
            }
        }
    }

    private static BadRequest notArrived(Duration readTimeout) {
        return new BadRequest(408, "the request body did not arrive within " + readTimeout.toSeconds() + " s");
    }

    private static BadRequest busy() {
        return new BadRequest(503, "the server holds too many request bodies at once; retry");
    }

    private boolean reserve(long bytes, long deadline) throws InterruptedException {
        int permits = (int) Math.min(Integer.MAX_VALUE, bytes);
        if (permits == 0) {
            return true; // an empty body waits behind no other
        }
        if (!budget.tryAcquire(permits, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
            return false;
        }
        reserved += permits;
        return true;
    }

    private void unreserve(int bytes) {
        budget.release(bytes);
        reserved -= bytes;
    }

    /** Gives its bytes back to the budget; idempotent. */
    void release() {
        budget.release((int) reserved);
        reserved = 0;
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
