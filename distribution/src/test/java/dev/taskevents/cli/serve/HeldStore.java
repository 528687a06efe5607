package dev.taskevents.cli.serve;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A store (memory, or the one given) whose writes can be held at their start, to make commits slow
 * on purpose, whose reads and inserts can be made to fail with a given exception, and which records
 * the workflows the engine loaded.
 */
final class HeldStore extends ForwardingTaskInstanceStore {
    final CountDownLatch writeEntered = new CountDownLatch(1);
    volatile CountDownLatch hold = new CountDownLatch(0);
    /** When set, {@link #find} and {@link #insert} throw it. */
    volatile RuntimeException failWith;
    /** When set, {@link #write} throws it (after any hold). */
    volatile RuntimeException failWritesWith;
    /** The workflow instances {@link #findByWorkflows} was asked for. */
    final Set<Long> loaded = ConcurrentHashMap.newKeySet();

    /** Over a new memory store. */
    HeldStore() {
    }

    /** Over {@code delegate}, which it closes. */
    HeldStore(TaskInstanceStore delegate) {
        super(delegate);
    }

    @Override
    public Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> workflowInstanceIds) {
        Map<Long, List<TaskInstance>> rows = super.findByWorkflows(workflowInstanceIds);
        loaded.addAll(workflowInstanceIds);
        return rows;
    }

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        writeEntered.countDown();
        try {
            hold.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        RuntimeException failure = failWritesWith;
        if (failure != null) {
            throw failure;
        }
        return super.write(batch);
    }

    @Override
    public Optional<TaskInstance> find(long taskInstanceId) {
        RuntimeException failure = failWith;
        if (failure != null) {
            throw failure;
        }
        return super.find(taskInstanceId);
    }

    @Override
    public void insert(List<TaskInstance> rows) {
        RuntimeException failure = failWith;
        if (failure != null) {
            throw failure;
        }
        super.insert(rows);
    }
}
