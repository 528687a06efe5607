package dev.taskevents.engine.cache;

import com.github.benmanes.caffeine.cache.AsyncCacheLoader;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.batch.Batcher;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.stream.Collectors;

/**
 * Loads the workflow snapshots the cache misses, many workflows per query: misses that arrive
 * while a load is running are gathered ({@link Batcher}) and loaded together by
 * {@link TaskInstanceStore#findByWorkflows}. A burst of first events for thousands of workflows
 * costs a few queries, not thousands. A failed load fails each of its futures (Caffeine then
 * forgets the entry, and the event's future fails with the reason).
 */
public final class SnapshotLoader implements AsyncCacheLoader<Long, WorkflowSnapshot> {
    private final TaskInstanceStore store;
    private final Batcher<Miss> batcher;

    /**
     * @param executor runs the loads (they block)
     * @param maxBatch the most workflows one load reads
     * @param maxConcurrent the most loads in flight at once
     */
    public SnapshotLoader(TaskInstanceStore store, Executor executor, int maxBatch, int maxConcurrent) {
        this.store = store;
        this.batcher = new Batcher<>(executor, maxBatch, maxConcurrent, this::load,
                (misses, e) -> misses.forEach(m -> m.result.completeExceptionally(
                        new IllegalStateException("the engine is closing; workflow instance " + m.workflowInstanceId
                                + " was not loaded", e))));
    }

    @Override
    public CompletableFuture<WorkflowSnapshot> asyncLoad(Long workflowInstanceId, Executor ignored) {
        Miss miss = new Miss(workflowInstanceId, new CompletableFuture<>());
        batcher.add(miss);
        return miss.result;
    }

    private void load(List<Miss> misses) {
        Map<Long, List<TaskInstance>> rows;
        try {
            rows = store.findByWorkflows(misses.stream().map(Miss::workflowInstanceId).collect(Collectors.toSet()));
        } catch (Throwable e) {
            misses.forEach(m -> m.result.completeExceptionally(e));
            return;
        }
        // Each miss is completed on its own: a store answer that one snapshot refuses (rows of
        // another workflow, a null list) fails that miss, never leaves the others waiting.
        for (Miss miss : misses) {
            try {
                miss.result.complete(new WorkflowSnapshot(miss.workflowInstanceId,
                        rows.getOrDefault(miss.workflowInstanceId, List.of())));
            } catch (Throwable e) {
                miss.result.completeExceptionally(e);
            }
        }
    }

    private record Miss(long workflowInstanceId, CompletableFuture<WorkflowSnapshot> result) {}
}
