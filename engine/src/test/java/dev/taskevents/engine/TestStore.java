package dev.taskevents.engine;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A memory store (opened through ServiceLoader) that tests can hold at the start of a write, make
 * fail a number of times (before committing, or after: the unknown outcome of a connection lost
 * during COMMIT), hold or fail snapshot loads, and ask what batches it was given.
 */
final class TestStore extends ForwardingTaskInstanceStore {
    final ConcurrentLinkedQueue<Integer> batchSizes = new ConcurrentLinkedQueue<>();
    final ConcurrentLinkedQueue<Thread> writeThreads = new ConcurrentLinkedQueue<>();
    final AtomicInteger failuresToInject = new AtomicInteger();
    /** Writes that commit and then throw, as when the connection dies during COMMIT. */
    final AtomicInteger commitsThenFailures = new AtomicInteger();
    final CountDownLatch writeEntered = new CountDownLatch(1);
    volatile CountDownLatch writesEntered = new CountDownLatch(0);
    volatile CountDownLatch holdWrites = new CountDownLatch(0);
    /** Set: the next write commits, then waits here (a process frozen between commit and telling). */
    volatile CountDownLatch hangAfterCommit;
    final CountDownLatch committedAndHanging = new CountDownLatch(1);
    volatile Error errorOnWrite;
    /** A task instance whose change the store refuses as invalid input (0: none). */
    volatile long refusedTask;
    /** Scripted faults, one per write call in order; an empty script injects nothing. */
    final ConcurrentLinkedQueue<Fault> script = new ConcurrentLinkedQueue<>();

    enum Fault { NONE, BEFORE_COMMIT, AFTER_COMMIT }
    volatile CountDownLatch holdLoads = new CountDownLatch(0);
    final AtomicInteger loadFailuresToInject = new AtomicInteger();
    volatile CountDownLatch loadsEntered = new CountDownLatch(0);

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        writeThreads.add(Thread.currentThread());
        writeEntered.countDown();
        writesEntered.countDown();
        await(holdWrites);
        Error error = errorOnWrite;
        if (error != null) {
            errorOnWrite = null;
            throw error;
        }
        long refused = refusedTask;
        if (batch.updates().stream().anyMatch(u -> u.row().id() == refused)) {
            throw new IllegalArgumentException("value out of range for task instance " + refused);
        }
        Fault fault = script.poll();
        if (failuresToInject.getAndUpdate(n -> Math.max(0, n - 1)) > 0 || fault == Fault.BEFORE_COMMIT) {
            throw new StoreException("injected failure: connection reset");
        }
        batchSizes.add(batch.updates().size());
        List<WriteOutcome> outcomes = super.write(batch);
        CountDownLatch hang = hangAfterCommit;
        if (hang != null) {
            hangAfterCommit = null;
            committedAndHanging.countDown();
            await(hang);
            throw new StoreException("injected failure after commit: the process was frozen");
        }
        if (commitsThenFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0 || fault == Fault.AFTER_COMMIT) {
            throw new StoreException("injected failure after commit: connection lost during COMMIT");
        }
        return outcomes;
    }

    @Override
    public Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> workflowInstanceIds) {
        loadsEntered.countDown();
        await(holdLoads);
        if (loadFailuresToInject.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new StoreException("injected load failure");
        }
        return super.findByWorkflows(workflowInstanceIds);
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("test never released a held store call");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted", e);
        }
    }
}
