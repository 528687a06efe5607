package dev.taskevents.engine.commit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Every row of a batch gets its own answer, also when writing it fails in a way the store does not
 * announce (an {@link Error} from a row written alone), and completing the answers throws nothing
 * into the executor that completes them. The flusher is a queue the test runs on its own thread,
 * so which rows share a batch is decided by the test.
 */
class BatchFailureAnswersEveryRowTest {
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

    /** A store whose write is {@code answer}; every batch it is given is recorded, in order. */
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

    private static RowUpdate update(long id) {
        return new RowUpdate(new TaskInstance(id, 1, "t", TaskState.RUNNING, "h", null, null, 0, null, T, null, null,
                null, "e" + id, 1, T), 0);
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
            GroupCommitter committer = new GroupCommitter(store, flusher, Runnable::run, 100, 1,
                    new RetryPolicy(1, Duration.ZERO, Duration.ZERO));
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
        ScriptedStore store = new ScriptedStore(BatchFailureAnswersEveryRowTest::applied);
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
            GroupCommitter committer = new GroupCommitter(store, flusher, completions, 100, 1,
                    new RetryPolicy(1, Duration.ZERO, Duration.ZERO));
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
