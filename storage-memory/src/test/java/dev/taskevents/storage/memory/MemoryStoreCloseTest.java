package dev.taskevents.storage.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.testkit.Await;
import java.time.Instant;
import java.util.AbstractCollection;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@code close()} is a barrier: a call on a handle that returns after that handle's close returned
 * has changed nothing. Forced with a second handle of the same named store whose read holds the
 * lock (its collection of ids blocks while being iterated under the lock), a write parked behind
 * that read, and a close started only once the write is parked.
 */
class MemoryStoreCloseTest {

    @Test
    void aWriteParkedBehindAReadDoesNotLandAfterItsHandleClosed() throws Exception {
        String url = "memory:close-barrier-" + System.nanoTime();
        try (TaskInstanceStore reader = Stores.open(url)) {
            TaskInstanceStore writer = Stores.open(url);
            TaskInstance row = TaskInstance.submitted(1, 1, "t", Instant.EPOCH);
            writer.insert(List.of(row));
            CountDownLatch readerHoldsTheLock = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AbstractCollection<Long> blockingIds = new AbstractCollection<>() {
                @Override
                public Iterator<Long> iterator() {
                    readerHoldsTheLock.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return List.of(1L).iterator();
                }

                @Override
                public int size() {
                    return 1;
                }
            };
            Thread read = Thread.ofPlatform().start(() -> reader.findByWorkflows(blockingIds));
            assertTrue(readerHoldsTheLock.await(30, TimeUnit.SECONDS));

            AtomicReference<Object> writeResult = new AtomicReference<>();
            TaskInstance running = new TaskInstance(1, 1, "t", TaskState.RUNNING, "h", null, null, 0, null,
                    Instant.EPOCH, null, null, null, "e1", 1, Instant.EPOCH);
            Thread write = Thread.ofPlatform().start(() -> {
                try {
                    writeResult.set(writer.write(new WriteBatch(List.of(new RowUpdate(running, 0)))));
                } catch (RuntimeException e) {
                    writeResult.set(e);
                }
            });
            // Parked on the store's lock, or done: a thread state, which no latch can report.
            Await.until(() -> write.getState() == Thread.State.WAITING);
            Thread close = Thread.ofPlatform().start(writer::close);
            Await.until(() -> close.getState() == Thread.State.WAITING
                    || close.getState() == Thread.State.TERMINATED);
            boolean closeReturnedFirst = close.getState() == Thread.State.TERMINATED;

            release.countDown();
            read.join(30_000);
            write.join(30_000);
            close.join(30_000);
            assertFalse(write.isAlive() || close.isAlive() || read.isAlive(), "every call returned");
            boolean written = reader.find(1).orElseThrow().state() == TaskState.RUNNING;
            assertFalse(closeReturnedFirst && written, "close() returned while a write was parked, and that write"
                    + " then changed the row: " + writeResult.get());
            assertEquals(written, !(writeResult.get() instanceof StoreException), "the write's answer says whether it"
                    + " changed the row: " + writeResult.get());
        }
    }
}
