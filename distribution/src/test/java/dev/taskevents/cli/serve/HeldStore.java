package dev.taskevents.cli.serve;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A memory store whose writes can be held at their start, to make commits slow on purpose, and
 * whose reads and inserts can be made to fail with a given exception.
 */
final class HeldStore extends ForwardingTaskInstanceStore {
    final CountDownLatch writeEntered = new CountDownLatch(1);
    volatile CountDownLatch hold = new CountDownLatch(0);
    /** When set, {@link #find} and {@link #insert} throw it. */
    volatile RuntimeException failWith;
    /** When set, {@link #write} throws it (after any hold). */
    volatile RuntimeException failWritesWith;

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
