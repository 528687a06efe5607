package dev.taskevents.cli.serve;

import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A memory store whose writes can be held at their start, to make commits slow on purpose. */
final class HeldStore implements TaskInstanceStore {
    final TaskInstanceStore delegate = Stores.open("memory:");
    final CountDownLatch writeEntered = new CountDownLatch(1);
    volatile CountDownLatch hold = new CountDownLatch(0);

    @Override
    public Optional<TaskInstance> find(long id) {
        return delegate.find(id);
    }

    @Override
    public List<TaskInstance> findByWorkflow(long id) {
        return delegate.findByWorkflow(id);
    }

    @Override
    public void insert(List<TaskInstance> rows) {
        delegate.insert(rows);
    }

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        writeEntered.countDown();
        try {
            hold.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return delegate.write(batch);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
