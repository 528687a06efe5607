package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The executor's settings at their limits, and its life cycle seen from outside: the threads it
 * made end with it, an idle close does not wait for its deadline, and an interrupted submitter or
 * closer gets its answer at once and keeps its interrupt. Every wait is bounded.
 */
class ExecutorLifecycleTest {

    @Test
    void theLowestSettingsAreAcceptedAndZeroIsRefused() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threadMode(ThreadMode.VIRTUAL)
                .threads(1).maxQueued(1).batchSize(1).build();
        assertEquals(ThreadMode.VIRTUAL, executor.threadMode());
        assertFalse(executor.isClosed());
        CountDownLatch ran = new CountDownLatch(1);
        executor.execute("k", ran::countDown);
        assertTrue(ran.await(30, TimeUnit.SECONDS));
        assertEquals(List.of(), executor.close(Duration.ofSeconds(30)));
        assertTrue(executor.isClosed());
        assertEquals("maxQueued must be at least 1, was 0", assertThrows(IllegalArgumentException.class,
                () -> KeyedExecutor.builder().maxQueued(0)).getMessage());
        assertEquals("batchSize must be at least 1, was 0", assertThrows(IllegalArgumentException.class,
                () -> KeyedExecutor.builder().batchSize(0)).getMessage());
    }

    @Test
    void closeEndsTheThreadsTheExecutorMade() throws Exception {
        String prefix = "lifecycle-" + System.nanoTime() + "-";
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threadMode(ThreadMode.PLATFORM).threads(2)
                .threadNamePrefix(prefix).build();
        CountDownLatch ran = new CountDownLatch(2);
        executor.execute(1, ran::countDown);
        executor.execute(2, ran::countDown);
        assertTrue(ran.await(30, TimeUnit.SECONDS));
        List<Thread> workers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith(prefix)).toList();
        assertFalse(workers.isEmpty(), "the executor's own threads ran the tasks");
        assertEquals(List.of(), executor.close(Duration.ofSeconds(30)));
        for (Thread worker : workers) {
            worker.join(Duration.ofSeconds(20));
            assertFalse(worker.isAlive(), worker.getName() + " still runs after close");
        }
    }

    @Test
    void anIdleCloseReturnsWithoutWaitingForItsDeadline() {
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threads(1).build();
        assertEquals(List.of(), assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> executor.close(Duration.ofHours(1))));
    }

    @Test
    void anInterruptedSubmitterWaitingForRoomIsRefusedAndKeepsItsInterrupt() throws Exception {
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threads(1).maxQueued(1)
                .submitTimeout(Duration.ofMinutes(5)).build();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try {
            executor.execute(1, () -> {
                started.countDown();
                awaitBounded(release);
            });
            assertTrue(started.await(30, TimeUnit.SECONDS));
            Thread.currentThread().interrupt();
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class,
                    () -> executor.execute(2, () -> { }));
            assertTrue(Thread.interrupted(), "the submitter's interrupt is kept");
            assertEquals("interrupted while waiting for room to queue a task for key 2; the task was not accepted",
                    e.getMessage());
        } finally {
            Thread.interrupted();
            release.countDown();
            executor.close(Duration.ofSeconds(30));
        }
    }

    @Test
    void anInterruptedCloseReturnsWhatHasNotRunAndKeepsItsInterrupt() throws Exception {
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threads(1).build();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Runnable second = () -> { };
        try {
            executor.execute(1, () -> {
                started.countDown();
                awaitBounded(release);
            });
            executor.execute(1, second);
            assertTrue(started.await(30, TimeUnit.SECONDS));
            Thread.currentThread().interrupt();
            // The close runs on this (interrupted) thread: its wait ends at once, not at the deadline.
            List<KeyedExecutor.PendingTask<Integer>> notRun = executor.close(Duration.ofMinutes(2));
            assertTrue(Thread.interrupted(), "the closer's interrupt is kept");
            assertEquals(List.of(new KeyedExecutor.PendingTask<>(1, second)), notRun);
        } finally {
            Thread.interrupted();
            release.countDown();
        }
    }

    private static void awaitBounded(CountDownLatch latch) {
        try {
            if (!latch.await(60, TimeUnit.SECONDS)) {
                throw new AssertionError("the test never released the task");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
