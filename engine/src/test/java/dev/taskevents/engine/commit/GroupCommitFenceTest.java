package dev.taskevents.engine.commit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.engine.RetryPolicy;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode in the group committer: each batch goes to the store under the fence of its rows'
 * epochs, and of two epochs of one shard in one batch (a shard lost and taken again while a row
 * waited) the older rows are answered FENCED without being sent. The flusher is the test's own
 * queue, so which rows share a batch is decided here.
 */
class GroupCommitFenceTest {
    private static final Instant T = Instant.parse("2026-05-01T10:00:00Z");
    private static final int SHARDS = 4;

    private static final class HeldExecutor implements Executor {
        private final ArrayDeque<Runnable> queued = new ArrayDeque<>();

        @Override
        public void execute(Runnable command) {
            queued.add(command);
        }

        void runAll() {
            for (Runnable r; (r = queued.poll()) != null; ) {
                r.run();
            }
        }
    }

    private static final class RecordingStore extends ForwardingTaskInstanceStore {
        final List<WriteBatch> batches = new ArrayList<>();

        @Override
        public List<WriteOutcome> write(WriteBatch batch) {
            batches.add(batch);
            return batch.updates().stream().map(u -> WriteOutcome.APPLIED).toList();
        }
    }

    private static RowUpdate update(long id, long workflow) {
        return new RowUpdate(new TaskInstance(id, workflow, "t", TaskState.RUNNING, "h", null, null, 0, null, T, null,
                null, null, "e" + id, 1, T), 0);
    }

    /** The first workflow id from {@code from} on whose shard is {@code shard}. */
    private static long workflowIn(int shard, long from) {
        long id = from;
        while (Shards.of(id, SHARDS) != shard) {
            id++;
        }
        return id;
    }

    @Test
    void rowsOfAnOlderEpochOfAShardInTheBatchAreAnsweredFencedUnsentAndTheRestGoUnderOneFence() throws Exception {
        RecordingStore store = new RecordingStore();
        HeldExecutor flusher = new HeldExecutor();
        long wfA1 = workflowIn(1, 1);
        long wfA2 = workflowIn(1, wfA1 + 1);
        long wfB = workflowIn(2, 1);
        try (store) {
            GroupCommitter committer = new GroupCommitter(store, flusher, Runnable::run,
                    GroupCommitter.Settings.of(100, 1, new RetryPolicy(1, Duration.ZERO, Duration.ZERO)).fenced(SHARDS));
            CompletableFuture<Commit> old = committer.write(update(10, wfA1), 3);
            CompletableFuture<Commit> current = committer.write(update(20, wfA2), 5);
            CompletableFuture<Commit> other = committer.write(update(30, wfB), 1);
            flusher.runAll();

            assertEquals(new Commit(WriteOutcome.FENCED, false), old.getNow(null));
            assertEquals(new Commit(WriteOutcome.APPLIED, false), current.getNow(null));
            assertEquals(new Commit(WriteOutcome.APPLIED, false), other.getNow(null));
            assertEquals(1, store.batches.size(), "one batch");
            WriteBatch sent = store.batches.getFirst();
            assertEquals(List.of(20L, 30L), sent.updates().stream().map(u -> u.row().id()).toList(),
                    "the row of the older epoch was not sent");
            assertEquals(SHARDS, sent.fence().shardCount());
            assertEquals(Map.of(1, 5L, 2, 1L), sent.fence().epochs());
        }
    }

    @Test
    void outsideClusterModeTheBatchHasNoFenceAndAnEpochIsRefused() throws Exception {
        RecordingStore store = new RecordingStore();
        HeldExecutor flusher = new HeldExecutor();
        try (store) {
            GroupCommitter plain = new GroupCommitter(store, flusher, Runnable::run,
                    GroupCommitter.Settings.of(100, 1, new RetryPolicy(1, Duration.ZERO, Duration.ZERO)));
            CompletableFuture<Commit> c = plain.write(update(10, 1));
            flusher.runAll();
            assertEquals(WriteOutcome.APPLIED, c.getNow(null).outcome());
            assertTrue(!store.batches.getFirst().fence().fenced());
            assertThrows(IllegalArgumentException.class, () -> plain.write(update(11, 1), 2));
            GroupCommitter fenced = new GroupCommitter(store, flusher, Runnable::run,
                    GroupCommitter.Settings.of(100, 1, new RetryPolicy(1, Duration.ZERO, Duration.ZERO)).fenced(SHARDS));
            assertThrows(IllegalArgumentException.class, () -> fenced.write(update(12, 1)));
        }
    }
}
