package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.engine.executor.QueueFullException;
import dev.taskevents.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TaskEventEngineTest {
    private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");
    private static final long WF = 100;

    private final TestStore store = new TestStore();
    private final ConcurrentLinkedQueue<StateEvent> stateEvents = new ConcurrentLinkedQueue<>();
    private TaskEventEngine engine = newEngine(TaskEventEngine.builder());

    private TaskEventEngine newEngine(TaskEventEngine.Builder builder) {
        return builder.store(store).stateSink(stateEvents::add).clock(Clock.fixed(T, ZoneOffset.UTC)).build();
    }

    @AfterEach
    void tearDown() {
        engine.close(Duration.ofSeconds(10));
        store.close();
    }

    private void register(long... taskIds) {
        List<TaskInstance> rows = new ArrayList<>();
        for (long id : taskIds) {
            rows.add(TaskInstance.submitted(id, WF, "task-" + id, T));
        }
        store.insert(rows);
    }

    private Acknowledgement send(TaskEvent event) throws Exception {
        return engine.submit(event).get(30, TimeUnit.SECONDS);
    }

    private static TaskEvent dispatch(String id, long task, String host) {
        return TaskEvent.dispatch(id, WF, task, T, host);
    }

    private static TaskEvent running(String id, long task) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, WF, task).eventTime(T).host("w1").startTime(T)
                .logPath("/log/" + task).executePath("/exec/" + task).processId(77).appIds("app_1").build();
    }

    private static TaskEvent delay(String id, long task) {
        return TaskEvent.builder(id, TaskEventType.DELAY, WF, task).eventTime(T).host("w1").startTime(T).build();
    }

    private static TaskEvent result(String id, long task, TaskState state) {
        return TaskEvent.builder(id, TaskEventType.RESULT, WF, task).eventTime(T).state(state)
                .startTime(T.minusSeconds(5)).endTime(T.plusSeconds(9)).varPool("[{\"out\":1}]").build();
    }

    private TaskInstance stored(long task) {
        return store.find(task).orElseThrow();
    }

    // --- the state-rule table of DESIGN.md, row by row ---

    @Test
    void dispatchOnSubmittedRecordsTheHostAndTellsNoOne() throws Exception {
        register(1);
        Acknowledgement ack = send(dispatch("d1", 1, "w1:1234"));
        TaskInstance row = assertInstanceOf(Acknowledgement.Applied.class, ack).task();
        assertEquals(TaskState.DISPATCHED, row.state());
        assertEquals("w1:1234", row.host());
        assertEquals(1, row.version());
        assertEquals(row, stored(1));
        assertEquals(List.of(), List.copyOf(stateEvents), "DISPATCH sends no state event");
    }

    @Test
    void dispatchIsADuplicateToTheSameHostAndStaleOtherwise() throws Exception {
        register(1);
        send(dispatch("d1", 1, "w1"));
        assertEquals(new Acknowledgement.Duplicate("d1", TaskState.DISPATCHED), send(dispatch("d1", 1, "w1")));
        assertEquals(new Acknowledgement.Stale("d2", TaskState.DISPATCHED), send(dispatch("d2", 1, "w2")));
        send(running("r1", 1));
        assertEquals(new Acknowledgement.Stale("d3", TaskState.RUNNING), send(dispatch("d3", 1, "w1")));
        assertEquals(2, stored(1).version(), "only DISPATCH and RUNNING wrote");
    }

    @Test
    void runningWritesEveryStartFieldAndTellsTheStateMachine() throws Exception {
        register(1);
        send(dispatch("d1", 1, "w0"));
        TaskInstance row = assertInstanceOf(Acknowledgement.Applied.class, send(running("r1", 1))).task();
        assertEquals(new TaskInstance(1, WF, "task-1", TaskState.RUNNING, "w1", "/log/1", "/exec/1", 77, "app_1",
                T, null, null, null, "r1", 2, T), row);
        assertEquals(row, stored(1));
        assertEquals(List.of(new StateEvent(WF, 1, TaskEventType.RUNNING, TaskState.RUNNING, "r1", 2, T)),
                List.copyOf(stateEvents));
    }

    @Test
    void delayAppliesToAnyUnfinishedStateAndRunningFollows() throws Exception {
        register(1);
        assertEquals(TaskState.DELAYED,
                assertInstanceOf(Acknowledgement.Applied.class, send(delay("y1", 1))).task().state());
        assertEquals(TaskState.RUNNING,
                assertInstanceOf(Acknowledgement.Applied.class, send(running("r1", 1))).task().state());
    }

    @Test
    void aResentRunningIsADuplicateAndWritesNothing() throws Exception {
        register(1);
        send(running("r1", 1));
        assertEquals(new Acknowledgement.Duplicate("r1", TaskState.RUNNING), send(running("r1", 1)));
        assertEquals(1, stored(1).version());
        assertEquals(1, stateEvents.size(), "a duplicate tells no one");
    }

    @Test
    void resultFinishesTheTaskWithEndTimeAndVarPool() throws Exception {
        register(1);
        send(running("r1", 1));
        TaskInstance row = assertInstanceOf(Acknowledgement.Applied.class,
                send(result("x1", 1, TaskState.FAILURE))).task();
        assertEquals(new TaskInstance(1, WF, "task-1", TaskState.FAILURE, "w1", "/log/1", "/exec/1", 77, "app_1",
                T, T.plusSeconds(9), "[{\"out\":1}]", "x1", "x1", 2, T), row);
        assertEquals(row, stored(1));
        assertEquals(TaskState.FAILURE, List.copyOf(stateEvents).getLast().state());
    }

    @Test
    void aFinishedTaskTakesNoChange_theSameResultIsADuplicateEverythingElseStale() throws Exception {
        register(1);
        send(running("r1", 1));
        send(result("x1", 1, TaskState.SUCCESS));
        TaskInstance finished = stored(1);
        assertEquals(new Acknowledgement.Duplicate("x1", TaskState.SUCCESS), send(result("x1", 1, TaskState.SUCCESS)));
        assertEquals(new Acknowledgement.Stale("x2", TaskState.SUCCESS), send(result("x2", 1, TaskState.KILLED)));
        assertEquals(new Acknowledgement.Stale("r2", TaskState.SUCCESS), send(running("r2", 1)));
        assertEquals(new Acknowledgement.Stale("y1", TaskState.SUCCESS), send(delay("y1", 1)));
        assertEquals(new Acknowledgement.Stale("d1", TaskState.SUCCESS), send(dispatch("d1", 1, "w1")));
        assertEquals(finished, stored(1));
        assertEquals(2, stateEvents.size());
        assertEquals(4, engine.stats().stale());
        assertEquals(1, engine.stats().duplicates());
    }

    @Test
    void resultBeforeRunningFinishesTheTaskAndTheLateRunningIsStale() throws Exception {
        register(1);
        send(dispatch("d1", 1, "w1"));
        TaskInstance done = assertInstanceOf(Acknowledgement.Applied.class,
                send(result("x1", 1, TaskState.SUCCESS))).task();
        assertEquals(T.minusSeconds(5), done.startTime(), "the RESULT's start time fills the gap");
        assertEquals("w1", done.host());
        assertEquals(new Acknowledgement.Stale("r1", TaskState.SUCCESS), send(running("r1", 1)));
        assertEquals(done, stored(1));
    }

    @Test
    void anUnknownTaskIsRejectedWithItsIds() throws Exception {
        Acknowledgement.Rejected rejected = assertInstanceOf(Acknowledgement.Rejected.class, send(running("r1", 404)));
        assertEquals(Acknowledgement.Rejected.Reason.UNKNOWN_TASK_INSTANCE, rejected.reason());
        assertEquals("unknown task instance 404 (workflow instance 100): the store holds no task instance with this id",
                rejected.message());
        assertFalse(rejected.delivered());
        assertEquals(1, engine.stats().rejected());
    }

    @Test
    void aTaskOfAnotherWorkflowIsRejected() throws Exception {
        store.insert(List.of(TaskInstance.submitted(5, 999, "elsewhere", T)));
        Acknowledgement.Rejected rejected = assertInstanceOf(Acknowledgement.Rejected.class, send(running("r1", 5)));
        assertEquals(Acknowledgement.Rejected.Reason.WRONG_WORKFLOW_INSTANCE, rejected.reason());
        assertEquals("task instance 5 belongs to workflow instance 999, but the event names workflow instance 100",
                rejected.message());
        assertEquals(TaskState.SUBMITTED, stored(5).state());
    }

    @Test
    void aTaskCreatedAfterItsWorkflowWasCachedIsLoadedNotDropped() throws Exception {
        register(1);
        send(dispatch("d1", 1, "w1")); // caches workflow 100 without task 2
        register(2);
        assertInstanceOf(Acknowledgement.Applied.class, send(dispatch("d2", 2, "w1")));
        assertEquals(TaskState.DISPATCHED, stored(2).state());
    }

    @Test
    void aRowChangedBehindTheEnginesBackIsReloadedAndDecidedAgain() throws Exception {
        register(1);
        send(dispatch("d1", 1, "w1")); // cached at version 1
        TaskInstance current = stored(1);
        TaskInstance killed = new TaskInstance(1, WF, current.name(), TaskState.KILLED, current.host(), null, null, 0,
                null, null, T, null, "kill-1", "kill-1", 2, T);
        store.delegate.write(new WriteBatch(List.of(new RowUpdate(killed, 1))));
        // The engine's snapshot says DISPATCHED; the store says KILLED: the version check catches it.
        assertEquals(new Acknowledgement.Stale("r1", TaskState.KILLED), send(running("r1", 1)));
        assertEquals(killed, stored(1));
    }

    // --- durability: no ack and no state event before the write returned ---

    @Test
    void noAckAndNoStateEventBeforeTheWriteReturns() throws Exception {
        register(1);
        store.holdWrites = new CountDownLatch(1);
        CompletableFuture<Acknowledgement> ack = engine.submit(running("r1", 1));
        assertTrue(store.writeEntered.await(10, TimeUnit.SECONDS));
        // The write is in progress and held: nothing may have been told yet.
        assertFalse(ack.isDone(), "acknowledged before the write returned");
        assertEquals(List.of(), List.copyOf(stateEvents), "state event before the write returned");
        store.holdWrites.countDown();
        assertInstanceOf(Acknowledgement.Applied.class, ack.get(10, TimeUnit.SECONDS));
        assertEquals(1, stateEvents.size());
    }

    @Test
    void changesOfManyWorkflowsAreCommittedTogether() throws Exception {
        engine.close();
        engine = newEngine(TaskEventEngine.builder().commitConcurrency(1));
        List<TaskInstance> rows = new ArrayList<>();
        for (int wf = 1; wf <= 101; wf++) {
            rows.add(TaskInstance.submitted(wf, wf, "t", T));
        }
        store.insert(rows);
        store.holdWrites = new CountDownLatch(1);
        List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>();
        acks.add(engine.submit(TaskEvent.dispatch("e1", 1, 1, T, "w")));
        assertTrue(store.writeEntered.await(10, TimeUnit.SECONDS));
        for (int wf = 2; wf <= 101; wf++) {
            acks.add(engine.submit(TaskEvent.dispatch("e" + wf, wf, wf, T, "w")));
        }
        Await.until(() -> engine.stats().pendingWrites() == 100);
        store.holdWrites.countDown();
        for (CompletableFuture<Acknowledgement> ack : acks) {
            assertInstanceOf(Acknowledgement.Applied.class, ack.get(10, TimeUnit.SECONDS));
        }
        assertEquals(List.of(1, 100), List.copyOf(store.batchSizes));
        EngineStats stats = engine.stats();
        assertEquals(2, stats.batches());
        assertEquals(101, stats.rowsWritten());
    }

    /**
     * With two flushers, a second batch is written while the first is still in the store. The
     * second event is submitted only once the first batch is held in the store, so they cannot
     * share a batch (they did, by chance, when both were submitted at once).
     */
    @Test
    void twoBatchesCanBeInFlightAtOnce() throws Exception {
        store.insert(List.of(TaskInstance.submitted(1, 1, "a", T), TaskInstance.submitted(2, 2, "b", T)));
        store.holdWrites = new CountDownLatch(1);
        store.writesEntered = new CountDownLatch(2);
        CompletableFuture<Acknowledgement> first = engine.submit(TaskEvent.dispatch("e1", 1, 1, T, "w"));
        assertTrue(store.writeEntered.await(10, TimeUnit.SECONDS), "the first batch must reach the store");
        CompletableFuture<Acknowledgement> second = engine.submit(TaskEvent.dispatch("e2", 2, 2, T, "w"));
        assertTrue(store.writesEntered.await(10, TimeUnit.SECONDS), "both batches must be in the store at once");
        store.holdWrites.countDown();
        assertInstanceOf(Acknowledgement.Applied.class, first.get(10, TimeUnit.SECONDS));
        assertInstanceOf(Acknowledgement.Applied.class, second.get(10, TimeUnit.SECONDS));
        assertEquals(List.of(1, 1), List.copyOf(store.batchSizes));
    }

    /**
     * A failed snapshot load fails only the event that asked for it: the workflow's next events
     * load again. (Caffeine's own removal of a failed load runs after the event's continuation,
     * too late for the next event, so the engine removes it first; 20 rounds would show a miss.)
     */
    @Test
    void aFailedSnapshotLoadFailsOnlyItsOwnEvent() throws Exception {
        for (int round = 0; round < 20; round++) {
            long wf = 1_000L + round;
            List<TaskInstance> rows = new ArrayList<>();
            for (int t = 1; t <= 10; t++) {
                rows.add(TaskInstance.submitted(wf * 100 + t, wf, "t" + t, T));
            }
            store.insert(rows);
            store.holdLoads = new CountDownLatch(1);
            store.loadsEntered = new CountDownLatch(1);
            store.loadFailuresToInject.set(1);
            List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>();
            for (TaskInstance row : rows) {
                acks.add(engine.submit(TaskEvent.dispatch("d" + row.id(), wf, row.id(), T, "w")));
            }
            assertTrue(store.loadsEntered.await(10, TimeUnit.SECONDS));
            store.holdLoads.countDown();
            int failures = 0;
            for (CompletableFuture<Acknowledgement> ack : acks) {
                try {
                    assertInstanceOf(Acknowledgement.Applied.class, ack.get(10, TimeUnit.SECONDS));
                } catch (ExecutionException e) {
                    failures++;
                }
            }
            assertEquals(1, failures, "round " + round + ": only the event whose load failed may fail");
            assertTrue(acks.getFirst().isCompletedExceptionally(), "the first event asked for the failed load");
        }
    }

    /**
     * Events blocked in their snapshot load when close's deadline passes still get an answer once
     * the load returns: their writes cannot start (the I/O executor is shut down), so they fail
     * with the reason, and none is left waiting for ever.
     */
    @Test
    void eventsInFlightAtTheCloseDeadlineAreAnsweredNotLeftHanging() throws Exception {
        List<TaskInstance> rows = new ArrayList<>();
        for (long wf = 1; wf <= 4; wf++) {
            rows.add(TaskInstance.submitted(wf, wf, "t", T));
        }
        store.insert(rows);
        store.holdLoads = new CountDownLatch(1);
        store.loadsEntered = new CountDownLatch(1);
        List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>();
        for (long wf = 1; wf <= 4; wf++) {
            acks.add(engine.submit(TaskEvent.dispatch("d" + wf, wf, wf, T, "w")));
        }
        // All four events have started (async tasks hold no thread) and wait for their loads.
        assertTrue(store.loadsEntered.await(10, TimeUnit.SECONDS), "a load is held");
        Await.until(() -> engine.stats().queued() == 4);
        engine.close(Duration.ofMillis(100));
        store.holdLoads.countDown();
        for (CompletableFuture<Acknowledgement> ack : acks) {
            ExecutionException failed = assertThrows(ExecutionException.class, () -> ack.get(10, TimeUnit.SECONDS));
            assertTrue(failed.getCause().getMessage().contains("closing"), failed.getCause().getMessage());
        }
        assertEquals("SUBMITTED", stored(1).state().name(), "nothing written after close");
    }

    /**
     * Acknowledgement callbacks and the sink run off the commit flusher's thread: a callback that
     * blocks does not hold up the next batch write.
     */
    @Test
    void aBlockingAckCallbackDoesNotHoldUpTheNextBatch() throws Exception {
        engine.close();
        engine = newEngine(TaskEventEngine.builder().commitConcurrency(1));
        store.insert(List.of(TaskInstance.submitted(1, 1, "a", T), TaskInstance.submitted(2, 2, "b", T)));
        CountDownLatch releaseCallback = new CountDownLatch(1);
        CountDownLatch callbackRunning = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<Thread> callbackThread = new java.util.concurrent.atomic.AtomicReference<>();
        // The write is held until the callback is attached: an acknowledgement that came first would
        // run the callback on this thread, inside thenAccept, where it would block the test itself.
        store.holdWrites = new CountDownLatch(1);
        CompletableFuture<Void> blocked = engine.submit(TaskEvent.dispatch("e1", 1, 1, T, "w")).thenAccept(ack -> {
            callbackThread.set(Thread.currentThread());
            callbackRunning.countDown();
            try {
                releaseCallback.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        store.holdWrites.countDown();
        assertTrue(callbackRunning.await(10, TimeUnit.SECONDS));
        try {
            assertInstanceOf(Acknowledgement.Applied.class,
                    engine.submit(TaskEvent.dispatch("e2", 2, 2, T, "w")).get(10, TimeUnit.SECONDS),
                    "the second batch is written while the first one's callback blocks");
            assertFalse(store.writeThreads.contains(callbackThread.get()), "the callback ran on a flusher");
        } finally {
            releaseCallback.countDown();
        }
        blocked.get(10, TimeUnit.SECONDS);
    }

    /**
     * A duplicate or stale answer is never given from an old cached row: here the cache says the
     * resent RUNNING is a duplicate, but the store holds a newer row (another writer killed the
     * task), so the answer is Stale with the store's state.
     */
    @Test
    void aDuplicateAnswerIsCheckedAgainstTheStoreNotTheCacheAlone() throws Exception {
        register(1);
        send(running("r1", 1)); // cached at version 1, RUNNING
        TaskInstance current = stored(1);
        TaskInstance killed = new TaskInstance(1, WF, current.name(), TaskState.KILLED, current.host(),
                current.logPath(), current.executePath(), current.processId(), current.appIds(), current.startTime(),
                T, null, "kill-1", "kill-1", 2, T);
        store.delegate.write(new WriteBatch(List.of(new RowUpdate(killed, 1))));
        assertEquals(new Acknowledgement.Stale("r1", TaskState.KILLED), send(running("r1", 1)));
    }

    /**
     * One row the store refuses (a poison pill) is answered Rejected at once; the other rows of its
     * batch commit without waiting out retries, and nothing is retried.
     */
    @Test
    void aRowTheStoreRefusesIsRejectedAndTheRestOfItsBatchCommits() throws Exception {
        engine.close();
        engine = newEngine(TaskEventEngine.builder().commitConcurrency(1));
        List<TaskInstance> rows = new ArrayList<>();
        for (long wf = 1; wf <= 6; wf++) {
            rows.add(TaskInstance.submitted(wf, wf, "t", T));
        }
        store.insert(rows);
        store.refusedTask = 4;
        store.holdWrites = new CountDownLatch(1);
        List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>();
        acks.add(engine.submit(TaskEvent.dispatch("e1", 1, 1, T, "w")));
        assertTrue(store.writeEntered.await(10, TimeUnit.SECONDS));
        for (long wf = 2; wf <= 6; wf++) {
            acks.add(engine.submit(TaskEvent.dispatch("e" + wf, wf, wf, T, "w")));
        }
        Await.until(() -> engine.stats().pendingWrites() == 5);
        store.holdWrites.countDown();
        for (int i = 0; i < acks.size(); i++) {
            Acknowledgement ack = acks.get(i).get(10, TimeUnit.SECONDS);
            if (i + 1 == 4) {
                Acknowledgement.Rejected rejected = assertInstanceOf(Acknowledgement.Rejected.class, ack);
                assertEquals(Acknowledgement.Rejected.Reason.REFUSED_BY_STORE, rejected.reason());
                assertTrue(rejected.message().contains("value out of range for task instance 4"), rejected.message());
                assertEquals(TaskState.SUBMITTED, stored(4).state());
            } else {
                assertInstanceOf(Acknowledgement.Applied.class, ack, "event " + (i + 1));
                assertEquals(TaskState.DISPATCHED, stored(i + 1).state());
            }
        }
        assertEquals(0, engine.stats().writeRetries(), "a refusal is not an outage: nothing retried");
    }

    /**
     * The snapshot cache is bounded by bytes: twenty workflows whose RESULTs carry 256 KiB var
     * pools (512 KiB of heap each) do not stay cached under a 2 MiB bound, and every event still
     * applies (an evicted workflow is loaded again).
     */
    @Test
    void snapshotsAreBoundedByBytesNotByCount() throws Exception {
        engine.close();
        engine = newEngine(TaskEventEngine.builder().cacheMaximumBytes(2L << 20));
        String varPool = "v".repeat(256 * 1024);
        for (long wf = 1; wf <= 20; wf++) {
            store.insert(List.of(TaskInstance.submitted(wf, wf, "t", T)));
            TaskEvent result = TaskEvent.builder("x" + wf, TaskEventType.RESULT, wf, wf).eventTime(T)
                    .state(TaskState.SUCCESS).endTime(T).varPool(varPool).build();
            assertInstanceOf(Acknowledgement.Applied.class, send(result));
        }
        Await.until(() -> engine.stats().cachedWorkflows() <= 4);
        assertEquals(varPool, stored(20).varPool());
    }

    @Test
    void aFailedWriteIsRetriedAndTheWorkflowWaitsInOrder() throws Exception {
        register(1);
        store.failuresToInject.set(2);
        CompletableFuture<Acknowledgement> first = engine.submit(running("r1", 1));
        CompletableFuture<Acknowledgement> second = engine.submit(result("x1", 1, TaskState.SUCCESS));
        assertInstanceOf(Acknowledgement.Applied.class, first.get(10, TimeUnit.SECONDS));
        assertInstanceOf(Acknowledgement.Applied.class, second.get(10, TimeUnit.SECONDS));
        assertEquals(2, engine.stats().writeRetries());
        assertEquals(List.of(TaskState.RUNNING, TaskState.SUCCESS),
                stateEvents.stream().map(StateEvent::state).toList());
    }

    @Test
    void aWriteThatKeepsFailingFailsTheFutureWithTheReasonAndTheResendApplies() throws Exception {
        engine.close();
        engine = newEngine(TaskEventEngine.builder()
                .commitRetry(new RetryPolicy(3, Duration.ofMillis(1), Duration.ofMillis(2))));
        register(1);
        store.failuresToInject.set(3);
        ExecutionException failed = assertThrows(ExecutionException.class,
                () -> engine.submit(running("r1", 1)).get(10, TimeUnit.SECONDS));
        StoreException cause = assertInstanceOf(StoreException.class, failed.getCause());
        assertTrue(cause.getMessage().contains("failed 3 times")
                && cause.getMessage().contains("injected failure: connection reset"), cause.getMessage());
        assertEquals(TaskState.SUBMITTED, stored(1).state(), "nothing written");
        assertEquals(List.of(), List.copyOf(stateEvents), "nothing told");
        assertEquals(1, engine.stats().failed());
        assertInstanceOf(Acknowledgement.Applied.class, send(running("r1", 1)), "the worker's resend applies");
    }

    /**
     * A store that throws an Error (pgjdbc throws AssertionError when a connection dies mid-batch)
     * must fail that write's future, not kill the flusher and leave every later write unanswered.
     */
    @Test
    void anErrorFromTheStoreFailsTheWriteAndLaterWritesStillGoThrough() throws Exception {
        register(1, 2);
        store.errorOnWrite = new AssertionError("getAutoCommit() should not throw");
        ExecutionException failed = assertThrows(ExecutionException.class,
                () -> engine.submit(running("r1", 1)).get(10, TimeUnit.SECONDS));
        assertInstanceOf(AssertionError.class, failed.getCause());
        assertInstanceOf(Acknowledgement.Applied.class, send(running("r1", 1)));
        assertInstanceOf(Acknowledgement.Applied.class, send(running("r2", 2)));
    }

    @Test
    void aFailingStateSinkIsCountedAndDoesNotUndoTheAck() throws Exception {
        engine.close();
        engine = TaskEventEngine.builder().store(store).stateSink(e -> {
            throw new IllegalStateException("state machine down");
        }).build();
        register(1);
        assertInstanceOf(Acknowledgement.Applied.class, send(running("r1", 1)));
        assertEquals(1, engine.stats().sinkFailures());
    }

    // --- concurrency on one workflow and across many ---

    /**
     * Eight threads submit for one workflow of 400 tasks, each thread owning 50 tasks and sending
     * DISPATCH, RUNNING, RESULT for each. Every task must end SUCCESS, and the state machine must
     * see, per task, RUNNING then SUCCESS, with never two sink calls for the workflow at once.
     */
    @Test
    void concurrentSubmittersOnOneWorkflow() throws Exception {
        int threads = 8;
        int tasksPerThread = 50;
        long[] ids = new long[threads * tasksPerThread];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i + 1L;
        }
        register(ids);
        engine.close();
        AtomicLong inSink = new AtomicLong();
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        engine = TaskEventEngine.builder().store(store).stateSink(e -> {
            if (inSink.incrementAndGet() != 1) {
                violations.add("two sink calls at once for workflow " + e.workflowInstanceId());
            }
            stateEvents.add(e);
            inSink.decrementAndGet();
        }).threads(4).build();
        List<Thread> submitters = new ArrayList<>();
        ConcurrentLinkedQueue<CompletableFuture<Acknowledgement>> acks = new ConcurrentLinkedQueue<>();
        for (int t = 0; t < threads; t++) {
            int first = t * tasksPerThread + 1;
            submitters.add(Thread.ofPlatform().start(() -> {
                for (int task = first; task < first + tasksPerThread; task++) {
                    acks.add(engine.submit(dispatch("d" + task, task, "w")));
                    acks.add(engine.submit(running("r" + task, task)));
                    acks.add(engine.submit(result("x" + task, task, TaskState.SUCCESS)));
                }
            }));
        }
        for (Thread t : submitters) {
            t.join();
        }
        for (CompletableFuture<Acknowledgement> ack : acks) {
            assertInstanceOf(Acknowledgement.Applied.class, ack.get(30, TimeUnit.SECONDS));
        }
        assertEquals(List.of(), List.copyOf(violations));
        for (long id : ids) {
            assertEquals(TaskState.SUCCESS, stored(id).state());
            List<TaskState> seen = stateEvents.stream().filter(e -> e.taskInstanceId() == id)
                    .map(StateEvent::state).toList();
            assertEquals(List.of(TaskState.RUNNING, TaskState.SUCCESS), seen, "task " + id);
        }
    }

    // --- backpressure and shutdown ---

    @Test
    void submitIsRefusedWithAClearErrorWhenTheQueueIsFull() throws Exception {
        engine.close();
        engine = newEngine(TaskEventEngine.builder().maxQueued(2).submitTimeout(Duration.ofMillis(50)));
        register(1);
        store.holdWrites = new CountDownLatch(1);
        CompletableFuture<Acknowledgement> a = engine.submit(running("r1", 1));
        CompletableFuture<Acknowledgement> b = engine.submit(result("x1", 1, TaskState.SUCCESS));
        QueueFullException full = assertThrows(QueueFullException.class, () -> engine.submit(running("r2", 1)));
        assertTrue(full.getMessage().startsWith("queue full: 2 tasks"), full.getMessage());
        store.holdWrites.countDown();
        assertInstanceOf(Acknowledgement.Applied.class, a.get(10, TimeUnit.SECONDS));
        assertInstanceOf(Acknowledgement.Applied.class, b.get(10, TimeUnit.SECONDS));
    }

    @Test
    void closeReportsTheEventsThatDidNotRunAndFailsTheirFutures() throws Exception {
        register(1);
        store.holdWrites = new CountDownLatch(1);
        CompletableFuture<Acknowledgement> inFlight = engine.submit(running("r1", 1));
        assertTrue(store.writeEntered.await(10, TimeUnit.SECONDS));
        TaskEvent waiting = result("x1", 1, TaskState.SUCCESS);
        CompletableFuture<Acknowledgement> queued = engine.submit(waiting);
        List<TaskEvent> notRun = engine.close(Duration.ofMillis(50));
        assertEquals(List.of(waiting), notRun);
        ExecutionException e = assertThrows(ExecutionException.class, () -> queued.get(1, TimeUnit.SECONDS));
        assertInstanceOf(EngineClosedException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("event x1"), e.getCause().getMessage());
        assertThrows(java.util.concurrent.RejectedExecutionException.class, () -> engine.submit(running("r9", 1)));
        store.holdWrites.countDown();
        assertInstanceOf(Acknowledgement.Applied.class, inFlight.get(10, TimeUnit.SECONDS),
                "the event in flight at the deadline still completes");
    }

    @Test
    void buildingWithoutAStoreOrWithAnUnknownUrlFailsClearly() {
        assertEquals("a store is required: call store(TaskInstanceStore) or storeUrl(String)",
                assertThrows(IllegalStateException.class, () -> TaskEventEngine.builder().build()).getMessage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TaskEventEngine.builder().storeUrl("cassandra://x").build());
        assertTrue(e.getMessage().contains("memory [memory:]"), e.getMessage());
    }
}
