package dev.taskevents.storecontract;

import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The unknown outcome made deterministic: every {@code period}-th batch write commits in the
 * delegate and then throws {@link StoreException}, as when the connection dies during COMMIT.
 * Counts the writes it did that to, so a test knows the fault happened.
 */
public final class CommitThenFailStore extends ForwardingTaskInstanceStore {
    private final int period;
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong committedThenFailed = new AtomicLong();

    public CommitThenFailStore(TaskInstanceStore delegate, int period) {
        super(delegate);
        if (period < 1) {
            throw new IllegalArgumentException("period must be at least 1, was " + period);
        }
        this.period = period;
    }

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        List<WriteOutcome> outcomes = super.write(batch);
        if (writes.incrementAndGet() % period == 0 && outcomes.contains(WriteOutcome.APPLIED)) {
            committedThenFailed.incrementAndGet();
            throw new StoreException("injected: the batch committed, then the connection was lost");
        }
        return outcomes;
    }

    /** Writes that committed at least one row and then threw. */
    public long committedThenFailed() {
        return committedThenFailed.get();
    }
}
