package dev.taskevents.storage.memory;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.FeedPositionAheadException;
import dev.taskevents.api.spi.FeedPositionExpiredException;
import dev.taskevents.api.spi.StateEventFeed;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReadWriteLock;

/**
 * The memory store's state-event feed: the same semantics as the JDBC store's, kept in memory
 * (so {@code serve --store memory:} has a feed), and lost with the process like the rest of a
 * memory store.
 *
 * <p>Invariants: {@link #append} runs under the store's write lock, in the same critical section
 * as the batch's rows, so a change is in the feed exactly when it is in the rows, and positions
 * are handed out in commit order. Reads take the read lock and see every append before it whole:
 * there are never holes here ({@link FeedPage#stoppedAtHole()} is always false). Listeners are
 * called by the writer after it released the lock. Shared by every handle of one named store;
 * each handle reaches it through a view that refuses calls once that handle is closed.
 */
final class MemoryStateFeed implements StateEventFeed {
    private record Entry(FeedEvent event, Instant recordedAt) {}

    private final ReadWriteLock lock;
    private final Clock clock;
    private final long feedId = new SecureRandom().nextLong(1, Long.MAX_VALUE);
    /** By position; every position in (prunedThrough, head] is here. */
    private final TreeMap<Long, Entry> entries = new TreeMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private long head;
    private long prunedThrough;

    MemoryStateFeed(ReadWriteLock lock, Clock clock) {
        this.lock = lock;
        this.clock = clock;
    }

    /** Appends the changes of one batch; call under the write lock. */
    void append(List<StateEvent> events) {
        Instant now = clock.instant();
        for (StateEvent e : events) {
            head++;
            entries.put(head, new Entry(new FeedEvent(head, e), now));
        }
    }

    /** After the batch's write lock was released. */
    void appended() {
        listeners.forEach(Runnable::run);
    }

    @Override
    public long feedId() {
        return feedId;
    }

    @Override
    public FeedPage read(long after, int limit) {
        if (after < 0) {
            throw new IllegalArgumentException("a feed position is not negative, was " + after);
        }
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, was " + limit);
        }
        lock.readLock().lock();
        try {
            if (after < prunedThrough) {
                throw new FeedPositionExpiredException(after, prunedThrough);
            }
            if (after > head) {
                throw new FeedPositionAheadException(after, head);
            }
            List<FeedEvent> events = new ArrayList<>(Math.min(limit, (int) Math.min(Integer.MAX_VALUE, head - after)));
            for (Map.Entry<Long, Entry> e : entries.tailMap(after, false).entrySet()) {
                if (events.size() == limit) {
                    break;
                }
                events.add(e.getValue().event());
            }
            return new FeedPage(events, head, false);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long head() {
        lock.readLock().lock();
        try {
            return head;
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public long prunedThrough() {
        lock.readLock().lock();
        try {
            return prunedThrough;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Whole batches are not tracked here: events are pruned one by one, the oldest first. */
    @Override
    public long prune(Duration retention, int maxEvents) {
        if (retention.isNegative()) {
            throw new IllegalArgumentException("retention must not be negative, was " + retention);
        }
        if (maxEvents < 1) {
            throw new IllegalArgumentException("maxEvents must be at least 1, was " + maxEvents);
        }
        lock.writeLock().lock();
        try {
            Instant cutoff = clock.instant().minus(retention);
            for (int n = 0; n < maxEvents && !entries.isEmpty(); n++) {
                Map.Entry<Long, Entry> oldest = entries.firstEntry();
                if (!oldest.getValue().recordedAt().isBefore(cutoff)) {
                    break;
                }
                entries.pollFirstEntry();
                prunedThrough = oldest.getKey();
            }
            return prunedThrough;
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void addListener(Runnable appended) {
        listeners.add(Objects.requireNonNull(appended, "appended"));
    }

    @Override
    public void removeListener(Runnable appended) {
        listeners.remove(appended);
    }
}
