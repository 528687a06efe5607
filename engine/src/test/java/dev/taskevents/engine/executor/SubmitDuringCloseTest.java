package dev.taskevents.engine.executor;

import static dev.taskevents.engine.executor.KeyedExecutorTest.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * A submit that is already under way when {@code close} runs: it is refused (its task is neither
 * run nor returned by close, and the submitter is told), and the room it took is given back, so a
 * later close finds every permit back and does not wait for its deadline, and no key is left held.
 * Each interleaving is forced: the submitter is stopped where it holds a permit (waiting for room,
 * or at the probe just before it links), then close runs, then the submitter goes on.
 */
class SubmitDuringCloseTest {

    /** Runs {@code submit} on a thread of its own; the future holds what it threw, or null. */
    private static CompletableFuture<Throwable> submitOnItsOwnThread(Runnable submit, Thread[] thread) {
        CompletableFuture<Throwable> outcome = new CompletableFuture<>();
        thread[0] = Thread.ofPlatform().name("submitter").start(() -> {
            try {
                submit.run();
                outcome.complete(null);
            } catch (Throwable e) {
                outcome.complete(e);
            }
        });
        return outcome;
    }

    @Test
    void aSubmitterWaitingForRoomWhenTheExecutorClosesIsRefusedAndGivesTheRoomBack() throws Exception {
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threads(1).maxQueued(1)
                .submitTimeout(Duration.ofMinutes(5)).build();
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean lateRan = new AtomicBoolean();
        executor.execute(1, () -> {
            started.countDown();
            await(release);
        });
        assertTrue(started.await(30, TimeUnit.SECONDS));
        Thread[] submitter = new Thread[1];
        CompletableFuture<Throwable> refused = submitOnItsOwnThread(() -> executor.execute(2, () -> lateRan.set(true)),
                submitter);
        // The only room is held by the running task: the submitter is past its first closed check
        // once it parks in the semaphore's timed wait.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (submitter[0].getState() != Thread.State.TIMED_WAITING) {
            assertTrue(System.nanoTime() < until, "the submitter never waited for room");
            Thread.onSpinWait();
        }
        assertEquals(List.of(), executor.close(Duration.ZERO), "nothing was queued behind the running task");
        release.countDown(); // the running task ends; its permit goes to the waiting submitter

        Throwable e = refused.get(60, TimeUnit.SECONDS);
        assertInstanceOf(RejectedExecutionException.class, e);
        assertEquals("the keyed executor is closed; the task for key 2 was not accepted", e.getMessage());
        submitter[0].join(TimeUnit.SECONDS.toMillis(30));
        assertEquals(new KeyedExecutor.Stats(0, 0, 1, 0), executor.stats(), "no permit and no key left held");
        // Every permit is back: a close now has nothing to wait for, however long its deadline.
        assertEquals(List.of(), assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> executor.close(Duration.ofHours(1))));
        assertFalse(lateRan.get(), "a refused task never runs");
    }

    @Test
    void aSubmitterThatLinksAfterCloseAbandonedTheQueuesTakesItsTaskBack() throws Exception {
        CountDownLatch atLink = new CountDownLatch(1);
        CountDownLatch goOn = new CountDownLatch(1);
        KeyedExecutor.RaceProbe probe = new KeyedExecutor.RaceProbe() {
            @Override
            public void submitterLinks(Object key) {
                atLink.countDown();
                await(goOn);
            }
        };
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).raceProbe(probe).build();
        AtomicBoolean lateRan = new AtomicBoolean();
        Thread[] submitter = new Thread[1];
        CompletableFuture<Throwable> refused = submitOnItsOwnThread(
                () -> executor.execute("late", () -> lateRan.set(true)), submitter);
        assertTrue(atLink.await(30, TimeUnit.SECONDS));
        // The submitter holds a permit and has not linked: close cannot wait for it (deadline zero),
        // abandons the queues and finds nothing in them to return.
        assertEquals(List.of(), executor.close(Duration.ZERO));
        goOn.countDown();

        Throwable e = refused.get(60, TimeUnit.SECONDS);
        assertInstanceOf(RejectedExecutionException.class, e, "a task close did not return is not accepted");
        assertEquals("the keyed executor is closed; the task for key late was not accepted", e.getMessage());
        submitter[0].join(TimeUnit.SECONDS.toMillis(30));
        assertEquals(new KeyedExecutor.Stats(0, 0, 0, 0), executor.stats(), "no permit and no key left held");
        assertEquals(List.of(), assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> executor.close(Duration.ofHours(1))), "the submitter gave its permit back");
        assertFalse(lateRan.get());
    }
}
