package dev.taskevents.engine;

import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A memory store (opened through ServiceLoader) that tests can hold at the start of a write, make
 * fail a number of times, and ask what batches it was given.
 */
final class TestStore extends ForwardingTaskInstanceStore {
    final ConcurrentLinkedQueue<Integer> batchSizes = new ConcurrentLinkedQueue<>();
    final AtomicInteger failuresToInject = new AtomicInteger();
    final CountDownLatch writeEntered = new CountDownLatch(1);
    volatile CountDownLatch writesEntered = new CountDownLatch(0);
    volatile CountDownLatch holdWrites = new CountDownLatch(0);
    volatile Error errorOnWrite;

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        writeEntered.countDown();
        writesEntered.countDown();
        try {
            if (!holdWrites.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("test never released the held write");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted", e);
        }
        Error error = errorOnWrite;
        if (error != null) {
            errorOnWrite = null;
            throw error;
        }
        if (failuresToInject.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new StoreException("injected failure: connection reset");
        }
        batchSizes.add(batch.updates().size());
        return super.write(batch);
    }
}
