package dev.taskevents.cli.serve;

import java.io.IOException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * What a request must get before it is handled, and the bounds on what requests hold together:
 * its body read within {@code bodyReadTimeout} into the byte budget ({@code maxBufferedBytes},
 * shared with the feed's pages: {@link FeedReadLimits}), a permit of {@code maxInFlight}, and a
 * turn to parse. Each is refused with a {@link BadRequest} (408, 413, 503) rather than waited for
 * past its deadline.
 */
final class Admission {
    private final ServerSettings settings;
    private final Semaphore inFlight;
    private final Semaphore bufferedBytes;
    /**
     * Parsing a body is the one long stretch of CPU a request makes (about a second for 16 MiB).
     * Virtual threads are not time-sliced: as many parses as carrier threads would leave none for
     * {@code /healthz} until they end. So at most one fewer than the processors parse at once.
     */
    private final Semaphore parsing = new Semaphore(Math.max(1, Runtime.getRuntime().availableProcessors() - 1), true);
    private final AtomicInteger readingBodies = new AtomicInteger();
    private final FeedReadLimits feedLimits;

    Admission(ServerSettings settings) {
        this.settings = settings;
        this.inFlight = new Semaphore(settings.maxInFlight());
        // Fair: bodies get the budget in the order they asked, so a large one is not passed over forever.
        this.bufferedBytes = new Semaphore((int) Math.min(Integer.MAX_VALUE, settings.maxBufferedBytes()), true);
        this.feedLimits = new FeedReadLimits(inFlight, bufferedBytes,
                (int) Math.min(Integer.MAX_VALUE, settings.maxBufferedBytes()));
    }

    /** The limits a read of the state-event feed takes: the same permits and budget. */
    FeedReadLimits feedLimits() {
        return feedLimits;
    }

    /** Takes a permit of {@code maxInFlight}, or 503; {@link #leave} gives it back. */
    void enter() {
        if (!inFlight.tryAcquire()) {
            throw new BadRequest(503, "too many requests in progress; retry");
        }
    }

    void leave() {
        inFlight.release();
    }

    /** Requests holding a permit now. */
    int inFlight() {
        return settings.maxInFlight() - inFlight.availablePermits();
    }

    /** Request bodies being read now (their requests hold no permit yet). */
    int readingBodies() {
        return readingBodies.get();
    }

    /**
     * Reads the body on the request's thread: 413 over the limit (before reading when
     * Content-Length says so), 503 when the byte budget has no room for it within half of
     * {@code bodyReadTimeout}, 408 when it has not arrived within {@code bodyReadTimeout}.
     */
    RequestBody readBody(Exchange exchange) {
        String declared = exchange.header("Content-Length");
        long length = -1;
        if (declared != null) {
            try {
                length = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                throw new BadRequest("Content-Length is not a number: " + JsonCodec.cut(declared));
            }
            if (length > settings.maxBodyBytes()) {
                throw new BadRequest(413, "the request body is " + length + " bytes; the limit is "
                        + settings.maxBodyBytes());
            }
        }
        long start = System.nanoTime();
        long timeout = settings.bodyReadTimeout().toNanos();
        RequestBody body = new RequestBody(bufferedBytes, settings.maxBodyBytes());
        readingBodies.incrementAndGet();
        try {
            // A body waits for budget half its time at most: the other half is for reading a
            // refused body into nothing after its 503 (see discard).
            body.readFrom(exchange, length, start + timeout / 2, start + timeout, settings.bodyReadTimeout());
            return body;
        } catch (BadRequest refused) {
            body.release();
            // The rest of the body is not wanted: close instead of draining it for keep-alive.
            exchange.setHeader("Connection", "close");
            if (refused.status == 503 && body.size() == 0 && length > 0) {
                // Refused for want of budget before a byte was read: once answered, read the body
                // into nothing, so that the client, still sending, is not reset and sees the 503.
                throw refused.thenDiscard(length);
            }
            throw refused;
        } catch (IOException e) {
            body.release();
            exchange.setHeader("Connection", "close");
            throw new BadRequest("the request body could not be read: " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            body.release();
            Thread.currentThread().interrupt();
            throw new BadRequest(503, "the server is stopping");
        } finally {
            readingBodies.decrementAndGet();
        }
    }

    /** Reads up to {@code bytes} of the body into nothing, for at most {@code bodyReadTimeout}. */
    void discard(Exchange exchange, long bytes) {
        long deadline = System.nanoTime() + settings.bodyReadTimeout().toNanos();
        byte[] sink = new byte[8192];
        try {
            for (long left = bytes; left > 0; ) {
                int n = exchange.read(sink, 0, (int) Math.min(sink.length, left), deadline);
                if (n <= 0) {
                    return; // the end, or the deadline: the connection closes with the exchange
                }
                left -= n;
            }
        } catch (IOException closed) {
            // the client went away: nothing to answer
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    <T> T parse(long deadline, Supplier<T> parse) {
        try {
            if (!parsing.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw new BadRequest(503, "too many request bodies being parsed; retry");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BadRequest(503, "the server is stopping");
        }
        try {
            return parse.get();
        } finally {
            parsing.release();
        }
    }
}
