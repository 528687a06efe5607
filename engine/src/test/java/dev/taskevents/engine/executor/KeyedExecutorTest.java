package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.testkit.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KeyedExecutorTest {

    /**
     * Per-key checks shared by the stress tests: an in-flight counter proves "never two at once";
     * the last sequence number seen per (key, submitter) proves FIFO order; violations are
     * collected, not thrown, because a task's exception would only reach the handler.
     */
    static final class Ledger {
        final int keys;
        final int submitters;
        final AtomicInteger[] inFlight;
        final long[][] lastSeq; // [key][submitter], written only while holding the key
        final AtomicLong ran = new AtomicLong();
        final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();

        Ledger(int keys, int submitters) {
            this.keys = keys;
            this.submitters = submitters;
            this.inFlight = new AtomicInteger[keys];
            this.lastSeq = new long[keys][submitters];
            for (int k = 0; k < keys; k++) {
                inFlight[k] = new AtomicInteger();
                java.util.Arrays.fill(lastSeq[k], -1);
            }
        }

        void enter(int key, int submitter, long seq) {
            if (inFlight[key].incrementAndGet() != 1) {
                violations.add("key " + key + " ran two tasks at once");
            }
            if (lastSeq[key][submitter] >= seq) {
                violations.add("key " + key + " submitter " + submitter + " ran " + seq + " after "
                        + lastSeq[key][submitter]);
            }
            lastSeq[key][submitter] = seq;
        }

        void exit(int key) {
            inFlight[key].decrementAndGet();
            ran.incrementAndGet();
        }
    }

    private static void join(List<Thread> threads) throws InterruptedException {
        for (Thread t : threads) {
            t.join(TimeUnit.MINUTES.toMillis(2));
            assertFalse(t.isAlive(), t.getName() + " did not finish");
        }
    }

    /**
     * Four submitters, 5,000 keys shared by all of them, 400,000 tasks, sync and async mixed. Every
     * task runs exactly once, never two of a key at once, each submitter's tasks in its order.
     */
    @ParameterizedTest
    @EnumSource(ThreadMode.class)
    void orderExclusivityAndExactlyOnceUnderRealConcurrency(ThreadMode mode) throws Exception {
        int keys = 5_000;
        int submitters = 4;
        int perSubmitter = 100_000;
        Ledger ledger = new Ledger(keys, submitters);
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threadMode(mode).threads(4)
                .maxQueued(20_000).submitTimeout(Duration.ofMinutes(1)).batchSize(8).build();
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < submitters; s++) {
            int submitter = s;
            threads.add(Thread.ofPlatform().name("submitter-" + s).start(() -> {
                java.util.Random random = new java.util.Random(submitter);
                long[] seq = new long[keys];
                for (int i = 0; i < perSubmitter; i++) {
                    int key = random.nextInt(keys);
                    long mySeq = seq[key]++;
                    if (i % 3 == 0) {
                        executor.executeAsync(key, () -> {
                            ledger.enter(key, submitter, mySeq);
                            // Complete on another thread, after a hop, while the key stays held.
                            return CompletableFuture.runAsync(() -> ledger.exit(key));
                        });
                    } else {
                        executor.execute(key, () -> {
                            ledger.enter(key, submitter, mySeq);
                            ledger.exit(key);
                        });
                    }
                }
            }));
        }
        join(threads);
        assertEquals(List.of(), executor.close(Duration.ofMinutes(1)));
        assertEquals(List.of(), List.copyOf(ledger.violations));
        assertEquals((long) submitters * perSubmitter, ledger.ran.get());
        KeyedExecutor.Stats stats = executor.stats();
        assertEquals(new KeyedExecutor.Stats(0, 0, (long) submitters * perSubmitter, 0), stats);
    }

    /**
     * The lost-wake-up race: each task is submitted the moment the previous one of its key has
     * released the submitter, so submits land right as drains end and slots retire. A lost
     * wake-up would leave a task unrun and the submitter waiting forever (caught by the timeout).
     */
    @ParameterizedTest
    @EnumSource(ThreadMode.class)
    void submitRacingWithTheEndOfADrainIsNeverLost(ThreadMode mode) throws Exception {
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threadMode(mode).threads(2).build();
        int racers = 4;
        int iterations = 50_000;
        List<Thread> threads = new ArrayList<>();
        AtomicInteger stuck = new AtomicInteger();
        for (int r = 0; r < racers; r++) {
            int key = r % 2; // two racers share each key
            threads.add(Thread.ofPlatform().start(() -> {
                Semaphore done = new Semaphore(0);
                for (int i = 0; i < iterations; i++) {
                    executor.execute(key, done::release);
                    try {
                        if (!done.tryAcquire(10, TimeUnit.SECONDS)) {
                            stuck.incrementAndGet();
                            return;
                        }
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }));
        }
        join(threads);
        assertEquals(0, stuck.get(), "a task was never run: lost wake-up");
        assertEquals(List.of(), executor.close(Duration.ofSeconds(30)));
        assertEquals((long) racers * iterations, executor.stats().completed());
        assertEquals(0, executor.stats().activeKeys());
    }

    @Test
    void aFailingTaskGoesToTheHandlerAndTheKeyGoesOn() throws Exception {
        ConcurrentLinkedQueue<String> handled = new ConcurrentLinkedQueue<>();
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder()
                .exceptionHandler((key, error) -> handled.add(key + ":" + error.getMessage())).threads(1).build();
        List<Integer> ran = new ArrayList<>();
        executor.execute("k", () -> ran.add(1));
        executor.execute("k", () -> {
            throw new IllegalStateException("boom");
        });
        executor.executeAsync("k", () -> CompletableFuture.failedFuture(new IllegalStateException("async boom")));
        executor.executeAsync("k", () -> null);
        executor.execute("k", () -> ran.add(2));
        assertEquals(List.of(), executor.close(Duration.ofSeconds(10)));
        assertEquals(List.of(1, 2), ran);
        assertEquals(List.of("k:boom", "k:async boom", "k:async task for key k returned a null stage"),
                List.copyOf(handled));
        assertEquals(3, executor.stats().failed());
        assertEquals(2, executor.stats().completed());
    }

    /**
     * A stage that is already cancelled (or failed with a CancellationException) is a failed task
     * like any other: nothing is thrown out of the drain, so the key's next task runs, the pool
     * thread lives on and the task's capacity permit comes back.
     */
    @Test
    void aCancelledStageIsAFailedTaskAndTheKeyGoesOn() throws Exception {
        ConcurrentLinkedQueue<Throwable> handled = new ConcurrentLinkedQueue<>();
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).maxQueued(10)
                .exceptionHandler((key, error) -> handled.add(error)).build();
        CompletableFuture<Void> cancelled = new CompletableFuture<>();
        cancelled.cancel(false);
        CancellationException cancellation = new CancellationException("failed as cancelled");
        CountDownLatch after = new CountDownLatch(1);
        executor.executeAsync("k", () -> cancelled);
        executor.executeAsync("k", () -> CompletableFuture.failedFuture(cancellation));
        // Cancelled later, while the key is held: the completion path must count it too.
        CompletableFuture<Void> cancelledLater = new CompletableFuture<>();
        CountDownLatch started = new CountDownLatch(1);
        executor.executeAsync("k", () -> {
            started.countDown();
            return cancelledLater;
        });
        executor.execute("k", after::countDown);
        assertTrue(started.await(10, TimeUnit.SECONDS), "the key must go on after an already-cancelled stage");
        cancelledLater.cancel(false);
        assertTrue(after.await(10, TimeUnit.SECONDS), "the key must go on after a cancelled stage");
        assertEquals(List.of(), executor.close(Duration.ofSeconds(10)));
        List<Throwable> errors = List.copyOf(handled);
        assertEquals(3, errors.size(), errors.toString());
        assertTrue(errors.stream().allMatch(CancellationException.class::isInstance), errors.toString());
        assertEquals(cancellation, errors.get(1));
        assertEquals(new KeyedExecutor.Stats(0, 0, 1, 3), executor.stats());
    }

    @Test
    void aThrowingHandlerDoesNotStallTheKey() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().exceptionHandler((key, error) -> {
            throw new IllegalStateException("handler broke");
        }).build();
        CountDownLatch after = new CountDownLatch(1);
        executor.execute("k", () -> {
            throw new IllegalStateException("task broke");
        });
        executor.execute("k", after::countDown);
        assertTrue(after.await(10, TimeUnit.SECONDS));
        executor.close();
    }

    @Test
    void anAsyncTaskHoldsItsKeyButNotItsThread() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).build();
        CompletableFuture<Void> io = new CompletableFuture<>();
        AtomicReference<Boolean> ioDoneWhenNextRan = new AtomicReference<>();
        CountDownLatch otherKeyRan = new CountDownLatch(1);
        CountDownLatch nextRan = new CountDownLatch(1);
        executor.executeAsync("a", () -> io);
        executor.execute("a", () -> {
            ioDoneWhenNextRan.set(io.isDone());
            nextRan.countDown();
        });
        executor.execute("b", otherKeyRan::countDown);
        assertTrue(otherKeyRan.await(10, TimeUnit.SECONDS), "the only thread must be free for key b");
        assertEquals(1, nextRan.getCount(), "key a must still be held");
        io.complete(null);
        assertTrue(nextRan.await(10, TimeUnit.SECONDS));
        assertEquals(Boolean.TRUE, ioDoneWhenNextRan.get());
        executor.close();
    }

    /** A key is busy from its first task's submit until its last task's stage completed. */
    @Test
    void aKeyIsIdleOnlyWhenNothingOfItIsQueuedOrRunning() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).build();
        assertTrue(executor.isIdle("a"));
        CompletableFuture<Void> io = new CompletableFuture<>();
        executor.executeAsync("a", () -> io);
        CountDownLatch nextRan = new CountDownLatch(1);
        executor.execute("a", nextRan::countDown);
        assertFalse(executor.isIdle("a"), "a task of key a is running (its stage pending), one more is queued");
        assertTrue(executor.isIdle("b"));
        io.complete(null);
        assertTrue(nextRan.await(10, TimeUnit.SECONDS));
        Await.until(() -> executor.isIdle("a"));
        executor.close();
    }

    /** With one thread, a key with 1,000 tasks yields after a batch of 64 to a key that came later. */
    @Test
    void aBusyKeyYieldsItsThreadAfterABatch() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).batchSize(64).build();
        CountDownLatch gate = new CountDownLatch(1);
        executor.execute("blocker", () -> await(gate));
        AtomicInteger busyRan = new AtomicInteger();
        AtomicInteger busyRanBeforeOther = new AtomicInteger(-1);
        for (int i = 0; i < 1_000; i++) {
            executor.execute("busy", busyRan::incrementAndGet);
        }
        executor.execute("other", () -> busyRanBeforeOther.set(busyRan.get()));
        gate.countDown();
        assertEquals(List.of(), executor.close(Duration.ofSeconds(10)));
        assertEquals(64, busyRanBeforeOther.get());
        assertEquals(1_000, busyRan.get());
    }

    /** A slow key occupies one thread; other keys go on on the others. */
    @Test
    void aSlowKeyDoesNotBlockOtherKeys() throws Exception {
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threads(2).build();
        CountDownLatch slow = new CountDownLatch(1);
        executor.execute(0, () -> await(slow));
        CountDownLatch others = new CountDownLatch(1_000);
        for (int i = 0; i < 1_000; i++) {
            executor.execute(1 + i % 50, others::countDown);
        }
        assertTrue(others.await(10, TimeUnit.SECONDS), "other keys must run while key 0 is stuck");
        slow.countDown();
        executor.close();
    }

    @Test
    void aFullQueueMakesSubmitWaitThenFailWithoutDroppingAnything() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).maxQueued(10)
                .submitTimeout(Duration.ofMillis(200)).build();
        CountDownLatch gate = new CountDownLatch(1);
        AtomicInteger ran = new AtomicInteger();
        executor.execute("k", () -> await(gate));
        for (int i = 0; i < 9; i++) {
            executor.execute("k", ran::incrementAndGet);
        }
        assertEquals(10, executor.stats().queued());
        QueueFullException full = assertThrows(QueueFullException.class, () -> executor.execute("k2", ran::incrementAndGet));
        assertTrue(full.getMessage().contains("10 tasks are waiting or running"), full.getMessage());
        assertTrue(full.getMessage().contains("key k2"), full.getMessage());

        // A submit that waits gets in as soon as room appears.
        CountDownLatch accepted = new CountDownLatch(1);
        KeyedExecutor<String> patient = executor;
        Thread waiter = Thread.ofPlatform().start(() -> {
            while (true) {
                try {
                    patient.execute("k3", ran::incrementAndGet);
                    accepted.countDown();
                    return;
                } catch (QueueFullException retry) {
                    // the 200 ms passed before the gate opened: try again, as a caller would
                }
            }
        });
        gate.countDown();
        assertTrue(accepted.await(10, TimeUnit.SECONDS));
        waiter.join();
        assertEquals(List.of(), executor.close(Duration.ofSeconds(10)));
        assertEquals(10, ran.get());
    }

    /**
     * A finished task's permit comes back when the task finishes, not when its
     * drain's run ends. Task 1 finished and task 2 is blocked in the same run: one task is waiting
     * or running, so with maxQueued 2 another key's submit must get in at once.
     */
    @Test
    void aFinishedTaskGivesItsPermitBackBeforeItsDrainEnds() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(2).maxQueued(2)
                .submitTimeout(Duration.ZERO).build();
        CountDownLatch firstGo = new CountDownLatch(1);
        CountDownLatch secondStarted = new CountDownLatch(1);
        CountDownLatch secondGo = new CountDownLatch(1);
        CountDownLatch otherRan = new CountDownLatch(1);
        executor.execute("a", () -> await(firstGo));
        // Queued while the first task runs, so the same drain run takes it.
        executor.execute("a", () -> {
            secondStarted.countDown();
            await(secondGo);
        });
        firstGo.countDown();
        assertTrue(secondStarted.await(10, TimeUnit.SECONDS));
        assertEquals(1, executor.stats().queued(), "the first task finished: only the second is running");
        executor.execute("b", otherRan::countDown);
        assertTrue(otherRan.await(10, TimeUnit.SECONDS));
        secondGo.countDown();
        assertEquals(List.of(), executor.close(Duration.ofSeconds(10)));
        assertEquals(new KeyedExecutor.Stats(0, 0, 3, 0), executor.stats());
    }

    @Test
    void closeReturnsWhatDidNotRunInOrderAndRefusesNewWork() throws Exception {
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().threads(1).build();
        CountDownLatch gate = new CountDownLatch(1);
        CountDownLatch started = new CountDownLatch(1);
        executor.execute("k", () -> {
            started.countDown();
            await(gate);
        });
        List<Runnable> queued = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            Runnable r = () -> { };
            queued.add(r);
            executor.execute("k", r);
        }
        assertTrue(started.await(10, TimeUnit.SECONDS));
        List<KeyedExecutor.PendingTask<String>> notRun = executor.close(Duration.ofMillis(100));
        assertEquals(queued, notRun.stream().map(KeyedExecutor.PendingTask::task).toList());
        assertTrue(notRun.stream().allMatch(p -> p.key().equals("k")));
        RejectedExecutionException refused = assertThrows(RejectedExecutionException.class,
                () -> executor.execute("k", () -> { }));
        assertTrue(refused.getMessage().contains("closed"), refused.getMessage());
        assertTrue(executor.isClosed());
        gate.countDown();
    }

    /**
     * Close racing a drain, forced step by step: key k has X1, X2, X3 queued behind a running X0.
     * (1) The drain finished X0 and is about to take X1; (2) close(ZERO) takes X1; (3) the drain
     * goes on; (4) close goes on. close must return a suffix of the key's queue, [X1, X2, X3], and
     * X2 and X3 must not run (returning [X1, X3] while X2 ran would break per-key order).
     */
    @Test
    void closeReturnsASuffixOfEachKeysQueueWhenItRacesWithADrain() throws Exception {
        CountDownLatch drainAtClaim = new CountDownLatch(1);
        CountDownLatch drainGo = new CountDownLatch(1);
        CountDownLatch closeClaimedOne = new CountDownLatch(1);
        CountDownLatch closeGo = new CountDownLatch(1);
        AtomicBoolean drainArmed = new AtomicBoolean();
        AtomicBoolean closeArmed = new AtomicBoolean(true);
        KeyedExecutor.RaceProbe probe = new KeyedExecutor.RaceProbe() {
            @Override
            public void drainClaims(Object key) {
                if (drainArmed.compareAndSet(true, false)) {
                    drainAtClaim.countDown();
                    await(drainGo);
                }
            }

            @Override
            public void closeClaimed(Object key) {
                if (closeArmed.compareAndSet(true, false)) {
                    closeClaimedOne.countDown();
                    await(closeGo);
                }
            }
        };
        List<Thread> drains = new java.util.concurrent.CopyOnWriteArrayList<>();
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().raceProbe(probe)
                .drainExecutor(drain -> drains.add(Thread.ofPlatform().name("drain-" + drains.size()).start(drain)))
                .build();
        CountDownLatch x0Started = new CountDownLatch(1);
        CountDownLatch x0Go = new CountDownLatch(1);
        executor.execute("k", () -> {
            x0Started.countDown();
            await(x0Go);
        });
        ConcurrentLinkedQueue<Integer> ran = new ConcurrentLinkedQueue<>();
        List<Runnable> queued = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            int n = i;
            Runnable x = () -> ran.add(n);
            queued.add(x);
            executor.execute("k", x);
        }
        assertTrue(x0Started.await(10, TimeUnit.SECONDS));
        drainArmed.set(true);
        x0Go.countDown();
        assertTrue(drainAtClaim.await(10, TimeUnit.SECONDS), "(1) the drain must reach its next claim");
        CompletableFuture<List<KeyedExecutor.PendingTask<String>>> closing = new CompletableFuture<>();
        Thread closer = Thread.ofPlatform().name("closer").start(() -> closing.complete(executor.close(Duration.ZERO)));
        assertTrue(closeClaimedOne.await(10, TimeUnit.SECONDS), "(2) close must take a task");
        drainGo.countDown(); // (3)
        join(drains);
        closeGo.countDown(); // (4)
        closer.join(TimeUnit.SECONDS.toMillis(10));
        assertEquals(queued, closing.get(10, TimeUnit.SECONDS).stream().map(KeyedExecutor.PendingTask::task).toList());
        assertEquals(List.of(), List.copyOf(ran));
    }

    /**
     * The drain never waits for a submitter: a submitter stopped just before it queues its task
     * (holding nothing the drain waits for, so an OutOfMemoryError there cannot wedge the key)
     * does not keep the key's drain from ending, and its task runs once it goes on.
     */
    @Test
    void aStoppedSubmitterDoesNotHoldTheDrain() throws Exception {
        CountDownLatch submitterStopped = new CountDownLatch(1);
        CountDownLatch submitterGo = new CountDownLatch(1);
        AtomicBoolean armed = new AtomicBoolean();
        KeyedExecutor.RaceProbe probe = new KeyedExecutor.RaceProbe() {
            @Override
            public void submitterLinks(Object key) {
                if (armed.compareAndSet(true, false)) {
                    submitterStopped.countDown();
                    await(submitterGo);
                }
            }
        };
        List<Thread> drains = new java.util.concurrent.CopyOnWriteArrayList<>();
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().raceProbe(probe)
                .drainExecutor(drain -> drains.add(Thread.ofPlatform().start(drain))).build();
        CountDownLatch x0Go = new CountDownLatch(1);
        executor.execute("k", () -> await(x0Go));
        armed.set(true);
        CountDownLatch x1Ran = new CountDownLatch(1);
        Thread submitter = Thread.ofPlatform().start(() -> executor.execute("k", x1Ran::countDown));
        assertTrue(submitterStopped.await(10, TimeUnit.SECONDS));
        x0Go.countDown();
        Thread firstDrain = drains.getFirst();
        firstDrain.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(firstDrain.isAlive(), "the drain must end while the submitter is stopped");
        assertEquals(0, executor.stats().activeKeys(), "the idle key must be released");
        submitterGo.countDown();
        submitter.join(TimeUnit.SECONDS.toMillis(10));
        assertTrue(x1Ran.await(10, TimeUnit.SECONDS));
        assertEquals(List.of(), executor.close(Duration.ofSeconds(10)));
    }

    @Test
    void closeWaitsForAcceptedWorkToFinish() throws Exception {
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threads(2).build();
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 10_000; i++) {
            executor.execute(i % 100, ran::incrementAndGet);
        }
        assertEquals(List.of(), executor.close(Duration.ofSeconds(30)));
        assertEquals(10_000, ran.get());
    }

    /**
     * close() races with submitters. Every submit either throws, or its task runs, or close()
     * returns it: exactly one, never lost, never twice.
     */
    @ParameterizedTest
    @EnumSource(ThreadMode.class)
    void closeRacingWithSubmitLosesNothing(ThreadMode mode) throws Exception {
        for (int round = 0; round < 30; round++) {
            KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threadMode(mode).threads(2).build();
            AtomicLong accepted = new AtomicLong();
            AtomicLong ran = new AtomicLong();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                int base = s * 1_000;
                threads.add(Thread.ofPlatform().start(() -> {
                    await(go);
                    for (int i = 0; ; i++) {
                        try {
                            executor.execute(base + i % 500, ran::incrementAndGet);
                            accepted.incrementAndGet();
                        } catch (RejectedExecutionException closed) {
                            assertInstanceOf(RejectedExecutionException.class, closed);
                            return;
                        }
                    }
                }));
            }
            go.countDown();
            Thread.onSpinWait();
            List<KeyedExecutor.PendingTask<Integer>> notRun = executor.close(Duration.ZERO);
            join(threads);
            // Tasks a drain took just before the abandon finish on their own, promptly.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ran.get() + notRun.size() < accepted.get() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(accepted.get(), ran.get() + notRun.size(), "round " + round);
        }
    }

    /** 100,000 keys with one task each leave nothing behind once they ran. */
    @Test
    void idleKeysLeaveNoState() throws Exception {
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threads(2).maxQueued(200_000).build();
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 100_000; i++) {
            executor.execute(i, ran::incrementAndGet);
        }
        assertEquals(List.of(), executor.close(Duration.ofSeconds(30)));
        assertEquals(100_000, ran.get());
        assertEquals(0, executor.stats().activeKeys(), "the key map must be empty");
        assertEquals(0, executor.stats().queued());
    }

    @Test
    void badSettingsAreRefusedWithTheValue() {
        assertEquals("threads must be at least 1, was 0",
                assertThrows(IllegalArgumentException.class, () -> KeyedExecutor.builder().threads(0)).getMessage());
        assertEquals("maxQueued must be at least 1, was -1",
                assertThrows(IllegalArgumentException.class, () -> KeyedExecutor.builder().maxQueued(-1)).getMessage());
        assertEquals("batchSize must be at least 1, was 0",
                assertThrows(IllegalArgumentException.class, () -> KeyedExecutor.builder().batchSize(0)).getMessage());
        KeyedExecutor<String> executor = KeyedExecutor.<String>builder().build();
        assertThrows(NullPointerException.class, () -> executor.execute(null, () -> { }));
        executor.close();
    }

    /** Waits for a latch the test releases; bounded, so a broken executor fails instead of hanging. */
    static void await(CountDownLatch latch) {
        try {
            if (!latch.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("latch not released within 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
