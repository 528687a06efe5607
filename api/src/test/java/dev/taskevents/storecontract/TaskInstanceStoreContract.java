package dev.taskevents.storecontract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.DuplicateTaskInstanceException;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link TaskInstanceStore} must have. A storage module's test extends this
 * class and opens a fresh, empty store in {@link #openStore()}.
 *
 * <p>Instants are written at microsecond precision: the finest that every supported database keeps.
 */
public abstract class TaskInstanceStoreContract {
    /** The start of this run's id range; tests use ids above it so that shared databases do not clash. */
    private static final AtomicLong NEXT_ID = new AtomicLong(System.currentTimeMillis() % 1_000_000_000L * 1_000);
    protected static final Instant T0 = Instant.parse("2026-01-02T03:04:05.123456Z");

    protected TaskInstanceStore store;

    /** A fresh store; the contract closes it after each test. */
    protected abstract TaskInstanceStore openStore();

    @BeforeEach
    void open() {
        store = openStore();
    }

    @AfterEach
    void closeStore() {
        if (store != null) { // null when openStore() aborted (no database) or failed
            store.close();
        }
    }

    protected static long newId() {
        return NEXT_ID.incrementAndGet();
    }

    protected static TaskInstance submitted(long id, long workflowId) {
        return TaskInstance.submitted(id, workflowId, "task-" + id, T0);
    }

    /** Every field set, as a RESULT would leave it, at {@code version}. */
    protected static TaskInstance finished(TaskInstance base, long version, String varPool) {
        return new TaskInstance(base.id(), base.workflowInstanceId(), base.name(), TaskState.SUCCESS,
                "worker-1:1234", "/logs/" + base.id() + ".log", "/exec/" + base.id(), 4242, "app_1,app_2",
                T0.plusSeconds(1), T0.plus(2_500_123, ChronoUnit.MICROS), varPool, "event-" + base.id(), "event-" + base.id(), version,
                T0.plusSeconds(3));
    }

    private static TaskInstance bumped(TaskInstance row) {
        return new TaskInstance(row.id(), row.workflowInstanceId(), row.name(), TaskState.RUNNING, "h",
                row.logPath(), row.executePath(), row.processId(), row.appIds(), T0, row.endTime(), row.varPool(),
                row.finishEventId(), "bump-" + (row.version() + 1), row.version() + 1, T0);
    }

    @Test
    void insertedRowsAreFoundByIdAndByWorkflowInIdOrder() {
        long wf = newId();
        long a = newId();
        long b = newId();
        long c = newId();
        store.insert(List.of(submitted(c, wf), submitted(a, wf), submitted(b, newId())));
        assertEquals(submitted(a, wf), store.find(a).orElseThrow());
        assertEquals(List.of(submitted(a, wf), submitted(c, wf)), store.findByWorkflow(wf));
        assertTrue(store.find(newId()).isEmpty());
        assertEquals(List.of(), store.findByWorkflow(newId()));
    }

    @Test
    void severalWorkflowsAreFoundAtOnce() {
        long wf1 = newId();
        long wf2 = newId();
        long empty = newId();
        long a = newId();
        long b = newId();
        long c = newId();
        store.insert(List.of(submitted(b, wf1), submitted(a, wf1), submitted(c, wf2)));
        java.util.Map<Long, List<TaskInstance>> found = store.findByWorkflows(List.of(wf1, wf2, empty));
        assertEquals(java.util.Map.of(wf1, List.of(submitted(a, wf1), submitted(b, wf1)), wf2, List.of(submitted(c, wf2)),
                empty, List.of()), found);
    }

    @Test
    void insertOfAnExistingIdWritesNothing() {
        long wf = newId();
        long existing = newId();
        long fresh = newId();
        store.insert(List.of(submitted(existing, wf)));
        DuplicateTaskInstanceException e = assertThrows(DuplicateTaskInstanceException.class,
                () -> store.insert(List.of(submitted(fresh, wf), submitted(existing, wf))));
        assertEquals(List.of(existing), e.ids());
        assertTrue(store.find(fresh).isEmpty(), "all or none: the fresh row must not be inserted");
    }

    @Test
    void insertWithARepeatedIdWritesNothing() {
        long wf = newId();
        long id = newId();
        assertThrows(DuplicateTaskInstanceException.class, () -> store.insert(List.of(submitted(id, wf), submitted(id, wf))));
        assertTrue(store.find(id).isEmpty());
    }

    @Test
    void everyFieldRoundTrips() {
        long wf = newId();
        TaskInstance row = submitted(newId(), wf);
        store.insert(List.of(row));
        TaskInstance done = finished(row, 1, "[{\"prop\":\"out\",\"value\":\"42\"}]");
        assertEquals(List.of(WriteOutcome.APPLIED), store.write(new WriteBatch(List.of(new RowUpdate(done, 0)))));
        assertEquals(done, store.find(row.id()).orElseThrow());
        assertEquals(List.of(done), store.findByWorkflow(wf));
    }

    @Test
    void awkwardStringsAndALargeVarPoolRoundTripExactly() {
        long wf = newId();
        TaskInstance row = submitted(newId(), wf);
        store.insert(List.of(row));
        StringBuilder large = new StringBuilder(6 * 1024 * 1024);
        Random random = new Random(7);
        while (large.length() < 6 * 1024 * 1024) {
            large.append("k").append(random.nextInt()).append("='it''s \\ \"q\" ünï 😀 ; DROP TABLE x;--'\n");
        }
        String varPool = large.toString();
        TaskInstance base = finished(row, 1, varPool);
        TaskInstance done = new TaskInstance(base.id(), base.workflowInstanceId(), "n'a\"m\\e ✓ 名前",
                base.state(), "h'o\"s\\t", "C:\\logs\\a'b.log", "/tmp/ü ñ/\"x\"", base.processId(), "a\tb\nc",
                base.startTime(), base.endTime(), base.varPool(), base.finishEventId(), base.lastEventId(), base.version(), base.updatedAt());
        assertEquals(List.of(WriteOutcome.APPLIED), store.write(new WriteBatch(List.of(new RowUpdate(done, 0)))));
        TaskInstance read = store.find(row.id()).orElseThrow();
        assertEquals(varPool.length(), read.varPool().length());
        assertEquals(done, read);
    }

    @Test
    void versionMismatchIsAConflictAndChangesNothing() {
        TaskInstance row = submitted(newId(), newId());
        store.insert(List.of(row));
        TaskInstance wrong = new TaskInstance(row.id(), row.workflowInstanceId(), row.name(), TaskState.RUNNING, "h",
                null, null, 0, null, T0, null, null, null, "e6", 6, T0);
        assertEquals(List.of(WriteOutcome.VERSION_CONFLICT), store.write(new WriteBatch(List.of(new RowUpdate(wrong, 5)))));
        assertEquals(row, store.find(row.id()).orElseThrow());
    }

    @Test
    void updateOfAMissingRowIsNotFound() {
        TaskInstance ghost = bumped(submitted(newId(), newId()));
        assertEquals(List.of(WriteOutcome.NOT_FOUND), store.write(new WriteBatch(List.of(new RowUpdate(ghost, 0)))));
        assertTrue(store.find(ghost.id()).isEmpty());
    }

    @Test
    void mixedBatchReportsEachRowAtItsIndexAndAppliesOnlyTheGoodOnes() {
        long wf = newId();
        TaskInstance a = submitted(newId(), wf);
        TaskInstance b = submitted(newId(), wf);
        store.insert(List.of(a, b));
        TaskInstance ghost = bumped(submitted(newId(), wf));
        TaskInstance conflicting = new TaskInstance(b.id(), wf, b.name(), TaskState.RUNNING, "h", null, null, 0, null,
                T0, null, null, null, "e3", 3, T0);
        List<WriteOutcome> outcomes = store.write(new WriteBatch(List.of(
                new RowUpdate(ghost, 0), new RowUpdate(bumped(a), 0), new RowUpdate(conflicting, 2))));
        assertEquals(List.of(WriteOutcome.NOT_FOUND, WriteOutcome.APPLIED, WriteOutcome.VERSION_CONFLICT), outcomes);
        assertEquals(bumped(a), store.find(a.id()).orElseThrow());
        assertEquals(b, store.find(b.id()).orElseThrow());
    }

    @Test
    void emptyBatchIsFine() {
        assertEquals(List.of(), store.write(new WriteBatch(List.of())));
    }

    @Test
    void concurrentWritersOfOneRowOneWinsTheOthersConflict() throws Exception {
        TaskInstance row = submitted(newId(), newId());
        store.insert(List.of(row));
        int writers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<WriteOutcome>> results = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                String host = "writer-" + i;
                TaskInstance mine = new TaskInstance(row.id(), row.workflowInstanceId(), row.name(), TaskState.RUNNING,
                        host, null, null, 0, null, T0, null, null, null, host, 1, T0);
                results.add(pool.submit(() -> {
                    start.await();
                    return store.write(new WriteBatch(List.of(new RowUpdate(mine, 0)))).getFirst();
                }));
            }
            start.countDown();
            int applied = 0;
            for (Future<WriteOutcome> f : results) {
                WriteOutcome outcome = f.get(60, TimeUnit.SECONDS);
                if (outcome == WriteOutcome.APPLIED) {
                    applied++;
                } else {
                    assertEquals(WriteOutcome.VERSION_CONFLICT, outcome);
                }
            }
            assertEquals(1, applied, "exactly one writer wins");
            TaskInstance stored = store.find(row.id()).orElseThrow();
            assertEquals(1, stored.version());
            assertTrue(stored.host().startsWith("writer-"), "the winner's row is whole: " + stored);
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Many threads write overlapping batches whose rows come in random order. The store must not
     * deadlock, and each row must end at the version its applied updates add up to.
     */
    @Test
    void concurrentOverlappingBatchesNeitherDeadlockNorLoseUpdates() throws Exception {
        long wf = newId();
        List<TaskInstance> rows = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            rows.add(submitted(newId(), wf));
        }
        store.insert(rows);
        int threads = 6;
        int batchesPerThread = 40;
        ConcurrentHashMap<Long, AtomicLong> appliedPerRow = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random random = new Random(t);
                done.add(pool.submit(() -> {
                    for (int n = 0; n < batchesPerThread; n++) {
                        List<TaskInstance> pick = new ArrayList<>(rows);
                        Collections.shuffle(pick, random);
                        List<RowUpdate> updates = new ArrayList<>();
                        for (TaskInstance r : pick.subList(0, 20)) {
                            TaskInstance current = store.find(r.id()).orElseThrow();
                            updates.add(new RowUpdate(bumped(current), current.version()));
                        }
                        List<WriteOutcome> outcomes = store.write(new WriteBatch(updates));
                        for (int i = 0; i < outcomes.size(); i++) {
                            if (outcomes.get(i) == WriteOutcome.APPLIED) {
                                appliedPerRow.computeIfAbsent(updates.get(i).row().id(), id -> new AtomicLong())
                                        .incrementAndGet();
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        long total = 0;
        for (TaskInstance r : rows) {
            long applied = appliedPerRow.getOrDefault(r.id(), new AtomicLong()).get();
            assertEquals(applied, store.find(r.id()).orElseThrow().version(), "row " + r.id());
            total += applied;
        }
        assertTrue(total > 0, "some updates must apply");
    }

    // --- the outbox: state events recorded in the batch's transaction ---

    private static StateEvent changeOf(TaskInstance row, String eventId) {
        return new StateEvent(row.workflowInstanceId(), row.id(), TaskEventType.RUNNING, row.state(), eventId,
                row.version(), row.updatedAt());
    }

    @Test
    void onlyAnAppliedUpdateRecordsItsNotificationAndItReadsBackEqual() {
        long wf = newId();
        TaskInstance a = submitted(newId(), wf);
        TaskInstance b = submitted(newId(), wf);
        TaskInstance c = submitted(newId(), wf);
        store.insert(List.of(a, b, c));
        TaskInstance ghost = bumped(submitted(newId(), wf));
        TaskInstance conflicting = bumped(bumped(b));
        TaskInstance plain = bumped(c);
        TaskInstance changed = bumped(a);
        List<WriteOutcome> outcomes = store.write(new WriteBatch(List.of(
                new RowUpdate(ghost, 0, changeOf(ghost, "g")),
                new RowUpdate(changed, 0, changeOf(changed, "a1")),
                new RowUpdate(conflicting, 1, changeOf(conflicting, "b2")),
                new RowUpdate(plain, 0))));
        assertEquals(List.of(WriteOutcome.NOT_FOUND, WriteOutcome.APPLIED, WriteOutcome.VERSION_CONFLICT,
                WriteOutcome.APPLIED), outcomes);
        assertEquals(List.of(changeOf(changed, "a1")), store.pendingStateEvents(wf));
        assertEquals(List.of(changeOf(changed, "a1")), store.pendingStateEvents(10));
    }

    @Test
    void outboxEntriesComeInCommitOrderAndRemovalIsIdempotent() {
        long wf = newId();
        TaskInstance a = submitted(newId(), wf);
        TaskInstance b = submitted(newId(), wf);
        store.insert(List.of(a, b));
        List<StateEvent> expected = new ArrayList<>();
        TaskInstance currentA = a;
        TaskInstance currentB = b;
        for (int i = 0; i < 3; i++) {
            // Higher ids first in the batch, and b before a across batches: order is commit order, not id order.
            TaskInstance nextB = bumped(currentB);
            store.write(new WriteBatch(List.of(new RowUpdate(nextB, currentB.version(), changeOf(nextB, "b" + i)))));
            TaskInstance nextA = bumped(currentA);
            store.write(new WriteBatch(List.of(new RowUpdate(nextA, currentA.version(), changeOf(nextA, "a" + i)))));
            expected.add(changeOf(nextB, "b" + i));
            expected.add(changeOf(nextA, "a" + i));
            currentA = nextA;
            currentB = nextB;
        }
        assertEquals(expected, store.pendingStateEvents(wf));
        assertEquals(expected.subList(0, 4), store.pendingStateEvents(4));
        store.removeStateEvents(expected.subList(0, 4));
        store.removeStateEvents(expected.subList(0, 4));
        store.removeStateEvents(List.of(changeOf(bumped(submitted(newId(), wf)), "never written")));
        store.removeStateEvents(List.of());
        assertEquals(expected.subList(4, 6), store.pendingStateEvents(wf));
        assertEquals(List.of(), store.pendingStateEvents(newId()), "another workflow has none");
    }

    @Test
    void aRefusedBatchRecordsNoNotificationAndChangesNoRow() {
        long wf = newId();
        TaskInstance a = submitted(newId(), wf);
        TaskInstance b = submitted(newId(), wf);
        store.insert(List.of(a, b));
        TaskInstance moved = new TaskInstance(b.id(), newId(), b.name(), TaskState.RUNNING, "h", null, null, 0, null,
                T0, null, null, null, "m", 1, T0);
        TaskInstance fine = bumped(a);
        assertThrows(IllegalArgumentException.class, () -> store.write(new WriteBatch(List.of(
                new RowUpdate(fine, 0, changeOf(fine, "a1")), new RowUpdate(moved, 0, changeOf(moved, "m"))))));
        assertEquals(a, store.find(a.id()).orElseThrow());
        assertEquals(b, store.find(b.id()).orElseThrow());
        assertEquals(List.of(), store.pendingStateEvents(wf));
        assertEquals(List.of(), store.pendingStateEvents(moved.workflowInstanceId()));
    }
}
