package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A submit that races with {@link KeyedExecutor#close(Duration)}, with the interleaving forced
 * through the {@link KeyedExecutor.RaceProbe} seam rather than hoped for: the submitter has its
 * permit and stops just before it links its task into a key that has no slot yet; close runs to
 * the end meanwhile (abandons, walks the queues, finds nothing, shuts its pool down); then the
 * submitter goes on. Its node lands in a fresh slot that no walk will visit and whose drain the
 * shut-down pool refuses, so the only way nothing is lost is that the submitter takes its task back
 * (implementation note 7) and the submit throws. The oracle is the test's own ledger: did the
 * submit return, did the task run, did close return it.
 */
class KeyedExecutorCloseRaceTest {

    @ParameterizedTest
    @EnumSource(ThreadMode.class)
    void aTaskLinkedAfterCloseWalkedIsTakenBackAndTheSubmitThrows(ThreadMode mode) throws Exception {
        CountDownLatch submitterAtLink = new CountDownLatch(1);
        CountDownLatch submitterGo = new CountDownLatch(1);
        AtomicBoolean armed = new AtomicBoolean(true);
        KeyedExecutor.RaceProbe probe = new KeyedExecutor.RaceProbe() {
            @Override
            public void submitterLinks(Object key) {
                if (armed.compareAndSet(true, false)) {
                    submitterAtLink.countDown();
                    KeyedExecutorTest.await(submitterGo);
                }
            }
        };
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threadMode(mode).threads(1).raceProbe(probe)
                .build();
        CountDownLatch ran = new CountDownLatch(1);
        Runnable task = ran::countDown;
        CompletableFuture<Void> submit = new CompletableFuture<>();
        Thread submitter = Thread.ofPlatform().name("submitter").start(() -> {
            try {
                executor.execute("k", task);
                submit.complete(null);
            } catch (Throwable e) {
                submit.completeExceptionally(e);
            }
        });
        assertTrue(submitterAtLink.await(10, TimeUnit.SECONDS), "the submitter must reach its link");
        // The submitter holds a permit, so close abandons at once (deadline zero) and walks the
        // queues while the task is in none of them.
        List<KeyedExecutor.PendingTask<String>> notRun = executor.close(Duration.ZERO);
        assertEquals(List.of(), notRun, "close walked before the task was linked: it cannot have it");
        submitterGo.countDown();
        submitter.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(submitter.isAlive(), "the submitter did not finish");

        // Accepted means: run, or returned by close. Close returned nothing and its pool is shut
        // down, so an accepted task here would never run: the submit must say it was not accepted.
        Throwable refused = submit.handle((ok, error) -> error).get(10, TimeUnit.SECONDS);
        assertTrue(refused instanceof RejectedExecutionException,
                "the submit returned normally, so its task was accepted, yet close did not return it and no"
                        + " drain can run it (ran: " + (ran.getCount() == 0) + "): the task is lost; got " + refused);
        assertTrue(refused.getMessage().contains("was not accepted"), refused.getMessage());
        assertEquals(1, ran.getCount(), "a task whose submit was refused must not run");
        assertEquals(0, executor.stats().queued(), "its permit must be back");
        assertEquals(0, executor.stats().activeKeys(), "its never-scheduled slot must be gone");
    }
}
