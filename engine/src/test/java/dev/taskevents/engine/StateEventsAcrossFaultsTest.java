package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every committed change reaches the state sink at least once, in commit order per workflow, also
 * when the commit's outcome was unknown, the last retry failed, the process stopped between the
 * commit and the telling, or the sink threw. The oracle is the sink's own record, checked by
 * identity (task, version, event id), never the engine's counters.
 */
class StateEventsAcrossFaultsTest {
    private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");
    private static final long WF = 7;

    private final TestStore store = new TestStore();
    private final ConcurrentLinkedQueue<StateEvent> told = new ConcurrentLinkedQueue<>();
    private TaskEventEngine engine;

    private TaskEventEngine start(WorkflowStateSink sink, RetryPolicy retry) {
        return TaskEventEngine.builder().store(store).stateSink(sink).commitRetry(retry)
                .clock(Clock.fixed(T, ZoneOffset.UTC)).build();
    }

    @AfterEach
    void tearDown() {
        if (engine != null) {
            engine.close(Duration.ofSeconds(10));
        }
        store.close();
    }

    private static TaskEvent running(String id, long task) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, WF, task).eventTime(T).host("w1").startTime(T).build();
    }

    private static TaskEvent result(String id, long task) {
        return TaskEvent.builder(id, TaskEventType.RESULT, WF, task).eventTime(T).state(TaskState.SUCCESS)
                .endTime(T.plusSeconds(1)).build();
    }

    private static StateEvent told(String eventId, long task, TaskEventType type, TaskState state, long version) {
        return new StateEvent(WF, task, type, state, eventId, version, T);
    }

    private Acknowledgement send(TaskEvent event) throws Exception {
        return engine.submit(event).get(30, TimeUnit.SECONDS);
    }

    /**
     * The batch commits, then the store throws (connection lost during COMMIT); the retry finds
     * the row at the new version. Before the outbox this was acknowledged Duplicate and the sink
     * never heard of the RESULT: the workflow would never advance.
     */
    @Test
    void anAmbiguousCommitIsAcknowledgedAppliedAndTheSinkIsToldOnce() throws Exception {
        engine = start(told::add, new RetryPolicy(5, Duration.ofMillis(1), Duration.ofMillis(2)));
        store.insert(List.of(TaskInstance.submitted(1, WF, "a", T)));
        store.commitsThenFailures.set(1);

        Acknowledgement.Applied applied = assertInstanceOf(Acknowledgement.Applied.class, send(result("x1", 1)));
        assertEquals(TaskState.SUCCESS, applied.task().state());
        assertEquals("x1", applied.task().lastEventId(), "the stored row names the event that changed it");
        assertEquals(applied.task(), store.find(1).orElseThrow());
        assertEquals(List.of(told("x1", 1, TaskEventType.RESULT, TaskState.SUCCESS, 1)), List.copyOf(told));
        // Removal of told entries is asynchronous: they leave the outbox soon after.
        Await.until(() -> store.pendingStateEvents(100).isEmpty());
    }

    /**
     * Every attempt fails, the first after committing: the event's future fails (no ack, the worker
     * resends). The sink must still hear of the committed change, before anything later of the
     * workflow: the resend settles the workflow first, and is then a duplicate.
     */
    @Test
    void aFailedLastRetryIsToldBeforeTheWorkflowsNextEvent() throws Exception {
        engine = start(told::add, new RetryPolicy(2, Duration.ofMillis(1), Duration.ofMillis(2)));
        store.insert(List.of(TaskInstance.submitted(1, WF, "a", T), TaskInstance.submitted(2, WF, "b", T)));
        // Attempt 1 commits and throws; attempt 2 throws before committing: the event fails.
        store.script.addAll(List.of(TestStore.Fault.AFTER_COMMIT, TestStore.Fault.BEFORE_COMMIT));
        CompletableFuture<Acknowledgement> first = engine.submit(running("r1", 1));
        ExecutionException failed = assertThrows(ExecutionException.class, () -> first.get(30, TimeUnit.SECONDS));
        assertInstanceOf(StoreException.class, failed.getCause());
        assertEquals(List.of(), List.copyOf(told), "nothing told yet: the engine does not know it committed");

        // The worker resends; the workflow is settled first, then the resend is decided.
        assertInstanceOf(Acknowledgement.Duplicate.class, send(running("r1", 1)));
        assertInstanceOf(Acknowledgement.Applied.class, send(running("r2", 2)));
        assertEquals(List.of(told("r1", 1, TaskEventType.RUNNING, TaskState.RUNNING, 1),
                told("r2", 2, TaskEventType.RUNNING, TaskState.RUNNING, 1)), List.copyOf(told));
        assertEquals(1, engine.stats().stateEventsRetold());
    }

    /**
     * The process stops between the commit and the telling (here: frozen in the store after the
     * commit, then abandoned). An engine started on the same store tells the change before it
     * takes any event.
     */
    @Test
    void aChangeCommittedButNeverToldIsToldAtTheNextStart() throws Exception {
        ConcurrentLinkedQueue<StateEvent> firstSink = new ConcurrentLinkedQueue<>();
        TaskEventEngine crashed = start(firstSink::add, new RetryPolicy(1, Duration.ofMillis(1), Duration.ofMillis(1)));
        store.insert(List.of(TaskInstance.submitted(1, WF, "a", T)));
        CountDownLatch frozen = new CountDownLatch(1);
        store.hangAfterCommit = frozen;
        CompletableFuture<Acknowledgement> neverAcked = crashed.submit(result("x1", 1));
        assertTrue(store.committedAndHanging.await(10, TimeUnit.SECONDS));

        engine = start(told::add, new RetryPolicy(1, Duration.ofMillis(1), Duration.ofMillis(1)));
        assertEquals(List.of(told("x1", 1, TaskEventType.RESULT, TaskState.SUCCESS, 1)), List.copyOf(told),
                "told at start, before any event");
        assertEquals(List.of(), store.pendingStateEvents(100));
        assertEquals(1, engine.stats().stateEventsRetold());

        frozen.countDown();
        assertThrows(ExecutionException.class, () -> neverAcked.get(10, TimeUnit.SECONDS));
        crashed.close(Duration.ofSeconds(5));
        assertEquals(List.of(), List.copyOf(firstSink), "the frozen engine told nothing");
        assertInstanceOf(Acknowledgement.Duplicate.class, send(result("x1", 1)), "the worker's resend");
        assertEquals(1, told.size(), "told once by the engine that took over");
    }

    /**
     * A sink that throws (even an Error) does not fail the ack of a committed change; the change
     * stays in the outbox and is told again before the workflow's next change.
     */
    @Test
    void aSinkThatThrowsAnErrorIsToldAgainBeforeTheWorkflowsNextChange() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        engine = start(event -> {
            if (calls.incrementAndGet() == 1) {
                throw new AssertionError("state machine crashed");
            }
            told.add(event);
        }, new RetryPolicy(1, Duration.ofMillis(1), Duration.ofMillis(1)));
        store.insert(List.of(TaskInstance.submitted(1, WF, "a", T), TaskInstance.submitted(2, WF, "b", T)));

        assertInstanceOf(Acknowledgement.Applied.class, send(running("r1", 1)));
        assertEquals(1, engine.stats().sinkFailures());
        assertInstanceOf(Acknowledgement.Applied.class, send(running("r2", 2)));
        assertEquals(List.of(told("r1", 1, TaskEventType.RUNNING, TaskState.RUNNING, 1),
                told("r2", 2, TaskEventType.RUNNING, TaskState.RUNNING, 1)), List.copyOf(told));
        Await.until(() -> store.pendingStateEvents(100).isEmpty());
    }

    /** Without a sink nothing is recorded: no outbox rows pile up for no one. */
    @Test
    void withoutASinkTheOutboxStaysEmpty() throws Exception {
        engine = start(WorkflowStateSink.NONE, new RetryPolicy(1, Duration.ofMillis(1), Duration.ofMillis(1)));
        store.insert(List.of(TaskInstance.submitted(1, WF, "a", T)));
        assertInstanceOf(Acknowledgement.Applied.class, send(running("r1", 1)));
        assertEquals(List.of(), store.pendingStateEvents(100));
    }

    /** Per workflow, the sink hears every change in commit order, across a commit with an unknown outcome. */
    @Test
    void commitOrderPerWorkflowHoldsAcrossAnAmbiguousCommit() throws Exception {
        engine = start(told::add, new RetryPolicy(5, Duration.ofMillis(1), Duration.ofMillis(2)));
        store.insert(List.of(TaskInstance.submitted(1, WF, "a", T)));
        List<CompletableFuture<Acknowledgement>> acks = new java.util.ArrayList<>();
        acks.add(engine.submit(TaskEvent.builder("d1", TaskEventType.DELAY, WF, 1).eventTime(T).host("w1")
                .startTime(T).build()));
        store.commitsThenFailures.set(1);
        acks.add(engine.submit(running("r1", 1)));
        acks.add(engine.submit(result("x1", 1)));
        for (CompletableFuture<Acknowledgement> ack : acks) {
            assertInstanceOf(Acknowledgement.Applied.class, ack.get(30, TimeUnit.SECONDS));
        }
        assertEquals(List.of(1L, 2L, 3L), told.stream().map(StateEvent::version).toList());
        assertEquals(List.of("d1", "r1", "x1"), told.stream().map(StateEvent::eventId).toList());
        assertEquals(1, engine.stats().writeRetries(), "one write had an unknown outcome");
    }

    /** A store that never removes told entries makes the start fail with the reason, not loop for ever. */
    @Test
    void aStoreThatDoesNotRemoveToldEntriesFailsTheStartInsteadOfLooping() {
        store.insert(List.of(TaskInstance.submitted(1, WF, "a", T)));
        TaskInstance running = new TaskInstance(1, WF, "a", TaskState.RUNNING, "w1", null, null, 0, null, T, null,
                null, null, "r1", 1, T);
        store.delegate.write(new dev.taskevents.api.spi.WriteBatch(List.of(new dev.taskevents.api.spi.RowUpdate(
                running, 0, told("r1", 1, TaskEventType.RUNNING, TaskState.RUNNING, 1)))));
        dev.taskevents.storecontract.ForwardingTaskInstanceStore forgetful =
                new dev.taskevents.storecontract.ForwardingTaskInstanceStore(store.delegate) {
                    @Override
                    public void removeStateEvents(java.util.Collection<StateEvent> toldEvents) {
                        // removes nothing
                    }
                };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> TaskEventEngine.builder()
                .store(forgetful).stateSink(told::add).build());
        assertTrue(e.getMessage().contains("did not remove told state events"), e.getMessage());
    }
}
