package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.testkit.Await;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The first telling of each committed change comes in commit order per workflow, and no committed
 * change goes untold, across sink failures (also at start).
 * The oracle is the sink's own record.
 */
class StateEventOrderAcrossSinkFailuresTest {
    private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");

    private final TestStore store = new TestStore();
    private final ConcurrentLinkedQueue<StateEvent> told = new ConcurrentLinkedQueue<>();
    private final List<TaskEventEngine> engines = new ArrayList<>();

    private TaskEventEngine start(WorkflowStateSink sink) {
        TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(sink)
                .commitRetry(new RetryPolicy(1, Duration.ofMillis(1), Duration.ofMillis(1)))
                .clock(Clock.fixed(T, ZoneOffset.UTC)).build();
        engines.add(engine);
        return engine;
    }

    @AfterEach
    void tearDown() {
        engines.forEach(e -> e.close(Duration.ofSeconds(10)));
        store.close();
    }

    private static TaskEvent running(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, workflow, task).eventTime(T).host("w1").startTime(T).build();
    }

    private static TaskEvent result(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.RESULT, workflow, task).eventTime(T).state(TaskState.SUCCESS)
                .endTime(T.plusSeconds(1)).build();
    }

    /** The event ids in the order the sink first heard each (task, version). */
    private static List<String> firstTellings(ConcurrentLinkedQueue<StateEvent> told, long workflow) {
        LinkedHashSet<String> seen = new LinkedHashSet<>();
        told.stream().filter(e -> e.workflowInstanceId() == workflow)
                .forEach(e -> seen.add(e.taskInstanceId() + "@" + e.version() + ":" + e.eventId()));
        return List.copyOf(seen);
    }

    /**
     * The sink throws on r1 (fast path: workflow marked unsettled), then throws again when the
     * next event's settle re-tells r1. settle() returns normally although it stopped early, so
     * the next event (r2) is decided, committed and told on the fast path: the sink hears r2
     * before it has ever heard r1, which was committed first.
     */
    @Test
    void aSinkFailingAgainDuringSettleMustNotLetALaterChangeBeToldFirst() throws Exception {
        long wf = 7;
        AtomicInteger calls = new AtomicInteger();
        TaskEventEngine engine = start(event -> {
            if (calls.incrementAndGet() <= 2) {
                throw new IllegalStateException("state machine unavailable");
            }
            told.add(event);
        });
        store.insert(List.of(TaskInstance.submitted(1, wf, "a", T), TaskInstance.submitted(2, wf, "b", T)));

        assertInstanceOf(Acknowledgement.Applied.class, engine.submit(running("r1", wf, 1)).get(30, TimeUnit.SECONDS));
        assertInstanceOf(Acknowledgement.Applied.class, engine.submit(running("r2", wf, 2)).get(30, TimeUnit.SECONDS));
        assertInstanceOf(Acknowledgement.Applied.class, engine.submit(result("x1", wf, 1)).get(30, TimeUnit.SECONDS));

        assertEquals(List.of("1@1:r1", "2@1:r2", "1@2:x1"), firstTellings(told, wf),
                "first tellings must follow commit order; the sink heard " + told);
    }

    /**
     * More than one page (1,000) of entries is left in the outbox by a run whose sink was down.
     * At the next start the sink fails once, on the first entry: recover() marks only the
     * workflows of that first page unsettled and returns. The entry on the second page (workflow
     * 2's r1) is neither told nor marked: workflow 2's next change is told while r1 never is
     * (until yet another restart).
     */
    @Test
    void recoveryStoppedByASinkFailureMustNotForgetEntriesBeyondTheFirstPage() throws Exception {
        long late = 2;
        List<TaskInstance> rows = new ArrayList<>();
        for (long wf = 1_000; wf < 2_000; wf++) {
            rows.add(TaskInstance.submitted(wf, wf, "t" + wf, T));
        }
        rows.add(TaskInstance.submitted(5_000, late, "late", T));
        store.insert(rows);

        // A run whose sink is down: every change committed, none told (all left in the outbox).
        TaskEventEngine down = start(event -> {
            throw new IllegalStateException("state machine down");
        });
        List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>();
        for (long wf = 1_000; wf < 2_000; wf++) {
            acks.add(down.submit(running("r" + wf, wf, wf)));
        }
        for (CompletableFuture<Acknowledgement> ack : acks) {
            assertInstanceOf(Acknowledgement.Applied.class, ack.get(60, TimeUnit.SECONDS));
        }
        assertInstanceOf(Acknowledgement.Applied.class, down.submit(running("r1", late, 5_000)).get(30, TimeUnit.SECONDS));
        down.close(Duration.ofSeconds(10));
        assertEquals(1_001, store.pendingStateEvents(10_000).size());

        // Next start: the sink fails once (a blip during recovery), then works.
        AtomicInteger calls = new AtomicInteger();
        TaskEventEngine engine = start(event -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("blip");
            }
            told.add(event);
        });
        assertInstanceOf(Acknowledgement.Applied.class, engine.submit(result("x1", late, 5_000)).get(30, TimeUnit.SECONDS));

        // While recovery is incomplete every change waits in the outbox for a settle (the next
        // event's, or the background's within a second), so x1 is told after its ack.
        Await.until(() -> firstTellings(told, late).size() == 2);
        assertEquals(List.of("5000@1:r1", "5000@2:x1"), firstTellings(told, late),
                "r1 was committed first and is still in the outbox; the sink heard " + firstTellings(told, late));
    }

    /**
     * A store whose first write fails on the client side while the server goes on to commit it
     * later (connection lost during COMMIT; on PostgreSQL also a COMMIT waiting for a synchronous
     * standby, committed locally, visible once the wait ends). Plain reads do not see the
     * lingering transaction; the next write's locking read waits for it, as SELECT ... FOR UPDATE
     * on a row it holds would, so that write runs after the late commit.
     */
    static final class LateCommitStore extends ForwardingTaskInstanceStore {
        private volatile WriteBatch lingering;
        volatile boolean failNextWrite;

        @Override
        public synchronized List<WriteOutcome> write(WriteBatch batch) {
            WriteBatch late = lingering;
            if (late != null) {
                lingering = null;
                delegate.write(late); // the earlier transaction's commit lands: its locks are released
            }
            if (failNextWrite) {
                failNextWrite = false;
                lingering = batch;
                throw new StoreException("connection lost during COMMIT");
            }
            return delegate.write(batch);
        }
    }

    /**
     * r1's only attempt fails with an unknown outcome and its transaction commits after the
     * engine gave up. The next event of the workflow (x1, same task) settles first (the outbox
     * read does not see r1 yet), decides from the old row, and its write meets r1's late commit:
     * VERSION_CONFLICT, without the ambiguous flag (its own batch had no failed attempt).
     * retryAfterConflict re-decides without settling again, so x1 is told and r1, committed
     * before it and sitting in the outbox, is never told in this run.
     */
    @Test
    void aCommitThatLandsAfterTheFailedWriteIsToldBeforeTheWorkflowsNextChange() throws Exception {
        long wf = 7;
        LateCommitStore late = new LateCommitStore();
        TaskEventEngine engine = TaskEventEngine.builder().store(late).stateSink(told::add)
                .commitRetry(new RetryPolicy(1, Duration.ofMillis(1), Duration.ofMillis(1)))
                .clock(Clock.fixed(T, ZoneOffset.UTC)).build();
        engines.add(engine);
        try {
            late.insert(List.of(TaskInstance.submitted(1, wf, "a", T)));
            late.failNextWrite = true;
            ExecutionException failed = assertThrows(ExecutionException.class,
                    () -> engine.submit(running("r1", wf, 1)).get(30, TimeUnit.SECONDS));
            assertInstanceOf(StoreException.class, failed.getCause());

            assertInstanceOf(Acknowledgement.Applied.class, engine.submit(result("x1", wf, 1)).get(30, TimeUnit.SECONDS));
            assertEquals(2, late.find(1).orElseThrow().version(), "r1 and x1 both committed");
            Await.until(() -> firstTellings(told, wf).size() == 2);
            assertEquals(List.of("1@1:r1", "1@2:x1"), firstTellings(told, wf),
                    "r1 committed before x1; the sink heard " + firstTellings(told, wf)
                            + ", the outbox still holds " + late.pendingStateEvents(100));
        } finally {
            engine.close(Duration.ofSeconds(10));
            late.close();
        }
    }
}
