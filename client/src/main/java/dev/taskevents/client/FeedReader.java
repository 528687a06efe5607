package dev.taskevents.client;

import dev.taskevents.client.internal.FeedPoller;
import dev.taskevents.client.internal.Wire;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;

/**
 * The state-event feed as a blocking iterator, for one consumer thread: {@link #hasNext()} waits
 * (long polls, page by page) until an event is there, and returns false only once the reader is
 * closed. Made by {@link TaskEventsClient#feed}.
 *
 * <pre>{@code
 * try (FeedReader feed = client.feed(FeedCursor.parse(stored))) {
 *     while (feed.hasNext()) {
 *         FeedItem item = feed.next();
 *         apply(item.event());                 // drop repeats by (taskInstanceId, version)
 *         store(item.cursor().toString());
 *     }
 * }
 * }</pre>
 *
 * <p>Resuming: events come in the feed's commit order (per workflow instance, the order they were
 * committed); each item carries the cursor after it, and a reader opened at that cursor continues
 * with the next event. What the consumer stored is what it gets back: the reader keeps no state
 * elsewhere. Delivery is at least once (see {@link FeedItem}).
 *
 * <p>Polling: each poll waits at the server up to {@code wait}, sent in whole seconds rounded up
 * (a wait of 900 ms is a one-second long poll). On an idle feed, a poll that comes back empty
 * before its wait is up (always, with a wait of 0) is followed by a pause before the next: the
 * client's backoff, growing with each such page in a row up to 1 s, with jitter. So an idle
 * reader with a wait of 0 polls about twice a second, not in a tight loop; with a wait of 30 s it
 * polls again at once after each empty long poll. A serve that holds as many parked polls as it may
 * ({@code --max-feed-waiters}) answers 503 with {@code Retry-After}, which the reader honours.
 *
 * <p>Failures: a serve restarting, unreachable or busy is retried from the same cursor (see
 * {@link TaskEventsClient.Builder#giveUpAfter} for a bound); {@link CursorExpiredException},
 * {@link CursorInvalidException}, {@link UnauthorizedException} and {@link TlsException} are thrown
 * by {@code hasNext()}. Interrupting the consumer thread ends a wait with a
 * {@link CancellationException} (the interrupt flag set); {@link #close()} from any thread ends it
 * with {@code hasNext() == false}.
 */
public final class FeedReader implements Iterator<FeedItem>, AutoCloseable {
    private final FeedPoller poller;
    private final int limit;
    private final Duration wait;
    private final ArrayDeque<FeedItem> page = new ArrayDeque<>();
    private String position; // the cursor to poll after: the end of the last page (null: oldest)
    private FeedCursor delivered;

    FeedReader(FeedPoller poller, FeedCursor after, int limit, Duration wait) {
        this.poller = poller;
        this.limit = limit;
        this.wait = wait;
        this.position = after.queryValue();
        this.delivered = after;
    }

    /** Waits until an event is there (true), or the reader is closed (false). */
    @Override
    public boolean hasNext() {
        while (page.isEmpty()) {
            if (poller.isCancelled()) {
                return false;
            }
            Wire.Page next;
            try {
                next = poller.poll(position, limit, wait);
            } catch (CancellationException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted while waiting for the feed; resume from cursor() "
                        + cursor());
            }
            for (Wire.Entry entry : next.events()) {
                page.addLast(new FeedItem(entry.event(), FeedCursor.parse(entry.cursor())));
            }
            position = next.next();
            if (page.isEmpty() && next.next() != null) {
                delivered = FeedCursor.parse(next.next()); // LATEST becomes the head's real cursor
            }
        }
        return true;
    }

    /** The next event, waiting for it as {@link #hasNext()} does. */
    @Override
    public FeedItem next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the feed reader is closed");
        }
        FeedItem item = page.pollFirst();
        delivered = item.cursor();
        return item;
    }

    /** The cursor after the last event {@link #next()} returned (where a new reader would resume). */
    public FeedCursor cursor() {
        return delivered;
    }

    /** Ends the reader; a poll parked at the server is aborted. Callable from any thread. */
    @Override
    public void close() {
        poller.cancel();
    }
}
