package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Events offered far faster than the store commits (every batch write takes 20 ms): callers must
 * be refused (QueueFullException) rather than queue without bound, the queue must never exceed
 * its bound, every accepted event must be answered, and once the load drops a new event is
 * accepted at once and answered promptly.
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
            AtomicLong peakQueued = new AtomicLong();
            AtomicLong peakHeap = new AtomicLong();
            ConcurrentLinkedQueue<CompletableFuture<Acknowledgement>> accepted = new ConcurrentLinkedQueue<>();
            Thread sampler = Thread.ofPlatform().daemon().start(() -> {
                Runtime runtime = Runtime.getRuntime();
                while (offering.get()) {
                    peakQueued.accumulateAndGet(engine.stats().queued(), Math::max);
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
                            try {
                                accepted.add(engine.submit(event));
                            } catch (QueueFullException full) {
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
            for (CompletableFuture<Acknowledgement> ack : accepted) {
                Acknowledgement answer = ack.get(2, TimeUnit.MINUTES);
                assertTrue(answer instanceof Acknowledgement.Applied || answer instanceof Acknowledgement.Stale
                        || answer instanceof Acknowledgement.Duplicate, String.valueOf(answer));
            }
            offering.set(false);
            sampler.join();
            EngineStats stats = engine.stats();
            System.out.printf("RELIABILITY overload: offered=%d accepted=%d refused=%d peak-queued=%d (bound %d)"
                            + " peak-heap=%d MiB applied=%d lost=%d%n", offered, accepted.size(), refused.get(),
                    peakQueued.get(), maxQueued, peakHeap.get() >> 20, stats.applied(),
                    accepted.size() - (stats.applied() + stats.duplicates() + stats.stale()));
            assertTrue(refused.get() > 0, "the callers must have seen backpressure");
            assertEquals(offered, accepted.size() + refused.get());
            assertTrue(peakQueued.get() <= maxQueued, "queued " + peakQueued.get() + " > bound " + maxQueued);
            assertEquals(accepted.size(), stats.applied() + stats.duplicates() + stats.stale(),
                    "every accepted event answered once");
            assertEquals(0, stats.queued());

            // Load has dropped: a new event is accepted at once and answered.
            Acknowledgement after = engine.submit(TaskEvent.builder("late", TaskEventType.RESULT, 1, 1).eventTime(T)
                    .state(TaskState.SUCCESS).endTime(T).build()).get(10, TimeUnit.SECONDS);
            assertInstanceOf(Acknowledgement.Applied.class, after);
        }
    }
}
