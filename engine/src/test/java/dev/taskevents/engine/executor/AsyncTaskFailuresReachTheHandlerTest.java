package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * How an async task's failure reaches the exception handler, and that the key goes on after it:
 * a stage that failed before the drain looked at it is handed over unwrapped (the task's own
 * exception, not the CompletionException a dependent stage wraps it in), and a stage whose
 * {@code whenComplete} itself throws fails its task with that exception instead of holding the
 * key forever.
 */
class AsyncTaskFailuresReachTheHandlerTest {

    private static KeyedExecutor<String> executor(LinkedBlockingQueue<Throwable> handled) {
        return KeyedExecutor.<String>builder().threads(1).exceptionHandler((key, error) -> handled.add(error)).build();
    }

    @Test
    void aStageAlreadyFailedThroughADependentStageIsHandledUnwrapped() throws Exception {
        LinkedBlockingQueue<Throwable> handled = new LinkedBlockingQueue<>();
        KeyedExecutor<String> executor = executor(handled);
        IllegalStateException cause = new IllegalStateException("the task failed");
        CountDownLatch next = new CountDownLatch(1);
        try {
            executor.executeAsync("k", () -> CompletableFuture.failedFuture(cause).thenApply(v -> v));
            executor.execute("k", next::countDown);
            assertTrue(next.await(30, TimeUnit.SECONDS), "the key went on to its next task");
            assertSame(cause, handled.poll(30, TimeUnit.SECONDS));
        } finally {
            assertEquals(List.of(), executor.close(Duration.ofSeconds(30)));
        }
    }

    @Test
    void aStageWhoseWhenCompleteThrowsFailsItsTaskAndFreesTheKey() throws Exception {
        LinkedBlockingQueue<Throwable> handled = new LinkedBlockingQueue<>();
        KeyedExecutor<String> executor = executor(handled);
        UnsupportedOperationException refusal = new UnsupportedOperationException("this stage takes no callbacks");
        CompletionStage<?> broken = (CompletionStage<?>) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {CompletionStage.class}, (proxy, method, args) -> {
                    throw refusal;
                });
        CountDownLatch next = new CountDownLatch(1);
        try {
            executor.executeAsync("k", () -> broken);
            executor.execute("k", next::countDown);
            assertTrue(next.await(30, TimeUnit.SECONDS), "the key went on to its next task");
            assertSame(refusal, handled.poll(30, TimeUnit.SECONDS));
        } finally {
            assertEquals(List.of(), executor.close(Duration.ofSeconds(30)));
        }
    }
}
