package dev.taskevents.engine.commit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.engine.RetryPolicy;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * What the group committer hands the store and answers its callers, with the flusher run by the
 * test's own thread (a queue of runnables), so that which rows share a batch is decided by the
 * test, not by thread timing: the rows of a batch reach the store in id order (stores lock in that
 * order), a store that answers the wrong number of outcomes fails every row of the batch, and an
 * interrupt during a retry's back-off fails the batch at once and keeps the interrupt. Every row
 * of a batch gets its own answer, also when writing it fails in a way the store does not announce
 * (an {@link Error} from a row written alone), and completing the answers throws nothing into the
 * executor that completes them.
 */
class GroupCommitBatchesTest {
    private static final Instant T = Instant.parse("2026-05-01T10:00:00Z");

    /** Runs nothing until {@link #runAll}: the first write starts a flusher, later ones gather behind it. */
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

    /** A store whose write is {@code answer}; every batch it is given is recorded. */
    private static final class ScriptedStore extends ForwardingTaskInstanceStore {
        final List<List<Long>> batches = new ArrayList<>();
        private final Function<WriteBatch, List<WriteOutcome>> answer;

        ScriptedStore(Function<WriteBatch, List<WriteOutcome>> answer) {
            this.answer = answer;
        }

        @Override
        public List<WriteOutcome> write(WriteBatch batch) {
            batches.add(batch.updates().stream().map(u -> u.row().id()).toList());
            return answer.apply(batch);
        }
    }

    /** A committer whose flusher is {@code flusher}, completing on the flusher's thread, trying each write once. */
    private static GroupCommitter committer(ScriptedStore store, HeldExecutor flusher) {
        return new GroupCommitter(store, flusher, Runnable::run,
                GroupCommitter.Settings.of(100, 1, new RetryPolicy(1, Duration.ZERO, Duration.ZERO)));
    }

    private static RowUpdate update(long id) {
        return new RowUpdate(new TaskInstance(id, 1, "t", TaskState.RUNNING, "h", null, null, 0, null, T, null, null,
                null, "e" + id, 1, T), 0);
    }

    private static Throwable failure(CompletableFuture<Commit> f) {
        assertTrue(f.isDone(), "the write was answered");
        ExecutionException e = assertThrows(ExecutionException.class, f::get);
        return e.getCause();
    }

    @Test
    void theRowsOfABatchReachTheStoreInIdOrderAndEachGetsItsOwnOutcome() throws Exception {
        ScriptedStore store = new ScriptedStore(batch -> batch.updates().stream()
                .map(u -> u.row().id() == 20 ? WriteOutcome.VERSION_CONFLICT : WriteOutcome.APPLIED).toList());
        HeldExecutor flusher = new HeldExecutor();
        try (store) {
            GroupCommitter committer = committer(store, flusher);
            CompletableFuture<Commit> c30 = committer.write(update(30));
            CompletableFuture<Commit> c10 = committer.write(update(10));
            CompletableFuture<Commit> c20 = committer.write(update(20));
            flusher.runAll();
            assertEquals(List.of(List.of(10L, 20L, 30L)), store.batches);
            assertEquals(new Commit(WriteOutcome.APPLIED, false), c10.get());
            assertEquals(new Commit(WriteOutcome.VERSION_CONFLICT, false), c20.get());
            assertEquals(new Commit(WriteOutcome.APPLIED, false), c30.get());
        }
    }

    @Test
    void aStoreAnsweringTheWrongNumberOfOutcomesFailsEveryRowOfTheBatch() {
        ScriptedStore store = new ScriptedStore(batch -> List.of(WriteOutcome.APPLIED));
        HeldExecutor flusher = new HeldExecutor();
        try (store) {
            GroupCommitter committer = committer(store, flusher);
            CompletableFuture<Commit> a = committer.write(update(1));
            CompletableFuture<Commit> b = committer.write(update(2));
            flusher.runAll();
            for (CompletableFuture<Commit> f : List.of(a, b)) {
                Throwable e = failure(f);
                assertInstanceOf(IllegalStateException.class, e);
                assertEquals("store " + ScriptedStore.class.getName() + " returned 1 outcomes for 2 updates", e.getMessage());
            }
        }
    }

    @Test
    void anInterruptDuringTheBackOffFailsTheBatchAtOnceAndIsKept() {
        StoreException down = new StoreException("the database is down");
        ScriptedStore store = new ScriptedStore(batch -> {
            throw down;
        });
        HeldExecutor flusher = new HeldExecutor();
        try (store) {
            GroupCommitter committer = new GroupCommitter(store, flusher, Runnable::run,
                    GroupCommitter.Settings.of(100, 1, new RetryPolicy(5, Duration.ofMinutes(1), Duration.ofMinutes(1))));
            CompletableFuture<Commit> f = committer.write(update(1));
            Thread.currentThread().interrupt(); // the flusher (this thread) is interrupted before its back-off
            try {
                flusher.runAll();
            } finally {
                assertTrue(Thread.interrupted(), "the flusher's interrupt is kept for its owner");
            }
            Throwable e = failure(f);
            assertInstanceOf(StoreException.class, e);
            assertEquals("interrupted while retrying a failed write", e.getMessage());
            assertEquals(down, e.getCause());
            assertEquals(1, store.batches.size(), "no second attempt after the interrupt");
        }
    }

    @Test
    void aRowThatBreaksTheStoreWhenWrittenAloneFailsAloneAfterItsBatchWasRefused() throws Exception {
        AssertionError broken = new AssertionError("the driver broke on row 2");
        ScriptedStore store = new ScriptedStore(batch -> {
            if (batch.updates().size() > 1) {
                throw new IllegalArgumentException("refused: the batch holds a bad row");
            }
            if (batch.updates().get(0).row().id() == 2) {
                throw broken;
            }
            return List.of(WriteOutcome.APPLIED);
        });
        HeldExecutor flusher = new HeldExecutor();
        try (store) {
            GroupCommitter committer = committer(store, flusher);
            CompletableFuture<Commit> one = committer.write(update(1));
            CompletableFuture<Commit> two = committer.write(update(2));
            CompletableFuture<Commit> three = committer.write(update(3));
            flusher.runAll();
            assertEquals(List.of(List.of(1L, 2L, 3L), List.of(1L), List.of(2L), List.of(3L)), store.batches);
            assertEquals(new Commit(WriteOutcome.APPLIED, false), one.get());
            assertEquals(broken, failure(two));
            assertEquals(new Commit(WriteOutcome.APPLIED, false), three.get());
        }
    }

    private static List<WriteOutcome> applied(WriteBatch batch) {
        return Collections.nCopies(batch.updates().size(), WriteOutcome.APPLIED);
    }

    @Test
    void aRowWhoseLoneWriteThrowsAnErrorFailsWithItAndTheOtherRowsAreAnswered() throws Exception {
        LinkageError driverBroken = new LinkageError("a driver class failed to load");
        ScriptedStore store = new ScriptedStore(batch -> {
            if (batch.updates().size() > 1) {
                throw new IllegalArgumentException("refused: one of these rows is bad");
            }
            if (batch.updates().getFirst().row().id() == 2) {
                throw driverBroken;
            }
            return applied(batch);
        });
        HeldExecutor flusher = new HeldExecutor();
        try (store) {
            GroupCommitter committer = committer(store, flusher);
            CompletableFuture<Commit> one = committer.write(update(1));
            CompletableFuture<Commit> two = committer.write(update(2));
            CompletableFuture<Commit> three = committer.write(update(3));
            flusher.runAll();
            assertEquals(List.of(List.of(1L, 2L, 3L), List.of(1L), List.of(2L), List.of(3L)), store.batches,
                    "the refused batch is written again row by row");
            assertEquals(new Commit(WriteOutcome.APPLIED, false), one.getNow(null));
            assertTrue(two.isDone(), "the row whose write threw an Error is answered");
            assertSame(driverBroken, assertThrows(ExecutionException.class, two::get).getCause());
            assertEquals(new Commit(WriteOutcome.APPLIED, false), three.getNow(null));
        }
    }

    @Test
    void completingABatchThrowsNothingIntoTheCompletionExecutor() {
        ScriptedStore store = new ScriptedStore(GroupCommitBatchesTest::applied);
        HeldExecutor flusher = new HeldExecutor();
        List<Throwable> escaped = new ArrayList<>();
        // A pool thread that a completion throws out of dies, and the pool's handler prints it.
        Executor completions = r -> {
            try {
                r.run();
            } catch (Throwable t) {
                escaped.add(t);
            }
        };
        try (store) {
            GroupCommitter committer = new GroupCommitter(store, flusher, completions,
                    GroupCommitter.Settings.of(100, 1, new RetryPolicy(1, Duration.ZERO, Duration.ZERO)));
            CompletableFuture<Commit> a = committer.write(update(1));
            CompletableFuture<Commit> b = committer.write(update(2));
            flusher.runAll();
            assertEquals(List.of(List.of(1L, 2L)), store.batches);
            assertEquals(new Commit(WriteOutcome.APPLIED, false), a.getNow(null));
            assertEquals(new Commit(WriteOutcome.APPLIED, false), b.getNow(null));
            assertEquals(List.of(), escaped);
        }
    }
}
