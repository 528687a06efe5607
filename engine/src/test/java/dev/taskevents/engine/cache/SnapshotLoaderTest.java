package dev.taskevents.engine.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SnapshotLoaderTest {
    private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");

    /**
     * A store whose answer one snapshot refuses (a row of another workflow in workflow 666's
     * list) fails that miss alone; the other miss of the same batch still completes. The batch is
     * forced: the flusher runs only when the test runs it, after both misses are queued.
     */
    @Test
    void aMissTheSnapshotRefusesFailsAloneAndTheOthersOfItsBatchComplete() throws Exception {
        TaskInstance stray = TaskInstance.submitted(1, 1, "of workflow 1", T);
        TaskInstance good = TaskInstance.submitted(2, 7, "of workflow 7", T);
        ForwardingTaskInstanceStore store = new ForwardingTaskInstanceStore() {
            @Override
            public Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> ids) {
                return Map.of(666L, List.of(stray), 7L, List.of(good));
            }
        };
        Queue<Runnable> flushers = new ArrayDeque<>();
        Executor held = flushers::add;
        SnapshotLoader loader = new SnapshotLoader(store, held, 500, 1);
        CompletableFuture<WorkflowSnapshot> refused = loader.asyncLoad(666L, held);
        CompletableFuture<WorkflowSnapshot> fine = loader.asyncLoad(7L, held);
        assertEquals(1, flushers.size(), "one flusher, started by the first miss");
        flushers.poll().run();

        assertTrue(refused.isCompletedExceptionally(), "workflow 666's snapshot cannot hold workflow 1's row");
        assertEquals(good, fine.get(1, TimeUnit.SECONDS).get(2));
        store.close();
    }
}
