package dev.taskevents.storecontract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.FeedPositionAheadException;
import dev.taskevents.api.spi.FeedPositionExpiredException;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every store with a {@link StateEventFeed} must have. A storage module's test
 * extends this class and opens a fresh, empty store in {@link #openStore()}.
 */
public abstract class StateFeedContract {
    private static final AtomicLong NEXT_ID = new AtomicLong(System.currentTimeMillis() % 1_000_000_000L * 1_000 + 500_000_000_000L);
    protected static final Instant T0 = Instant.parse("2026-01-02T03:04:05.123456Z");
    protected static final Set<StateEventLog> FEED = Set.of(StateEventLog.FEED);

    protected TaskInstanceStore store;
    protected StateEventFeed feed;

    /** A fresh store; the contract closes it after each test. */
    protected abstract TaskInstanceStore openStore();

    @BeforeEach
    void open() {
        store = openStore();
        feed = store.stateFeed().orElseThrow(() -> new AssertionError("the store has no state feed"));
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    protected static long newId() {
        return NEXT_ID.incrementAndGet();
    }

    /** {@code n} new SUBMITTED tasks of one new workflow, inserted. */
    protected static List<TaskInstance> insertTasks(TaskInstanceStore store, int n) {
        long workflow = newId();
        List<TaskInstance> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long id = newId();
            rows.add(TaskInstance.submitted(id, workflow, "task-" + id, T0));
        }
        store.insert(rows);
        return rows;
    }

    /** The update moving {@code row} to RUNNING at its next version, with its notification. */
    protected static RowUpdate running(TaskInstance row, String eventId) {
        TaskInstance next = new TaskInstance(row.id(), row.workflowInstanceId(), row.name(), TaskState.RUNNING, "h",
                row.logPath(), row.executePath(), row.processId(), row.appIds(), T0, row.endTime(), row.varPool(),
                row.finishEventId(), eventId, row.version() + 1, T0.plusSeconds(row.version() + 1));
        return new RowUpdate(next, row.version(), new StateEvent(row.workflowInstanceId(), row.id(),
                TaskEventType.RUNNING, TaskState.RUNNING, eventId, next.version(), next.updatedAt()));
    }

    private List<FeedEvent> readAll(long after) {
        List<FeedEvent> all = new ArrayList<>();
        long cursor = after;
        while (true) {
            FeedPage page = feed.read(cursor, 3);
            if (page.events().isEmpty()) {
                return all;
            }
            all.addAll(page.events());
            cursor = page.next(cursor);
        }
    }

    @Test
    void batchesGetConsecutivePositionsInCommitOrderAndReadsHonourAfterAndLimit() {
        long start = feed.head();
        List<TaskInstance> a = insertTasks(store, 3);
        List<TaskInstance> b = insertTasks(store, 2);
        store.write(new WriteBatch(a.stream().map(r -> running(r, "a-" + r.id())).toList()).withRecordIn(FEED));
        store.write(new WriteBatch(b.stream().map(r -> running(r, "b-" + r.id())).toList()).withRecordIn(FEED));
        assertEquals(start + 5, feed.head());
        List<FeedEvent> all = readAll(start);
        assertEquals(List.of(start + 1, start + 2, start + 3, start + 4, start + 5),
                all.stream().map(FeedEvent::position).toList());
        // Batch a first (in its update order), then b: by event id, not by count.
        List<String> ids = all.stream().map(e -> e.event().eventId()).toList();
        assertEquals(List.of("a-" + a.get(0).id(), "a-" + a.get(1).id(), "a-" + a.get(2).id(),
                "b-" + b.get(0).id(), "b-" + b.get(1).id()), ids);
        // A limit that ends inside a batch, and an after inside a batch.
        FeedPage two = feed.read(start, 2);
        assertEquals(List.of(start + 1, start + 2), two.events().stream().map(FeedEvent::position).toList());
        assertEquals(start + 5, two.head());
        FeedPage rest = feed.read(start + 2, 100);
        assertEquals(List.of(start + 3, start + 4, start + 5), rest.events().stream().map(FeedEvent::position).toList());
        assertEquals("b-" + b.get(1).id(), rest.events().get(2).event().eventId());
        assertTrue(feed.read(start + 5, 10).events().isEmpty());
        assertEquals(all.get(0).event(), running(a.get(0), "a-" + a.get(0).id()).notification());
    }

    @Test
    void onlyAppliedChangesWithANotificationAreRecordedAndOnlyWhereTheBatchSays() {
        long start = feed.head();
        List<TaskInstance> rows = insertTasks(store, 4);
        List<WriteOutcome> outcomes = store.write(new WriteBatch(List.of(running(rows.get(0), "applied"),
                running(rows.get(1), "first"), new RowUpdate(running(rows.get(2), "quiet").row(), 0)))
                .withRecordIn(FEED));
        assertEquals(List.of(WriteOutcome.APPLIED, WriteOutcome.APPLIED, WriteOutcome.APPLIED), outcomes);
        // rows.get(1) is now at version 1: an update from version 0 conflicts and records nothing.
        assertEquals(List.of(WriteOutcome.VERSION_CONFLICT),
                store.write(new WriteBatch(List.of(running(rows.get(1), "conflict"))).withRecordIn(FEED)));
        assertEquals(List.of("applied", "first"), readAll(start).stream().map(e -> e.event().eventId()).toList());
        assertTrue(store.pendingStateEvents(100).isEmpty(), "a FEED-only batch wrote to the outbox");
        // OUTBOX only (the default): nothing in the feed.
        store.write(new WriteBatch(List.of(running(rows.get(3), "outbox-only"))));
        assertEquals(start + 2, feed.head());
        assertEquals(List.of("outbox-only"), store.pendingStateEvents(100).stream().map(StateEvent::eventId).toList());
    }

    @Test
    void bothPlacesAndNowhere() {
        long start = feed.head();
        List<TaskInstance> rows = insertTasks(store, 2);
        store.write(new WriteBatch(List.of(running(rows.get(0), "both")))
                .withRecordIn(Set.of(StateEventLog.OUTBOX, StateEventLog.FEED)));
        store.write(new WriteBatch(List.of(running(rows.get(1), "nowhere"))).withRecordIn(Set.of()));
        assertEquals(List.of("both"), readAll(start).stream().map(e -> e.event().eventId()).toList());
        assertEquals(List.of("both"), store.pendingStateEvents(100).stream().map(StateEvent::eventId).toList());
        assertEquals(1, store.find(rows.get(1).id()).orElseThrow().version());
    }

    @Test
    void aPositionBeyondTheHeadIsRefused() {
        long head = feed.head();
        FeedPositionAheadException e = assertThrows(FeedPositionAheadException.class, () -> feed.read(head + 7, 10));
        assertEquals(head + 7, e.position());
        assertEquals(head, e.head());
        assertThrows(IllegalArgumentException.class, () -> feed.read(-1, 10));
        assertThrows(IllegalArgumentException.class, () -> feed.read(head, 0));
    }

    @Test
    void pruningDeletesTheOldestAndRefusesPositionsBeforeIt() throws Exception {
        long start = feed.head();
        List<TaskInstance> rows = insertTasks(store, 3);
        store.write(new WriteBatch(List.of(running(rows.get(0), "old-1"), running(rows.get(1), "old-2")))
                .withRecordIn(FEED));
        // A retention of a day deletes nothing.
        assertEquals(feed.prunedThrough(), feed.prune(Duration.ofDays(1), 100));
        assertEquals(2, readAll(start).size());
        // Retention zero: everything recorded before the store's clock now; the clock may need to tick.
        Await.until(() -> feed.prune(Duration.ZERO, 100) == start + 2);
        assertEquals(start + 2, feed.prunedThrough());
        FeedPositionExpiredException e = assertThrows(FeedPositionExpiredException.class, () -> feed.read(start, 10));
        assertEquals(start, e.position());
        assertEquals(start + 2, e.oldest());
        // From the pruned position on, reading goes on; later changes come.
        assertTrue(feed.read(start + 2, 10).events().isEmpty());
        store.write(new WriteBatch(List.of(running(rows.get(2), "new"))).withRecordIn(FEED));
        assertEquals(List.of("new"), readAll(start + 2).stream().map(f -> f.event().eventId()).toList());
        assertEquals(start + 3, feed.head());
    }

    @Test
    void listenersHearOfCommittedAppendsOnly() {
        AtomicInteger calls = new AtomicInteger();
        Runnable listener = calls::incrementAndGet;
        feed.addListener(listener);
        List<TaskInstance> rows = insertTasks(store, 2);
        store.write(new WriteBatch(List.of(running(rows.get(0), "told"))).withRecordIn(FEED));
        assertEquals(1, calls.get());
        // Outbox only: no append, no call.
        store.write(new WriteBatch(List.of(running(rows.get(1), "outbox"))));
        assertEquals(1, calls.get());
        // A batch the store refuses (moving a task to another workflow) commits nothing and calls nothing.
        TaskInstance moved = running(store.find(rows.get(1).id()).orElseThrow(), "moved").row();
        TaskInstance other = new TaskInstance(moved.id(), moved.workflowInstanceId() + 1, moved.name(), moved.state(),
                moved.host(), moved.logPath(), moved.executePath(), moved.processId(), moved.appIds(), moved.startTime(),
                moved.endTime(), moved.varPool(), moved.finishEventId(), moved.lastEventId(), moved.version(),
                moved.updatedAt());
        long head = feed.head();
        assertThrows(IllegalArgumentException.class, () -> store.write(new WriteBatch(List.of(
                new RowUpdate(other, 1, new StateEvent(other.workflowInstanceId(), other.id(), TaskEventType.RUNNING,
                        TaskState.RUNNING, "moved", 2, T0)))).withRecordIn(FEED)));
        assertEquals(1, calls.get());
        assertEquals(head, feed.head());
        feed.removeListener(listener);
        store.write(new WriteBatch(List.of(running(store.find(rows.get(0).id()).orElseThrow(), "after")))
                .withRecordIn(FEED));
        assertEquals(1, calls.get());
    }

    @Test
    void aClosedStoresFeedThrows() {
        store.close();
        assertThrows(StoreException.class, () -> feed.read(0, 1));
        assertThrows(StoreException.class, feed::head);
        assertThrows(StoreException.class, () -> feed.prune(Duration.ZERO, 1));
        store = null;
    }
}
