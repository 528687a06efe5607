package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * No failure of a task, a handler, a completion stage or a close leaves a key wedged, a permit
 * leaked or an interrupt behind for the key's next task. Each test states the interleaving it
 * forces.
 */
class KeyedExecutorKeyIsNeverWedgedTest {

    /** Drains on fresh platform threads; an exception escaping a drain just ends its thread. */
    private static final Executor THREAD_PER_DRAIN = drain -> Thread.ofPlatform().daemon(true).start(drain);

    /**
     * The handler rethrows the task's own Throwable (a common "rethrow fatal errors" handler;
     * or the JVM's preallocated OutOfMemoryError thrown again inside the handler). record() then
     * calls {@code error.addSuppressed(error)}, which throws IllegalArgumentException("Self-suppression
     * not permitted") out of record(), out of start()'s catch block, out of the drain: finishTask()
     * never runs, the permit leaks, the slot stays open with no drain, the key's next task never runs.
     */
    @Test
    void aHandlerRethrowingTheTasksErrorDoesNotWedgeTheKey() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().drainExecutor(THREAD_PER_DRAIN)
                .exceptionHandler((key, error) -> {
                    if (error instanceof Error fatal) {
                        throw fatal;
                    }
                }).build();
        CountDownLatch next = new CountDownLatch(1);
        executor.execute("k", () -> {
            throw new AssertionError("task broke");
        });
        executor.execute("k", next::countDown);
        boolean nextRan = next.await(5, TimeUnit.SECONDS);
        // close waits until every permit is back (it would wait out the deadline on a leak), so
        // the counts below are final, not a race with the drain's last release.
        List<KeyedExecutor.PendingTask<String>> notRun = executor.close(Duration.ofSeconds(10));
        assertAll(
                () -> assertTrue(nextRan, "the key's next task must run after a failed task"),
                () -> assertEquals(List.of(), notRun),
                () -> assertEquals(0, executor.stats().queued(), "permits leaked"),
                () -> assertEquals(0, executor.stats().activeKeys(), "slot leaked"));
    }

    /** Same, on the async completion path: the continuation throws inside the stage, silently. */
    @Test
    void aHandlerRethrowingAStagesFailureDoesNotWedgeTheKey() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().drainExecutor(THREAD_PER_DRAIN)
                .exceptionHandler((key, error) -> {
                    if (error instanceof RuntimeException e) {
                        throw e;
                    }
                }).build();
        CompletableFuture<Void> io = new CompletableFuture<>();
        CountDownLatch next = new CountDownLatch(1);
        executor.executeAsync("k", () -> io);
        executor.execute("k", next::countDown);
        io.completeExceptionally(new IllegalStateException("io failed"));
        boolean nextRan = next.await(5, TimeUnit.SECONDS);
        executor.close(Duration.ofSeconds(10)); // returns once every permit is back
        assertAll(
                () -> assertTrue(nextRan, "the key's next task must run after a failed stage"),
                () -> assertEquals(0, executor.stats().queued(), "permits leaked"));
    }

    /**
     * An async task returns {@code future.minimalCompletionStage()} (the JDK's read-only view of
     * a future: a CompletableFuture subclass whose isDone() throws UnsupportedOperationException).
     * run() calls {@code done.isDone()} outside any try: the exception ends the drain after the task
     * started, the permit leaks, and the key never runs again.
     */
    @Test
    void aMinimalCompletionStageDoesNotWedgeTheKey() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().drainExecutor(THREAD_PER_DRAIN).build();
        CompletableFuture<Void> io = new CompletableFuture<>();
        CountDownLatch next = new CountDownLatch(1);
        executor.executeAsync("k", io::minimalCompletionStage);
        executor.execute("k", next::countDown);
        io.complete(null);
        boolean nextRan = next.await(5, TimeUnit.SECONDS);
        executor.close(Duration.ofSeconds(10)); // returns once every permit is back
        assertAll(
                () -> assertTrue(nextRan, "the key must go on once the minimal stage completed"),
                () -> assertEquals(0, executor.stats().queued(), "permits leaked"));
    }

    /**
     * After close(deadline) abandoned a key with a running task, that key's slot is never
     * released: the drain finishes its task, finds the next node (claimed by close), so it does not
     * retire, and its claim fails, so it returns without removing the slot. activeKeys stays 1
     * forever although nothing is queued or running.
     */
    @Test
    void aKeyAbandonedByCloseIsReleasedWhenItsRunningTaskEnds() throws Exception {
        CountDownLatch drainEnded = new CountDownLatch(1);
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().drainExecutor(drain ->
                Thread.ofPlatform().daemon(true).start(() -> {
                    try {
                        drain.run();
                    } finally {
                        drainEnded.countDown();
                    }
                })).build();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch go = new CountDownLatch(1);
        Runnable x1 = () -> { };
        executor.execute("k", () -> {
            started.countDown();
            KeyedExecutorTest.await(go);
        });
        executor.execute("k", x1);
        assertTrue(started.await(10, TimeUnit.SECONDS));
        assertEquals(List.of(new KeyedExecutor.PendingTask<>("k", x1)), executor.close(Duration.ZERO));
        go.countDown();
        assertTrue(drainEnded.await(10, TimeUnit.SECONDS));
        assertEquals(new KeyedExecutor.Stats(0, 0, 1, 0), executor.stats());
    }

    /**
     * close with an "infinite" deadline: Duration.ofMillis(Long.MAX_VALUE).toNanos() overflows.
     * close() has already set closed (intake stops) and then throws ArithmeticException without
     * waiting and without shutting the pool down.
     */
    @Test
    void closeWithAnUnboundedDeadlineWaitsInsteadOfThrowing() {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).build();
        AtomicInteger ran = new AtomicInteger();
        executor.execute("k", ran::incrementAndGet);
        assertEquals(List.of(), executor.close(Duration.ofMillis(Long.MAX_VALUE)));
        assertEquals(1, ran.get());
    }

    /**
     * A task's interrupt status leaks into the next task of its key when both run in one drain
     * batch (the pool clears it only between drains). A task that is interrupted (or interrupts
     * itself) as it ends makes its successor's blocking call fail.
     */
    @Test
    void aTasksInterruptDoesNotLeakIntoTheKeysNextTask() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().drainExecutor(THREAD_PER_DRAIN).build();
        CountDownLatch firstGo = new CountDownLatch(1);
        AtomicBoolean secondSawInterrupt = new AtomicBoolean();
        CountDownLatch secondRan = new CountDownLatch(1);
        executor.execute("k", () -> {
            KeyedExecutorTest.await(firstGo);
            Thread.currentThread().interrupt();
        });
        executor.execute("k", () -> {
            secondSawInterrupt.set(Thread.currentThread().isInterrupted());
            secondRan.countDown();
        });
        firstGo.countDown();
        assertTrue(secondRan.await(10, TimeUnit.SECONDS));
        executor.close(Duration.ofSeconds(10));
        assertFalse(secondSawInterrupt.get(), "the next task started with its predecessor's interrupt");
    }
}
