package dev.taskevents.engine.feed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class FeedCleanerTest {
    private static final Instant T = Instant.parse("2026-05-06T07:08:09Z");

    private static void writeChanges(TaskInstanceStore store, int n) {
        for (int i = 1; i <= n; i++) {
            TaskInstance row = TaskInstance.submitted(i, 1, "t" + i, T);
            store.insert(List.of(row));
            TaskInstance next = new TaskInstance(i, 1, "t" + i, TaskState.RUNNING, "h", null, null, 0, null, T, null,
                    null, null, "e" + i, 1, T);
            store.write(new WriteBatch(List.of(new RowUpdate(next, 0,
                    new StateEvent(1, i, TaskEventType.RUNNING, TaskState.RUNNING, "e" + i, 1, T))))
                    .withRecordIn(Set.of(StateEventLog.FEED)));
        }
    }

    @Test
    void prunesWhatIsOlderThanRetentionInChunksAndKeepsTheRest() throws Exception {
        try (TaskInstanceStore store = Stores.open("memory:")) {
            writeChanges(store, 7);
            StateEventFeed feed = store.stateFeed().orElseThrow();
            Instant before = Instant.now();
            try (FeedCleaner cleaner = new FeedCleaner(feed, Duration.ofNanos(1), Duration.ofMillis(1), 2)) {
                Await.until(() -> feed.prunedThrough() == 7);
                Await.until(() -> cleaner.lastRun().isPresent());
                assertTrue(!cleaner.lastRun().orElseThrow().isBefore(before), "the last run ended after the cleaner started");
                assertEquals(0, cleaner.failures());
            }
            try (FeedCleaner keeps = new FeedCleaner(feed, Duration.ofDays(1), Duration.ofMillis(1), 2)) {
                writeChanges2(store);
                assertEquals(7, feed.prunedThrough());
            }
            FeedPage page = feed.read(7, 10);
            assertEquals(List.of("late"), page.events().stream().map(e -> e.event().eventId()).toList());
        }
    }

    private static void writeChanges2(TaskInstanceStore store) {
        TaskInstance row = TaskInstance.submitted(100, 1, "late", T);
        store.insert(List.of(row));
        TaskInstance next = new TaskInstance(100, 1, "late", TaskState.RUNNING, "h", null, null, 0, null, T, null,
                null, null, "late", 1, T);
        store.write(new WriteBatch(List.of(new RowUpdate(next, 0,
                new StateEvent(1, 100, TaskEventType.RUNNING, TaskState.RUNNING, "late", 1, T))))
                .withRecordIn(Set.of(StateEventLog.FEED)));
    }

    /** A prune that fails (the store is down) is tried again at the next interval; the thread goes on. */
    @Test
    void aFailedPruneIsRetriedAtTheNextInterval() throws Exception {
        try (TaskInstanceStore store = Stores.open("memory:")) {
            writeChanges(store, 3);
            StateEventFeed real = store.stateFeed().orElseThrow();
            AtomicInteger calls = new AtomicInteger();
            StateEventFeed failingTwice = new StateEventFeed() {
                @Override public long feedId() { return real.feedId(); }
                @Override public FeedPage read(long after, int limit) { return real.read(after, limit); }
                @Override public long head() { return real.head(); }
                @Override public long prunedThrough() { return real.prunedThrough(); }
                @Override public long prune(Duration retention, int maxEvents) {
                    if (calls.incrementAndGet() <= 2) {
                        throw new StoreException("the database is down (test)");
                    }
                    return real.prune(retention, maxEvents);
                }
                @Override public void addListener(Runnable appended) { real.addListener(appended); }
                @Override public void removeListener(Runnable appended) { real.removeListener(appended); }
            };
            try (FeedCleaner cleaner = new FeedCleaner(failingTwice, Duration.ofNanos(1), Duration.ofMillis(1), 100)) {
                Await.until(() -> real.prunedThrough() == 3);
                assertEquals(2, cleaner.failures());
            }
            assertTrue(calls.get() >= 3);
        }
    }

    /** A run that fails is not a run: the last run stays unset while every prune fails. */
    @Test
    void failedRunsLeaveTheLastRunUnset() throws Exception {
        try (TaskInstanceStore store = Stores.open("memory:")) {
            StateEventFeed real = store.stateFeed().orElseThrow();
            StateEventFeed down = new StateEventFeed() {
                @Override public long feedId() { return real.feedId(); }
                @Override public FeedPage read(long after, int limit) { return real.read(after, limit); }
                @Override public long head() { return real.head(); }
                @Override public long prunedThrough() { return real.prunedThrough(); }
                @Override public long prune(Duration retention, int maxEvents) {
                    throw new StoreException("the database is down (test)");
                }
                @Override public void addListener(Runnable appended) { real.addListener(appended); }
                @Override public void removeListener(Runnable appended) { real.removeListener(appended); }
            };
            try (FeedCleaner cleaner = new FeedCleaner(down, Duration.ofNanos(1), Duration.ofMillis(1), 100)) {
                Await.until(() -> cleaner.failures() >= 3);
                assertTrue(cleaner.lastRun().isEmpty());
            }
        }
    }
}
