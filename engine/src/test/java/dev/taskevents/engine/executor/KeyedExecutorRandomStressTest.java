package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Seeded randomized stress, in place of jcstress/Lincheck (which do not fit the module path and
 * CI's time here): thousands of short runs, each with a random number of keys, submitters, tasks,
 * batch size, thread mode and sync/async mix, and in a third of them close(ZERO) racing with the
 * submitters. Each run checks: never two tasks of a key at once; each submitter's tasks of a key
 * in order; and every accepted task either ran exactly once or was returned by close(), never
 * both, never neither. A failing seed is printed so the run can be repeated.
 * {@code -Dtaskevents.reliability.iterations=N} (CI: 5,000).
 */
class KeyedExecutorRandomStressTest {

    @Test
    void randomizedRunsKeepEveryGuarantee() throws Exception {
        int iterations = Integer.getInteger("taskevents.reliability.iterations", 5_000);
        long seed0 = 8_675_309;
        long tasksRun = 0;
        long tasksReturned = 0;
        int closesRacing = 0;
        for (int i = 0; i < iterations; i++) {
            long seed = seed0 + i;
            Outcome outcome = runOnce(seed);
            assertEquals(List.of(), outcome.violations, "seed " + seed);
            tasksRun += outcome.ran;
            tasksReturned += outcome.returned;
            closesRacing += outcome.closeRaced ? 1 : 0;
        }
        System.out.printf("RELIABILITY executor-stress: iterations=%d tasks-run=%d tasks-returned-by-close=%d"
                + " runs-with-racing-close=%d violations=0%n", iterations, tasksRun, tasksReturned, closesRacing);
        assertTrue(closesRacing > 0);
    }

    record Outcome(List<String> violations, long ran, long returned, boolean closeRaced) {}

    private static Outcome runOnce(long seed) throws Exception {
        Random random = new Random(seed);
        int keys = 1 + random.nextInt(8);
        int submitters = 1 + random.nextInt(4);
        int perSubmitter = 1 + random.nextInt(200);
        boolean raceClose = random.nextInt(3) == 0;
        ThreadMode mode = random.nextBoolean() ? ThreadMode.PLATFORM : ThreadMode.VIRTUAL;
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threadMode(mode)
                .threads(1 + random.nextInt(3)).batchSize(1 + random.nextInt(8)).build();
        AtomicInteger[] inFlight = new AtomicInteger[keys];
        long[][] last = new long[keys][submitters];
        for (int k = 0; k < keys; k++) {
            inFlight[k] = new AtomicInteger();
            java.util.Arrays.fill(last[k], -1);
        }
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        AtomicLong ran = new AtomicLong();
        AtomicLong accepted = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < submitters; s++) {
            int submitter = s;
            long threadSeed = random.nextLong();
            threads.add(Thread.ofPlatform().start(() -> {
                Random r = new Random(threadSeed);
                for (int n = 0; n < perSubmitter; n++) {
                    int key = r.nextInt(keys);
                    long seq = n;
                    Runnable body = () -> {
                        if (inFlight[key].incrementAndGet() != 1) {
                            violations.add("key " + key + " ran two tasks at once");
                        }
                        if (last[key][submitter] >= seq) {
                            violations.add("key " + key + " submitter " + submitter + " out of order");
                        }
                        last[key][submitter] = seq;
                        inFlight[key].decrementAndGet();
                        ran.incrementAndGet();
                    };
                    try {
                        if (r.nextInt(4) == 0) {
                            executor.executeAsync(key, () -> {
                                body.run();
                                return CompletableFuture.completedFuture(null);
                            });
                        } else {
                            executor.execute(key, body);
                        }
                        accepted.incrementAndGet();
                    } catch (RejectedExecutionException closed) {
                        return;
                    }
                }
            }));
        }
        List<KeyedExecutor.PendingTask<Integer>> returned;
        if (raceClose) {
            returned = executor.close(Duration.ZERO);
            for (Thread t : threads) {
                t.join();
            }
        } else {
            for (Thread t : threads) {
                t.join();
            }
            returned = executor.close(Duration.ofSeconds(30));
        }
        // Tasks a drain took just before close() abandoned finish on their own, quickly.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ran.get() + returned.size() < accepted.get() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        if (ran.get() + returned.size() != accepted.get()) {
            violations.add("accepted " + accepted.get() + " but ran " + ran.get() + " + returned " + returned.size());
        }
        if (!raceClose && !returned.isEmpty()) {
            violations.add("close with a 30 s deadline returned " + returned.size() + " tasks");
        }
        return new Outcome(List.copyOf(violations), ran.get(), returned.size(), raceClose);
    }
}
