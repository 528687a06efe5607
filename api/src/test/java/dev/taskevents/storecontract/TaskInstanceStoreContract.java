package dev.taskevents.storecontract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.DuplicateTaskInstanceException;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
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

    // --- the SPI's promises, each forced ---

    /**
     * A URL this store's provider must refuse as malformed, or null if it has none; opened through
     * {@link Stores#open(String)}, as a host would.
     */
    protected String malformedUrl() {
        return null;
    }

    /**
     * A URL of this store's kind that cannot be reached (a closed port, a missing database), or
     * null if the store cannot be unreachable. Opening it must fail within 30 s.
     */
    protected String unreachableUrl() {
        return null;
    }

    /**
     * Makes every later UPDATE of row {@code id} match no row while still succeeding as a statement
     * (a trigger that skips it: what a row deleted or changed underneath looks like), so that the
     * store's update-count check is what must notice. Aborts the test where the store has no such
     * path.
     */
    protected void makeUpdatesOfRowMatchNothing(long id) throws Exception {
        Assumptions.abort("this store has no update count to get wrong");
    }

    /**
     * Makes every later UPDATE of row {@code id} to a version above 0 fail inside the store (a
     * constraint the database checks), after the batch's earlier rows were written in the same
     * transaction. Aborts the test where the store has no such path.
     */
    protected void makeUpdatesOfRowFail(long id) throws Exception {
        Assumptions.abort("this store has no way to fail a statement in the middle of a batch");
    }

    /** The marker of batch {@code n}: every row of it carries version n and this event id. */
    private static TaskInstance atBatch(TaskInstance row, long n) {
        return new TaskInstance(row.id(), row.workflowInstanceId(), row.name(), TaskState.RUNNING, "host-" + n,
                row.logPath(), row.executePath(), row.processId(), row.appIds(), T0, row.endTime(), row.varPool(),
                row.finishEventId(), "batch-" + n, n, T0.plusSeconds(n));
    }

    /**
     * A reader looping {@code findByWorkflows} over several workflows while a writer commits
     * batches that change every row of them: every read must show all rows at one batch (the same
     * version and that batch's marker), never a mix. After each batch the writer waits for a read
     * that began after it, so reads and writes keep overlapping without either outrunning the
     * other; everything is bounded by {@link Await}'s 30 s and the join's 60 s.
     */
    @Test
    void aConcurrentReaderSeesEachBatchWholeOrNotAtAll() throws Exception {
        readWhileWritingWholeBatches(8, 3, 150);
    }

    /**
     * As {@link #aConcurrentReaderSeesEachBatchWholeOrNotAtAll}, with more workflows than one IN
     * list holds (1,000): a store that reads them in chunks must still read them at one moment.
     */
    @Test
    void aConcurrentReaderOfMoreThanAThousandWorkflowsSeesEachBatchWholeOrNotAtAll() throws Exception {
        readWhileWritingWholeBatches(1_200, 1, 24);
    }

    private void readWhileWritingWholeBatches(int workflowCount, int tasksPerWorkflow, int batches) throws Exception {
        List<Long> workflows = new ArrayList<>();
        List<TaskInstance> rows = new ArrayList<>();
        for (int w = 0; w < workflowCount; w++) {
            long wf = newId();
            workflows.add(wf);
            for (int t = 0; t < tasksPerWorkflow; t++) {
                rows.add(submitted(newId(), wf));
            }
        }
        store.insert(rows);
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicLong readsStarted = new AtomicLong();
        AtomicLong readsDone = new AtomicLong();
        List<String> torn = Collections.synchronizedList(new ArrayList<>());
        Set<Long> versionsSeen = ConcurrentHashMap.newKeySet();
        AtomicReference<Throwable> readerFailed = new AtomicReference<>();
        Thread reader = Thread.ofPlatform().name("contract-reader").start(() -> {
            try {
                while (writing.get()) {
                    readsStarted.incrementAndGet();
                    Map<Long, List<TaskInstance>> read = store.findByWorkflows(workflows);
                    Set<String> markers = new TreeSet<>();
                    int count = 0;
                    for (long wf : workflows) {
                        for (TaskInstance r : read.get(wf)) {
                            markers.add(r.version() + ":" + r.lastEventId());
                            count++;
                        }
                    }
                    if (count != rows.size() || markers.size() != 1) {
                        torn.add(count + " rows at " + markers);
                    } else {
                        TaskInstance any = read.get(workflows.getFirst()).getFirst();
                        if (any.version() > 0 && !("batch-" + any.version()).equals(any.lastEventId())) {
                            torn.add("version " + any.version() + " with marker " + any.lastEventId());
                        }
                        versionsSeen.add(any.version());
                    }
                    readsDone.incrementAndGet();
                }
            } catch (Throwable e) {
                readerFailed.set(e);
            }
        });
        try {
            for (long n = 1; n <= batches; n++) {
                List<RowUpdate> updates = new ArrayList<>();
                for (TaskInstance r : rows) {
                    updates.add(new RowUpdate(atBatch(r, n), n - 1));
                }
                List<WriteOutcome> outcomes = store.write(new WriteBatch(updates));
                assertEquals(Collections.nCopies(rows.size(), WriteOutcome.APPLIED), outcomes, "batch " + n);
                long startedBefore = readsStarted.get();
                Await.until(() -> readerFailed.get() != null || readsDone.get() > startedBefore);
            }
        } finally {
            writing.set(false);
            reader.join(TimeUnit.SECONDS.toMillis(60));
        }
        assertFalse(reader.isAlive(), "the reader must stop");
        assertEquals(null, readerFailed.get(), "the reader must not fail");
        assertEquals(List.of(), torn, "reads that saw part of a batch");
        assertTrue(versionsSeen.size() >= batches / 2, "reads must have interleaved with the batches: saw "
                + versionsSeen.size() + " of " + batches + " versions");
    }

    /**
     * An UPDATE that matches no row although its row was locked at the expected version (a trigger
     * skips it here) must fail the batch, and the rows written before it in the same transaction
     * must be rolled back with their outbox entries.
     */
    @Test
    void aWrongUpdateCountFailsTheBatchAndCommitsNothingOfIt() throws Exception {
        long wf = newId();
        List<TaskInstance> rows = List.of(submitted(newId(), wf), submitted(newId(), wf), submitted(newId(), wf));
        store.insert(rows);
        makeUpdatesOfRowMatchNothing(rows.get(2).id());
        assertFailingBatchCommitsNothing(wf, rows, StoreException.class);
    }

    /** A statement of the batch fails in the database: nothing of the batch is committed. */
    @Test
    void aBatchThatFailsInTheDatabaseCommitsNothingOfIt() throws Exception {
        long wf = newId();
        List<TaskInstance> rows = List.of(submitted(newId(), wf), submitted(newId(), wf), submitted(newId(), wf));
        store.insert(rows);
        makeUpdatesOfRowFail(rows.get(1).id());
        assertFailingBatchCommitsNothing(wf, rows, RuntimeException.class);
    }

    private void assertFailingBatchCommitsNothing(long wf, List<TaskInstance> rows, Class<? extends RuntimeException> thrown) {
        List<RowUpdate> updates = new ArrayList<>();
        for (TaskInstance r : rows) {
            TaskInstance next = bumped(r);
            updates.add(new RowUpdate(next, 0, changeOf(next, "e" + r.id())));
        }
        RuntimeException e = assertThrows(thrown, () -> store.write(new WriteBatch(updates)));
        assertTrue(e instanceof StoreException || e instanceof IllegalArgumentException,
                "the SPI's exceptions only: " + e);
        assertEquals(rows, store.findByWorkflow(wf), "no row of a failed batch is committed");
        assertEquals(List.of(), store.pendingStateEvents(wf), "no outbox entry of a failed batch is committed");
    }

    /** After close every method throws StoreException; close itself may be called again. */
    @Test
    void aClosedStoreThrowsStoreExceptionAndCloseIsIdempotent() {
        long wf = newId();
        TaskInstance row = submitted(newId(), wf);
        store.insert(List.of(row));
        TaskInstance next = bumped(row);
        StateEvent event = changeOf(next, "e");
        store.close();
        store.close();
        List<org.junit.jupiter.api.function.Executable> calls = List.of(
                () -> store.find(row.id()),
                () -> store.findByWorkflow(wf),
                () -> store.findByWorkflows(List.of(wf)),
                () -> store.insert(List.of(submitted(newId(), wf))),
                () -> store.write(new WriteBatch(List.of(new RowUpdate(next, 0, event)))),
                () -> store.pendingStateEvents(10),
                () -> store.pendingStateEvents(wf),
                () -> store.removeStateEvents(List.of(event)),
                // nothing to do is no exception: the store is closed all the same
                () -> store.insert(List.of()),
                () -> store.write(new WriteBatch(List.of())),
                () -> store.removeStateEvents(List.of()));
        for (int i = 0; i < calls.size(); i++) {
            assertThrows(StoreException.class, calls.get(i), "call " + i + " after close");
        }
        store.close();
    }

    /** Moving a row to another workflow is refused input, whether or not its version matches. */
    @Test
    void anUpdateThatMovesARowToAnotherWorkflowIsRefusedWhateverItsVersion() {
        long wf = newId();
        TaskInstance row = submitted(newId(), wf);
        store.insert(List.of(row));
        long other = newId();
        TaskInstance moved = new TaskInstance(row.id(), other, row.name(), TaskState.RUNNING, "h", null, null, 0, null,
                T0, null, null, null, "m", 1, T0);
        assertThrows(IllegalArgumentException.class,
                () -> store.write(new WriteBatch(List.of(new RowUpdate(moved, 0, changeOf(moved, "m"))))));
        TaskInstance movedFromWrongVersion = new TaskInstance(row.id(), other, row.name(), TaskState.RUNNING, "h",
                null, null, 0, null, T0, null, null, null, "m", 6, T0);
        assertThrows(IllegalArgumentException.class,
                () -> store.write(new WriteBatch(List.of(new RowUpdate(movedFromWrongVersion, 5)))));
        assertEquals(row, store.find(row.id()).orElseThrow());
        assertEquals(List.of(), store.findByWorkflow(other));
        assertEquals(List.of(), store.pendingStateEvents(other));
    }

    @Test
    void aNonPositiveOutboxLimitIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> store.pendingStateEvents(0));
        assertThrows(IllegalArgumentException.class, () -> store.pendingStateEvents(-1));
    }

    /**
     * The engine retries a batch whose outcome is unknown: the replay must conflict on every row it
     * committed the first time, change nothing and record no outbox entry twice.
     */
    @Test
    void aBatchReplayedAfterAnUnknownOutcomeConflictsAndRecordsNothingTwice() {
        long wf = newId();
        TaskInstance a = submitted(newId(), wf);
        TaskInstance b = submitted(newId(), wf);
        store.insert(List.of(a, b));
        TaskInstance nextA = bumped(a);
        TaskInstance nextB = bumped(b);
        WriteBatch batch = new WriteBatch(List.of(new RowUpdate(nextB, 0, changeOf(nextB, "b1")),
                new RowUpdate(nextA, 0, changeOf(nextA, "a1"))));
        CommitThenFailStore ambiguous = new CommitThenFailStore(store, 1);
        assertThrows(StoreException.class, () -> ambiguous.write(batch), "the injected unknown outcome");
        assertEquals(List.of(WriteOutcome.VERSION_CONFLICT, WriteOutcome.VERSION_CONFLICT), ambiguous.write(batch));
        assertEquals(List.of(WriteOutcome.VERSION_CONFLICT, WriteOutcome.VERSION_CONFLICT), store.write(batch));
        assertEquals(List.of(nextA, nextB), store.findByWorkflow(wf));
        assertEquals(Set.of(changeOf(nextA, "a1"), changeOf(nextB, "b1")), Set.copyOf(store.pendingStateEvents(wf)));
        assertEquals(2, store.pendingStateEvents(wf).size(), "each change recorded once");
    }

    /**
     * {@code insert} keeps every one of the 16 components as given, not only a fresh SUBMITTED row:
     * a finished state, a version above 0, a var pool, all times, the event ids; and the stored
     * version is the one later updates are checked against.
     */
    @Test
    void insertStoresEveryComponentAsGiven() {
        long wf = newId();
        TaskInstance base = submitted(newId(), wf);
        TaskInstance done = finished(base, 7, "[{\"prop\":\"inserted\",\"value\":\"var pool kept\"}]");
        TaskInstance failed = new TaskInstance(newId(), wf, "other ✓", TaskState.FAILURE, "h2:99", "/l", "/x", 7,
                "app_9", T0.plusSeconds(5), T0.plus(6_000_001, ChronoUnit.MICROS), "{\"k\":1}", "f-1", "l-2", 3,
                T0.plus(9_999_999, ChronoUnit.MICROS));
        store.insert(List.of(failed, done));
        assertEquals(done, store.find(done.id()).orElseThrow());
        assertEquals(failed, store.find(failed.id()).orElseThrow());
        List<TaskInstance> expected = done.id() < failed.id() ? List.of(done, failed) : List.of(failed, done);
        assertEquals(expected, store.findByWorkflow(wf));
        assertEquals(Map.of(wf, expected), store.findByWorkflows(List.of(wf)));
        assertEquals(List.of(WriteOutcome.VERSION_CONFLICT),
                store.write(new WriteBatch(List.of(new RowUpdate(bumped(base), 0)))), "the stored version is 7, not 0");
        assertEquals(List.of(WriteOutcome.APPLIED), store.write(new WriteBatch(List.of(new RowUpdate(bumped(done), 7)))));
        assertEquals(bumped(done), store.find(done.id()).orElseThrow());
    }

    /**
     * More ids than one IN list holds (1,000), each workflow once in the answer however often it
     * was asked for, and workflows without tasks mapped to empty lists. The rows go in by one
     * insert of more than 1,000 rows.
     */
    @Test
    void findByWorkflowsAnswersMoreThanAThousandIdsWithRepeats() {
        List<Long> asked = new ArrayList<>();
        Map<Long, List<TaskInstance>> expected = new HashMap<>();
        List<TaskInstance> rows = new ArrayList<>();
        for (int w = 0; w < 2_345; w++) {
            long wf = newId();
            asked.add(wf);
            List<TaskInstance> tasks = new ArrayList<>();
            if (w % 3 != 0) {
                tasks.add(submitted(newId(), wf));
                tasks.add(submitted(newId(), wf));
            }
            expected.put(wf, tasks);
            rows.addAll(tasks);
        }
        asked.addAll(asked.subList(1_000, 1_100)); // repeats, and across the first chunk boundary
        Collections.shuffle(asked, new Random(11));
        Collections.shuffle(rows, new Random(12));
        store.insert(rows);
        assertEquals(expected, store.findByWorkflows(asked));
    }

    /** A repeated id in one insert, far apart (across the 1,000-row chunk): nothing is inserted. */
    @Test
    void anInsertOfMoreThanAThousandRowsWithARepeatedIdWritesNothing() {
        long wf = newId();
        List<TaskInstance> rows = new ArrayList<>();
        for (int i = 0; i < 1_500; i++) {
            rows.add(submitted(newId(), wf));
        }
        rows.add(submitted(rows.get(3).id(), wf));
        DuplicateTaskInstanceException e = assertThrows(DuplicateTaskInstanceException.class, () -> store.insert(rows));
        assertEquals(List.of(rows.get(3).id()), e.ids());
        assertEquals(List.of(), store.findByWorkflow(wf));
    }

    @Test
    void aWriteBatchRefusesARepeatedId() {
        TaskInstance row = bumped(submitted(newId(), newId()));
        assertThrows(IllegalArgumentException.class,
                () -> new WriteBatch(List.of(new RowUpdate(row, 0), new RowUpdate(row, 0))));
    }

    @Test
    void aBatchOfMoreThanAHundredRowsIsWrittenWhole() {
        writeLargeBatchAndReadEveryRowBack(150);
    }

    @Test
    void aBatchOfMoreThanAThousandRowsIsWrittenWhole() {
        writeLargeBatchAndReadEveryRowBack(2_345);
    }

    /** Exactly on a chunk boundary: nothing is left over, and no empty chunk is sent. */
    @Test
    void anInsertAndABatchOfExactlyAThousandRowsAreWrittenWhole() {
        writeLargeBatchAndReadEveryRowBack(1_000);
    }

    /** A limit that falls inside the entries one batch recorded gives the first of them, in order. */
    @Test
    void aLimitThatFallsInsideOneBatchsEntriesGivesTheFirstOfThem() {
        long wf = newId();
        List<TaskInstance> rows = List.of(submitted(newId(), wf), submitted(newId(), wf), submitted(newId(), wf));
        store.insert(rows);
        List<RowUpdate> updates = new ArrayList<>();
        Set<StateEvent> written = new HashSet<>();
        for (TaskInstance row : rows) {
            TaskInstance next = bumped(row);
            updates.add(new RowUpdate(next, 0, changeOf(next, "e" + row.id())));
            written.add(changeOf(next, "e" + row.id()));
        }
        store.write(new WriteBatch(updates));
        List<StateEvent> all = store.pendingStateEvents(wf);
        assertEquals(written, new HashSet<>(all));
        assertEquals(all, store.pendingStateEvents(3));
        assertEquals(all.subList(0, 2), store.pendingStateEvents(2));
        assertEquals(all.subList(0, 1), store.pendingStateEvents(1));
    }

    /**
     * A batch of {@code size} updates in shuffled order, spread over many workflows, every 13th
     * from a wrong version and every 17th of a missing row: each outcome at its index, every row
     * read back as written (or untouched), and exactly the applied rows' notifications recorded.
     */
    private void writeLargeBatchAndReadEveryRowBack(int size) {
        List<TaskInstance> rows = new ArrayList<>();
        List<Long> workflows = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            if (i % 10 == 0) {
                workflows.add(newId());
            }
            rows.add(submitted(newId(), workflows.getLast()));
        }
        store.insert(rows);
        List<TaskInstance> order = new ArrayList<>(rows);
        Collections.shuffle(order, new Random(size));
        List<RowUpdate> updates = new ArrayList<>();
        List<WriteOutcome> expectedOutcomes = new ArrayList<>();
        Map<Long, TaskInstance> expectedRows = new HashMap<>();
        Set<StateEvent> expectedEvents = new HashSet<>();
        rows.forEach(r -> expectedRows.put(r.id(), r));
        for (int i = 0; i < order.size(); i++) {
            TaskInstance r = order.get(i);
            if (i % 17 == 5) {
                TaskInstance ghost = bumped(submitted(newId(), r.workflowInstanceId()));
                updates.add(new RowUpdate(ghost, 0, changeOf(ghost, "ghost")));
                expectedOutcomes.add(WriteOutcome.NOT_FOUND);
            }
            if (i % 13 == 4) {
                TaskInstance stale = bumped(bumped(r));
                updates.add(new RowUpdate(stale, 1, changeOf(stale, "stale")));
                expectedOutcomes.add(WriteOutcome.VERSION_CONFLICT);
            } else {
                TaskInstance next = finished(r, 1, "pool-" + r.id());
                StateEvent event = changeOf(next, "e" + r.id());
                updates.add(new RowUpdate(next, 0, event));
                expectedOutcomes.add(WriteOutcome.APPLIED);
                expectedRows.put(r.id(), next);
                expectedEvents.add(event);
            }
        }
        assertEquals(expectedOutcomes, store.write(new WriteBatch(updates)));
        Map<Long, List<TaskInstance>> read = store.findByWorkflows(workflows);
        int readBack = 0;
        for (long wf : workflows) {
            for (TaskInstance r : read.get(wf)) {
                assertEquals(expectedRows.get(r.id()), r, "row " + r.id());
                readBack++;
            }
        }
        assertEquals(size, readBack, "every row read back");
        Set<StateEvent> recorded = new HashSet<>();
        for (long wf : workflows) {
            recorded.addAll(store.pendingStateEvents(wf));
        }
        assertEquals(expectedEvents, recorded);
    }

    /** {@link dev.taskevents.api.spi.StorageProvider#open}: a malformed URL is refused input. */
    @Test
    void aMalformedUrlIsRefusedAsIllegalArgument() {
        String url = malformedUrl();
        Assumptions.assumeTrue(url != null, "this store has no malformed URL");
        assertThrows(IllegalArgumentException.class, () -> {
            try (TaskInstanceStore opened = Stores.open(url)) {
                // reached only if the URL was accepted: the assertion fails
            }
        });
    }

    /** {@link dev.taskevents.api.spi.StorageProvider#open}: an unreachable store is a StoreException, in bounded time. */
    @Test
    void anUnreachableStoreIsAStoreException() {
        String url = unreachableUrl();
        Assumptions.assumeTrue(url != null, "this store cannot be unreachable");
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            assertThrows(StoreException.class, () -> {
                try (TaskInstanceStore opened = Stores.open(url)) {
                    // reached only if the store opened: the assertion fails
                }
            });
        });
    }

    /**
     * Several writers, each owning some workflows, commit batches with at most one task per workflow,
     * picking tasks at random so that commit order is neither id order nor task order. Per
     * workflow, the outbox must hold the changes in the order their writes returned (the client's
     * ledger), both through {@code pendingStateEvents(workflow)} and in the global order.
     */
    @Test
    void outboxIsInCommitOrderPerWorkflowAcrossTasksAndWriters() throws Exception {
        int writers = 4;
        int workflowsPerWriter = 3;
        int tasksPerWorkflow = 3;
        int batchesPerWriter = 25;
        Map<Long, List<StateEvent>> ledger = new ConcurrentHashMap<>();
        List<List<List<TaskInstance>>> owned = new ArrayList<>();
        List<TaskInstance> all = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            List<List<TaskInstance>> mine = new ArrayList<>();
            for (int f = 0; f < workflowsPerWriter; f++) {
                long wf = newId();
                List<TaskInstance> tasks = new ArrayList<>();
                for (int t = 0; t < tasksPerWorkflow; t++) {
                    tasks.add(submitted(newId(), wf));
                }
                mine.add(tasks);
                all.addAll(tasks);
                ledger.put(wf, Collections.synchronizedList(new ArrayList<>()));
            }
            owned.add(mine);
        }
        store.insert(all);
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                List<List<TaskInstance>> mine = owned.get(w);
                Random random = new Random(100 + w);
                done.add(pool.submit(() -> {
                    start.await();
                    Map<Long, TaskInstance> current = new HashMap<>();
                    mine.forEach(tasks -> tasks.forEach(t -> current.put(t.id(), t)));
                    for (int n = 0; n < batchesPerWriter; n++) {
                        List<RowUpdate> updates = new ArrayList<>();
                        for (List<TaskInstance> tasks : mine) {
                            if (random.nextInt(4) == 0) {
                                continue; // this workflow sits this batch out
                            }
                            TaskInstance before = current.get(tasks.get(random.nextInt(tasks.size())).id());
                            TaskInstance next = bumped(before);
                            updates.add(new RowUpdate(next, before.version(),
                                    changeOf(next, "w" + next.id() + "v" + next.version())));
                        }
                        Collections.shuffle(updates, random);
                        List<WriteOutcome> outcomes = store.write(new WriteBatch(updates));
                        assertEquals(Collections.nCopies(updates.size(), WriteOutcome.APPLIED), outcomes);
                        for (RowUpdate u : updates) {
                            current.put(u.row().id(), u.row());
                            ledger.get(u.row().workflowInstanceId()).add(u.notification());
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<StateEvent> global = store.pendingStateEvents(Integer.MAX_VALUE);
        for (Map.Entry<Long, List<StateEvent>> e : ledger.entrySet()) {
            assertTrue(e.getValue().size() > batchesPerWriter / 2, "workflow " + e.getKey() + " changed often");
            assertEquals(e.getValue(), store.pendingStateEvents(e.getKey()), "workflow " + e.getKey());
            assertEquals(e.getValue(), global.stream().filter(ev -> ev.workflowInstanceId() == e.getKey()).toList(),
                    "workflow " + e.getKey() + " in the global order");
        }
    }
}
