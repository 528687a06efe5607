package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.engine.executor.QueueFullException;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Events offered far faster than the store commits (every batch write takes 20 ms): callers must
 * be refused (QueueFullException) rather than queue without bound, the queue must never exceed
 * its bound, every accepted event must be answered, and once the load drops a new event is
 * accepted at once and answered promptly. The oracles are the test's own: how many events it has
 * in flight (counted before each submit, uncounted when refused or answered), the answers it got,
 * and the rows in the store; never the engine's counters.
 *
 * <p>That test's verdict on backpressure depends on the store being slower than the offerers.
 * {@link #whileTheStoreIsHeldExactlyTheBoundIsAcceptedAndAfterItNothingAcceptedIsLost} measures
 * the bound and the losses without timing: it holds the store shut, so the test's own ledger of
 * submits that returned is the queue, and it checks each event's row against what was sent.
 */
class OverloadTest {
    private static final Instant T = Instant.parse("2026-02-01T00:00:00Z");

    /** A memory store whose writes take 20 ms each, like a slow disk. */
    static final class SlowStore extends ForwardingTaskInstanceStore {
        @Override
        public List<WriteOutcome> write(WriteBatch batch) {
            try {
                Thread.sleep(20); // the slowness under test
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return super.write(batch);
        }
    }

    @Test
    void overloadIsRefusedBoundedAndRecovered() throws Exception {
        int maxQueued = 5_000;
        int workflows = 20_000;
        SlowStore store = new SlowStore();
        List<TaskInstance> rows = new ArrayList<>();
        for (int wf = 1; wf <= workflows; wf++) {
            rows.add(TaskInstance.submitted(wf, wf, "t", T));
        }
        store.insert(rows);
        try (TaskEventEngine engine = TaskEventEngine.builder().store(store).maxQueued(maxQueued)
                .maxCommitBatch(200).submitTimeout(Duration.ZERO).build()) {
            AtomicBoolean offering = new AtomicBoolean(true);
            AtomicLong refused = new AtomicLong();
            AtomicLong outstanding = new AtomicLong();
            AtomicLong peakOutstanding = new AtomicLong();
            AtomicLong peakHeap = new AtomicLong();
            ConcurrentLinkedQueue<CompletableFuture<Acknowledgement>> accepted = new ConcurrentLinkedQueue<>();
            Thread sampler = Thread.ofPlatform().daemon().start(() -> {
                Runtime runtime = Runtime.getRuntime();
                while (offering.get()) {
                    peakHeap.accumulateAndGet(runtime.totalMemory() - runtime.freeMemory(), Math::max);
                    Thread.onSpinWait();
                }
            });
            List<Thread> offerers = new ArrayList<>();
            for (int s = 0; s < 4; s++) {
                int first = s + 1;
                offerers.add(Thread.ofPlatform().start(() -> {
                    for (int round = 0; round < 3; round++) {
                        for (int wf = first; wf <= workflows; wf += 4) {
                            TaskEvent event = TaskEvent.builder("r" + wf + "-" + round, TaskEventType.RUNNING, wf, wf)
                                    .eventTime(T).host("w" + round).startTime(T).build();
                            // Counted before the submit: an event is answered before the engine frees
                            // its room, so this count is at least the engine's, plus at most one
                            // not-yet-refused event per offering thread.
                            peakOutstanding.accumulateAndGet(outstanding.incrementAndGet(), Math::max);
                            try {
                                CompletableFuture<Acknowledgement> ack = engine.submit(event);
                                accepted.add(ack.whenComplete((a, e) -> outstanding.decrementAndGet()));
                            } catch (QueueFullException full) {
                                outstanding.decrementAndGet();
                                refused.incrementAndGet();
                            }
                        }
                    }
                }));
            }
            for (Thread offerer : offerers) {
                offerer.join();
            }
            long offered = 3L * workflows;
            long[] appliedPerWorkflow = new long[workflows + 1];
            long answered = 0;
            for (CompletableFuture<Acknowledgement> ack : accepted) {
                Acknowledgement answer = ack.get(2, TimeUnit.MINUTES);
                assertTrue(answer instanceof Acknowledgement.Applied || answer instanceof Acknowledgement.Stale
                        || answer instanceof Acknowledgement.Duplicate, String.valueOf(answer));
                if (answer instanceof Acknowledgement.Applied applied) {
                    appliedPerWorkflow[(int) applied.task().workflowInstanceId()]++;
                }
                answered++;
            }
            offering.set(false);
            sampler.join();
            // Every Applied answer is one change in the store, and no change lacks its answer.
            long wrong = 0;
            long appliedTotal = 0;
            for (int wf = 1; wf <= workflows; wf++) {
                appliedTotal += appliedPerWorkflow[wf];
                if (store.find(wf).orElseThrow().version() != appliedPerWorkflow[wf]) {
                    wrong++;
                }
            }
            int offeringThreads = 4;
            System.out.printf("RELIABILITY overload: offered=%d accepted=%d refused=%d peak-in-flight=%d (bound %d"
                            + " + %d offering threads) peak-heap=%d MiB applied=%d rows-not-matching-answers=%d%n",
                    offered, accepted.size(), refused.get(), peakOutstanding.get(), maxQueued, offeringThreads,
                    peakHeap.get() >> 20, appliedTotal, wrong);
            assertTrue(refused.get() > 0, "the callers must have seen backpressure");
            assertEquals(offered, accepted.size() + refused.get());
            assertTrue(peakOutstanding.get() <= maxQueued + offeringThreads,
                    "in flight " + peakOutstanding.get() + " > bound " + maxQueued + " + " + offeringThreads);
            assertEquals(accepted.size(), answered, "every accepted event answered");
            assertEquals(0, wrong, "each workflow's row changed exactly once per Applied answer");
            assertEquals(0, outstanding.get());

            // Load has dropped: a new event is accepted at once and answered.
            Acknowledgement after = engine.submit(TaskEvent.builder("late", TaskEventType.RESULT, 1, 1).eventTime(T)
                    .state(TaskState.SUCCESS).endTime(T).build()).get(10, TimeUnit.SECONDS);
            assertInstanceOf(Acknowledgement.Applied.class, after);
        }
    }

    /**
     * A memory store whose writes wait at their start until {@link #release} opens, and that
     * records every row the engine hands it: what reached the store, seen from outside the engine.
     */
    static final class GatedStore extends ForwardingTaskInstanceStore {
        final CountDownLatch release = new CountDownLatch(1);
        final CountDownLatch writeEntered = new CountDownLatch(1);
        final ConcurrentLinkedQueue<Long> written = new ConcurrentLinkedQueue<>();

        @Override
        public List<WriteOutcome> write(WriteBatch batch) {
            writeEntered.countDown();
            try {
                if (!release.await(2, TimeUnit.MINUTES)) {
                    throw new IllegalStateException("the test never released the store");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            batch.updates().forEach(u -> written.add(u.row().id()));
            return super.write(batch);
        }
    }

    /**
     * The bound, measured from outside: while the store holds every write, nothing the engine
     * accepted can finish, so the number of submits that returned (the test's ledger) is the number
     * of events queued, and it must be exactly {@code maxQueued}, with every later submit refused
     * at once. Then the store is let go: every accepted event is answered Applied and its row holds
     * exactly that event's change; every refused event's row is untouched; the store was handed
     * exactly the accepted events, each once. Four threads offer at once; the verdict depends on no
     * timing, because nothing completes until the test opens the gate.
     */
    @Test
    void whileTheStoreIsHeldExactlyTheBoundIsAcceptedAndAfterItNothingAcceptedIsLost() throws Exception {
        int maxQueued = 500;
        int workflows = 2_000;
        int offeringThreads = 4;
        GatedStore store = new GatedStore();
        List<TaskInstance> rows = new ArrayList<>();
        for (int wf = 1; wf <= workflows; wf++) {
            rows.add(TaskInstance.submitted(wf, wf, "t", T));
        }
        store.insert(rows);
        try (TaskEventEngine engine = TaskEventEngine.builder().store(store).maxQueued(maxQueued)
                .maxCommitBatch(100).submitTimeout(Duration.ZERO).build()) {
            Map<Long, TaskEvent> offered = new ConcurrentHashMap<>();
            Map<Long, CompletableFuture<Acknowledgement>> accepted = new ConcurrentHashMap<>();
            Set<Long> refused = ConcurrentHashMap.newKeySet();
            List<Thread> offerers = new ArrayList<>();
            for (int s = 0; s < offeringThreads; s++) {
                int first = s + 1;
                offerers.add(Thread.ofPlatform().start(() -> {
                    for (long wf = first; wf <= workflows; wf += offeringThreads) {
                        TaskEvent event = TaskEvent.builder("r" + wf, TaskEventType.RUNNING, wf, wf).eventTime(T)
                                .host("w" + wf).startTime(T).processId((int) wf).build();
                        offered.put(wf, event);
                        try {
                            accepted.put(wf, engine.submit(event));
                        } catch (QueueFullException full) {
                            refused.add(wf);
                        }
                    }
                }));
            }
            for (Thread offerer : offerers) {
                offerer.join(TimeUnit.MINUTES.toMillis(2));
                assertFalse(offerer.isAlive(), "an offering thread is stuck");
            }
            assertTrue(store.writeEntered.await(30, TimeUnit.SECONDS), "no write reached the store");
            System.out.printf("RELIABILITY overload-held: offered=%d accepted-while-held=%d (bound %d) refused=%d%n",
                    offered.size(), accepted.size(), maxQueued, refused.size());
            assertEquals(workflows, offered.size());
            assertEquals(maxQueued, accepted.size(), "events accepted while none can finish: the queue's peak");
            assertEquals(workflows - maxQueued, refused.size(), "every other event refused at once");
            assertEquals(List.of(), accepted.entrySet().stream().filter(e -> e.getValue().isDone())
                    .map(Map.Entry::getKey).toList(), "answered before its write was durable");

            store.release.countDown();
            try {
                CompletableFuture.allOf(accepted.values().toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException notAll) {
                // named below
            }
            assertEquals(List.of(), accepted.entrySet().stream().filter(e -> !e.getValue().isDone())
                    .map(Map.Entry::getKey).sorted().toList(), "accepted, yet unanswered 30 s after the store was let go");
            for (Map.Entry<Long, CompletableFuture<Acknowledgement>> entry : accepted.entrySet()) {
                Acknowledgement answer = entry.getValue().get();
                Acknowledgement.Applied applied = assertInstanceOf(Acknowledgement.Applied.class, answer,
                        "workflow " + entry.getKey());
                assertEquals(offered.get(entry.getKey()).eventId(), applied.eventId());
            }
            List<Long> lost = new ArrayList<>();
            for (long wf = 1; wf <= workflows; wf++) {
                TaskInstance row = store.delegate.find(wf).orElseThrow();
                TaskEvent event = offered.get(wf);
                boolean changedAsTheEventSays = row.version() == 1 && row.state() == TaskState.RUNNING
                        && event.host().equals(row.host()) && row.processId() == event.processId()
                        && event.eventId().equals(row.lastEventId());
                if (accepted.containsKey(wf) && !changedAsTheEventSays) {
                    lost.add(wf);
                }
                if (refused.contains(wf)) {
                    assertEquals(0, row.version(), "refused event " + event.eventId() + " changed its row");
                }
            }
            assertEquals(List.of(), lost, "accepted and answered, but not stored as sent");
            List<Long> handed = new ArrayList<>(store.written);
            handed.sort(null);
            assertEquals(accepted.keySet().stream().sorted().toList(), handed,
                    "the store must be handed exactly the accepted events, each once");

            // The gate is open and the queue empty: a new event is accepted at once and stored.
            long late = refused.iterator().next();
            assertInstanceOf(Acknowledgement.Applied.class, engine.submit(offered.get(late)).get(30, TimeUnit.SECONDS));
            assertEquals(1, store.delegate.find(late).orElseThrow().version());
        }
    }
}
