package dev.taskevents.cli.serve;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;

/**
 * A request body held in chunks of at most 64 KiB, each counted against the server's byte budget
 * before it is read. Chunks rather than one growing array: a growing array is copied at every
 * doubling and holds up to three times the body while it does; chunks hold the body once.
 *
 * <p>Threads: one reader thread calls {@link #readFrom}; the request's handler calls
 * {@link #release} (once the answer is written, or when it gives up waiting) and, after
 * {@code readFrom} returned, {@link #stream}. {@code release} may run while the reader is still
 * blocked in a read: it returns every byte reserved so far, and a reader that wakes up afterwards
 * finds it released, reserves nothing more and stops.
 */
final class RequestBody {
    private static final int CHUNK = 64 * 1024;
    /** The first chunk: small, so that a client that stalls before its first byte holds little of the budget. */
    private static final int FIRST_CHUNK = 4 * 1024;

    private final Semaphore budget;
    private final int maxBytes;
    private final List<byte[]> chunks = new ArrayList<>();
    private int size;
    private long reserved; // guarded by this
    private boolean released; // guarded by this

    RequestBody(Semaphore budget, int maxBytes) {
        this.budget = budget;
        this.maxBytes = maxBytes;
    }

    /**
     * Reads to the end of {@code in}; a {@link BadRequest} over the limit (413) or the budget (503).
     *
     * @param declared the Content-Length, or -1 when the body is chunked
     */
    void readFrom(InputStream in, long declared) throws IOException {
        while (true) {
            int want = chunks.isEmpty() ? FIRST_CHUNK : CHUNK;
            if (declared >= 0) {
                want = (int) Math.max(1, Math.min(want, declared - size)); // 1: to see the end
            }
            if (!reserve(want)) {
                throw new BadRequest(503, "the server holds too many request bodies at once; retry");
            }
            byte[] chunk = new byte[want];
            int filled = 0;
            int n;
            while (filled < want && (n = in.read(chunk, filled, want - filled)) > 0) {
                filled += n;
            }
            if (filled < want) {
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

    private synchronized boolean reserve(int bytes) {
        if (released || !budget.tryAcquire(bytes)) {
            return false;
        }
        reserved += bytes;
        return true;
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
