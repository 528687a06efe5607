package dev.taskevents.engine.commit;

import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardFence;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.engine.RetryPolicy;
import dev.taskevents.engine.StageLatencies.Stage;
import dev.taskevents.engine.batch.Batcher;
import dev.taskevents.engine.timing.StageTimer;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.LongAdder;

/**
 * Group commit: row updates from many workflow instances go to the store as one
 * {@link WriteBatch}, so throughput is bounded by the store's batch speed, not by one commit per
 * event. While one batch commits, the next one gathers.
 *
 * <h2>Implementation notes</h2>
 * The batching is a {@link Batcher} with up to {@code maxFlushers} batches in flight, each in its
 * own transaction, so one batch's completions (acks, state events) overlap the next one's commit.
 *
 * <p>Concurrent batches never hold the same row: a workflow has at most one write in flight (its
 * next event waits for the ack), and rows are locked in id order, so they cannot deadlock.
 *
 * <p>A batch that fails with {@link StoreException} is retried whole with exponential backoff,
 * holding its rows' futures (so their workflows wait, in order) until {@code maxAttempts}; then
 * their futures fail with the last error. Any other exception is the store refusing input, not
 * being down: a batch of several rows is then split into single-row batches so that only the
 * offending row fails. A row's future completes only after {@code store.write} returned: no one
 * learns of a write before it is durable.
 *
 * <p>A retry after a {@code StoreException} may find that the failed attempt did commit: its rows
 * then report {@code VERSION_CONFLICT}. Each result says whether the batch had such an ambiguous
 * attempt ({@link Commit#ambiguous()}), so that the engine checks whether the row it finds is its
 * own write rather than taking it for another writer's.
 *
 * <p>The futures of a batch are completed on the completion executor, not on the flusher: their
 * dependents (state sink, acknowledgements, the callbacks of whoever submitted) then cannot hold
 * up the next batch write, whatever they do. If that executor is shut down, they complete on the
 * flusher, which still answers every row.
 *
 * <p>Cluster mode ({@code shardCount > 0}): every row carries the epoch of the shard tenure it
 * was decided under, and each batch is written under the {@link ShardFence} of its rows' epochs.
 * Should one batch hold two epochs of one shard (the shard was lost and taken again while a row
 * waited), the rows of the older epoch are answered {@link WriteOutcome#FENCED} without being
 * sent: the store would fence them anyway, and a fence holds one epoch per shard.
 */
public final class GroupCommitter {
    private static final System.Logger LOG = System.getLogger(GroupCommitter.class.getName());

    private final TaskInstanceStore store;
    /** The cluster's shard count; 0 outside cluster mode (no fence). */
    private final int shardCount;
    private final Set<StateEventLog> recordIn;
    private final RetryPolicy retry;
    private final Batcher<PendingWrite> batcher;
    private final LongAdder batches = new LongAdder();
    private final LongAdder rows = new LongAdder();
    private final LongAdder retries = new LongAdder();
    private final LongAdder unanswered = new LongAdder();

    private final Executor completions;
    private final StageTimer timer;

    /**
     * How the committer batches and retries.
     *
     * @param maxBatch the most rows in one batch
     * @param maxFlushers the most batches in flight at once, each in its own transaction
     * @param retry how a batch that failed with a {@link StoreException} is retried
     * @param shardCount the cluster's shard count, or 0 outside cluster mode (no fence)
     * @param recordIn where each batch records its notifications ({@link WriteBatch#recordIn()})
     */
    public record Settings(int maxBatch, int maxFlushers, RetryPolicy retry, int shardCount, Set<StateEventLog> recordIn) {
        public Settings {
            recordIn = Set.copyOf(recordIn);
        }

        /** Outside cluster mode, recording in the outbox. */
        public static Settings of(int maxBatch, int maxFlushers, RetryPolicy retry) {
            return new Settings(maxBatch, maxFlushers, retry, 0, Set.of(StateEventLog.OUTBOX));
        }

        /** These settings, each batch written under a {@link ShardFence} of {@code shards} shards. */
        public Settings fenced(int shards) {
            return new Settings(maxBatch, maxFlushers, retry, shards, recordIn);
        }

        /** These settings, each batch recording its notifications in {@code records}. */
        public Settings recordingIn(Set<StateEventLog> records) {
            return new Settings(maxBatch, maxFlushers, retry, shardCount, records);
        }
    }

    /**
     * @param flusherExecutor runs the batch writes (they block: give it virtual threads)
     * @param completions completes the rows' futures, so that their dependents run off the flusher
     */
    public GroupCommitter(TaskInstanceStore store, Executor flusherExecutor, Executor completions, Settings settings) {
        this(store, flusherExecutor, completions, settings, new StageTimer());
    }

    /** @param timer where the batch wait, the store's write and the completion delay of each row are recorded */
    public GroupCommitter(TaskInstanceStore store, Executor flusherExecutor, Executor completions, Settings settings,
                          StageTimer timer) {
        this.timer = timer;
        this.recordIn = settings.recordIn();
        this.store = store;
        this.shardCount = settings.shardCount();
        this.retry = settings.retry();
        this.completions = completions;
        this.batcher = new Batcher<>(flusherExecutor, settings.maxBatch(), settings.maxFlushers(), this::commitOrFail,
                (rejected, e) -> rejected.forEach(p -> p.result.completeExceptionally(new StoreException(
                        "the engine is closing: the update of task instance " + p.update.row().id()
                                + " was not written", e))));
    }

    /**
     * Queues {@code update}; the future completes with its outcome once its batch was written, or
     * fails with the reason it could not be (the write's outcome is then unknown).
     */
    public CompletableFuture<Commit> write(RowUpdate update) {
        return write(update, NO_EPOCH);
    }

    /**
     * Cluster mode: as {@link #write(RowUpdate)}, written under {@code epoch} for the row's shard.
     *
     * @param epoch the epoch of the tenure the row was decided under
     */
    public CompletableFuture<Commit> write(RowUpdate update, long epoch) {
        if ((shardCount > 0) != (epoch != NO_EPOCH)) {
            throw new IllegalArgumentException(shardCount > 0
                    ? "cluster mode: the update of task instance " + update.row().id() + " needs its shard's epoch"
                    : "an epoch (" + epoch + ") outside cluster mode");
        }
        PendingWrite pending = new PendingWrite(update, epoch, new CompletableFuture<>(), System.nanoTime());
        unanswered.increment();
        pending.result.whenComplete((commit, error) -> unanswered.decrement());
        batcher.add(pending);
        return pending.result;
    }

    private static final long NO_EPOCH = -1;

    /** Every future of the batch completes, whatever happens: a write never stays unanswered. */
    private void commitOrFail(List<PendingWrite> batch) {
        long started = System.nanoTime();
        for (PendingWrite p : batch) {
            timer.record(Stage.BATCH_WAIT, started - p.queuedAt);
        }
        try {
            commit(batch, false);
        } catch (Throwable e) {
            // Logged before the answer (a client that is answered finds the error in the log), and
            // answered even if logging throws: a write never stays unanswered.
            try {
                LOG.log(Level.ERROR, "writing a batch of " + batch.size() + " rows failed unexpectedly",
                        LoggedFailure.of(e));
            } finally {
                completeOffFlusher(() -> failAll(batch, e));
            }
        }
    }

    /** Runs {@code completion} on the completion executor, or here if that one refuses. */
    private void completeOffFlusher(Runnable completion) {
        try {
            completions.execute(completion);
        } catch (RejectedExecutionException e) {
            completion.run();
        }
    }

    private static void failAll(List<PendingWrite> batch, Throwable error) {
        batch.forEach(p -> p.result.completeExceptionally(error));
    }

    private void commit(List<PendingWrite> given, boolean ambiguousBefore) {
        // Rows in id order: stores lock in that order, and so concurrent batches cannot deadlock.
        given.sort(Comparator.comparingLong(p -> p.update.row().id()));
        List<PendingWrite> batch = shardCount > 0 ? withoutOlderEpochs(given, ambiguousBefore) : given;
        if (batch.isEmpty()) {
            return;
        }
        ShardFence fence = shardCount > 0 ? fenceOf(batch) : ShardFence.NONE;
        List<RowUpdate> updates = batch.stream().map(PendingWrite::update).toList();

        Duration backoff = retry.initialBackoff();
        boolean ambiguous = ambiguousBefore;
        for (int attempt = 1; ; attempt++) {
            List<WriteOutcome> outcomes;
            long writeStart = System.nanoTime();
            try {
                outcomes = store.write(new WriteBatch(updates, fence, recordIn));
            } catch (StoreException e) {
                if (attempt >= retry.maxAttempts()) {
                    StoreException failure = new StoreException("writing " + batch.size()
                            + " task instance updates failed " + attempt + " times; last error: " + e.getMessage(), e);
                    try {
                        LOG.log(Level.ERROR, failure.getMessage(), LoggedFailure.of(e));
                    } finally {
                        completeOffFlusher(() -> failAll(batch, failure));
                    }
                    return;
                }
                ambiguous = true;
                retries.increment();
                LOG.log(Level.WARNING, "writing " + batch.size() + " task instance updates failed (attempt "
                        + attempt + " of " + retry.maxAttempts() + "), retrying in " + backoff.toMillis() + " ms: "
                        + e.getMessage());
                if (!sleep(backoff)) {
                    StoreException interrupted = new StoreException("interrupted while retrying a failed write", e);
                    completeOffFlusher(() -> failAll(batch, interrupted));
                    return;
                }
                backoff = retry.next(backoff);
                continue;
            } catch (RuntimeException e) {
                if (batch.size() > 1) {
                    LOG.log(Level.WARNING, "the store refused a batch of " + batch.size()
                            + " rows; writing them one by one to find the row it refuses: " + LoggedFailure.of(e));
                    for (PendingWrite single : batch) {
                        try {
                            commit(new ArrayList<>(List.of(single)), ambiguous);
                        } catch (Throwable t) {
                            // This row alone: the rows before it may have committed, and their
                            // answers are on their way; failing the whole batch would race them.
                            try {
                                LOG.log(Level.ERROR, "writing task instance " + single.update.row().id()
                                        + " failed unexpectedly", LoggedFailure.of(t));
                            } finally {
                                completeOffFlusher(() -> failAll(List.of(single), t));
                            }
                        }
                    }
                } else {
                    completeOffFlusher(() -> failAll(batch, e));
                }
                return;
            }
            if (outcomes.size() != batch.size()) {
                IllegalStateException broken = new IllegalStateException("store " + store.getClass().getName()
                        + " returned " + outcomes.size() + " outcomes for " + batch.size() + " updates");
                completeOffFlusher(() -> failAll(batch, broken));
                return;
            }
            batches.increment();
            rows.add(batch.size());
            long written = System.nanoTime();
            timer.record(Stage.STORE_WRITE, written - writeStart, batch.size());
            boolean hadUnknownOutcome = ambiguous;
            completeOffFlusher(() -> {
                timer.record(Stage.COMPLETION, System.nanoTime() - written, batch.size());
                for (int i = 0; i < batch.size(); i++) {
                    batch.get(i).result.complete(new Commit(outcomes.get(i), hadUnknownOutcome));
                }
            });
            return;
        }
    }

    private static boolean sleep(Duration backoff) {
        try {
            Thread.sleep(backoff);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Row updates queued and not yet taken into a batch. */
    public long waiting() {
        return batcher.waiting();
    }

    /** Rows given to {@link #write} and not answered yet: waiting, or in a batch being written or retried. */
    public long unanswered() {
        return unanswered.sum();
    }

    /** Batches written so far. */
    public long batches() {
        return batches.sum();
    }

    /** Rows written so far (all outcomes). */
    public long rows() {
        return rows.sum();
    }

    /** Batch attempts that failed and were retried. */
    public long retries() {
        return retries.sum();
    }

    /**
     * The rows of the newest epoch of each shard; the others are answered FENCED here, unsent
     * (a fence holds one epoch per shard, and the store would fence them anyway).
     */
    private List<PendingWrite> withoutOlderEpochs(List<PendingWrite> batch, boolean ambiguousBefore) {
        Map<Integer, Long> newest = new HashMap<>();
        for (PendingWrite p : batch) {
            newest.merge(shardOf(p), p.epoch, Math::max);
        }
        List<PendingWrite> older = batch.stream().filter(p -> p.epoch < newest.get(shardOf(p))).toList();
        if (older.isEmpty()) {
            return batch;
        }
        completeOffFlusher(() -> older.forEach(p -> p.result.complete(new Commit(WriteOutcome.FENCED, ambiguousBefore))));
        return new ArrayList<>(batch.stream().filter(p -> p.epoch == newest.get(shardOf(p))).toList());
    }

    private ShardFence fenceOf(List<PendingWrite> batch) {
        Map<Integer, Long> epochs = new HashMap<>();
        for (PendingWrite p : batch) {
            epochs.put(shardOf(p), p.epoch);
        }
        return new ShardFence(shardCount, epochs);
    }

    private int shardOf(PendingWrite p) {
        return dev.taskevents.api.Shards.of(p.update.row().workflowInstanceId(), shardCount);
    }

    /** @param queuedAt {@link System#nanoTime()} when it was given to {@link #write} */
    private record PendingWrite(RowUpdate update, long epoch, CompletableFuture<Commit> result, long queuedAt) {}
}
