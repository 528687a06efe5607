package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * What the exception handler is given for a failed task, and that a failure nobody planned for
 * (a failing handler, a stage that refuses a continuation) neither loses the task's error nor
 * wedges the key. The handler's calls are the ledger; each test waits for a later task of the
 * same key, bounded, so a wedged key fails instead of hanging.
 */
class TaskFailureReportingTest {

    /** The handler's calls, in order. */
    private final List<Map.Entry<String, Throwable>> handled = new CopyOnWriteArrayList<>();

    private KeyedExecutor<String> executor() {
        return KeyedExecutor.<String>builder().threads(1).exceptionHandler((key, error) -> handled.add(Map.entry(key, error)))
                .build();
    }

    private static void runAndWait(KeyedExecutor<String> executor, String key) throws InterruptedException {
        CountDownLatch next = new CountDownLatch(1);
        executor.execute(key, next::countDown);
        assertTrue(next.await(30, TimeUnit.SECONDS), "the key went on to its next task");
    }

    @Test
    void theHandlerGetsAStagesOwnExceptionNotTheWrapperADependentStageAdds() throws Exception {
        IllegalStateException later = new IllegalStateException("failed after the task returned");
        IllegalStateException already = new IllegalStateException("failed before the task returned");
        try (KeyedExecutor<String> executor = executor()) {
            CompletableFuture<Object> pending = new CompletableFuture<>();
            // A dependent stage fails with CompletionException(cause): the continuation path.
            executor.executeAsync("a", () -> pending.thenApply(x -> x));
            pending.completeExceptionally(later);
            // Already complete when returned: the inline path.
            executor.executeAsync("b", () -> CompletableFuture.failedFuture(already).thenApply(x -> x));
            runAndWait(executor, "a");
            runAndWait(executor, "b");
        }
        assertEquals(2, handled.size(), handled.toString());
        assertEquals(Map.of("a", later, "b", already), Map.ofEntries(handled.toArray(Map.Entry[]::new)));
    }

    @Test
    void aCompletionExceptionWithoutCauseIsItselfTheFailure() throws Exception {
        CompletionException bare = new CompletionException((Throwable) null);
        try (KeyedExecutor<String> executor = executor()) {
            executor.executeAsync("k", () -> CompletableFuture.failedFuture(bare));
            runAndWait(executor, "k");
        }
        assertEquals(List.of(Map.entry("k", (Throwable) bare)), handled);
    }

    @Test
    void aFailingHandlerKeepsTheTasksErrorAsSuppressedAndTheKeyGoesOn() throws Exception {
        IllegalStateException taskError = new IllegalStateException("the task failed");
        IllegalArgumentException handlerError = new IllegalArgumentException("the handler failed");
        List<Throwable> given = new CopyOnWriteArrayList<>();
        try (KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).exceptionHandler((key, error) -> {
            given.add(error);
            throw handlerError;
        }).build()) {
            executor.execute("k", () -> {
                throw taskError;
            });
            runAndWait(executor, "k");
        }
        assertEquals(List.of(taskError), given);
        assertArrayEquals(new Throwable[] {taskError}, handlerError.getSuppressed(),
                "the handler's error, which is logged, carries the task's error");
    }

    /** A stage whose {@code whenComplete} refuses the continuation. */
    private static final class RefusingStage extends CompletableFuture<Object> {
        private final RuntimeException refusal;

        RefusingStage(RuntimeException refusal) {
            this.refusal = refusal;
        }

        @Override
        public CompletableFuture<Object> whenComplete(BiConsumer<? super Object, ? super Throwable> action) {
            throw refusal;
        }
    }

    @Test
    void aStageThatRefusesTheContinuationFailsItsTaskAndTheKeyGoesOn() throws Exception {
        UnsupportedOperationException refusal = new UnsupportedOperationException("no continuations here");
        try (KeyedExecutor<String> executor = executor()) {
            executor.executeAsync("k", () -> new RefusingStage(refusal));
            runAndWait(executor, "k");
            assertEquals(1, executor.stats().failed());
        }
        assertEquals(1, handled.size(), handled.toString());
        assertEquals("k", handled.getFirst().getKey());
        assertSame(refusal, handled.getFirst().getValue());
    }
}
