package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Seeded randomized stress (the model checker, {@code KeyedExecutorLincheckTest}, explores small
 * scenarios exhaustively; this runs large ones on real threads): thousands of short runs, each with
 * a random number of keys, submitters, tasks, batch size, thread mode and task kinds, and in a
 * third of them close(ZERO) racing with the submitters. Async tasks return stages that are already
 * complete, failed or cancelled, or that complete, fail or are cancelled later on another thread;
 * some sync tasks throw.
 *
 * <p>A ledger keeps every task by identity, with the ticket of a global clock taken just before
 * its submit was called and just after it returned. Submits of one key ordered in real time (one
 * returned before the other was called) are ordered in the key's queue, so each run checks:
 * <ul>
 *   <li>never two tasks of a key at once (held from the task's start to its stage's completion);
 *   <li>per key, tasks ran in queue order: none ran after a task it precedes;
 *   <li>close returned a per-key suffix of the queue: no returned task precedes one that ran, and
 *       close's list is in queue order;
 *   <li>every accepted task ran exactly once or was returned by close, never both, never neither;
 *       a refused task never ran and was never returned;
 *   <li>the handler got exactly the planned failures of the tasks that ran, and the counters agree.
 * </ul>
 * A failing seed is printed so the run can be repeated. {@code -Dtaskevents.reliability.iterations=N}
 * (CI: 5,000).
 */
class KeyedExecutorRandomStressTest {

    /** Completes, fails and cancels the stages of async tasks, off the drains' threads. */
    private static final ExecutorService COMPLETER = Executors.newFixedThreadPool(2,
            Thread.ofPlatform().name("stage-completer-", 0).daemon(true).factory());

    @Test
    void randomizedRunsKeepEveryGuarantee() throws Exception {
        int iterations = Integer.getInteger("taskevents.reliability.iterations", 5_000);
        long seed0 = 8_675_309;
        long tasksRun = 0;
        long tasksReturned = 0;
        long tasksFailed = 0;
        int closesRacing = 0;
        for (int i = 0; i < iterations; i++) {
            long seed = seed0 + i;
            Outcome outcome = runOnce(seed);
            assertEquals(List.of(), outcome.violations, "seed " + seed);
            tasksRun += outcome.ran;
            tasksReturned += outcome.returned;
            tasksFailed += outcome.failed;
            closesRacing += outcome.closeRaced ? 1 : 0;
        }
        System.out.printf("RELIABILITY executor-stress: iterations=%d tasks-run=%d tasks-failed=%d"
                + " tasks-returned-by-close=%d runs-with-racing-close=%d violations=0%n", iterations, tasksRun,
                tasksFailed, tasksReturned, closesRacing);
        assertTrue(closesRacing > 0);
        assertTrue(tasksReturned > 0, "no run had a task returned by close: the suffix check was never exercised");
    }

    record Outcome(List<String> violations, long ran, long failed, long returned, boolean closeRaced) {}

    /** How a task ends. */
    enum Kind {
        SYNC, SYNC_THROWS, ASYNC_DONE, ASYNC_FAILED, ASYNC_CANCELLED, ASYNC_LATER, ASYNC_FAILS_LATER,
        ASYNC_CANCELLED_LATER;

        boolean fails() {
            return this == SYNC_THROWS || this == ASYNC_FAILED || this == ASYNC_CANCELLED || this == ASYNC_FAILS_LATER
                    || this == ASYNC_CANCELLED_LATER;
        }
    }

    /** One submitted task: its identity is what execute/executeAsync got, and what close returns. */
    static final class Entry {
        final int key;
        final Kind kind;
        final long calledAt;
        volatile long returnedAt = Long.MAX_VALUE; // refused or not yet returned
        volatile boolean accepted;
        final AtomicInteger runs = new AtomicInteger();
        volatile boolean finished;
        Object submitted; // the Runnable or Supplier, as close returns it

        Entry(int key, Kind kind, long calledAt) {
            this.key = key;
            this.kind = kind;
            this.calledAt = calledAt;
        }

        /** Whether this submit returned before {@code later}'s was called: then it is ahead in the queue. */
        boolean precedes(Entry later) {
            return returnedAt < later.calledAt;
        }
    }

    private static Outcome runOnce(long seed) throws Exception {
        Random random = new Random(seed);
        int keys = 1 + random.nextInt(8);
        int submitters = 1 + random.nextInt(4);
        int perSubmitter = 1 + random.nextInt(200);
        boolean raceClose = random.nextInt(3) == 0;
        int asyncPercent = random.nextInt(4) * 25;
        ThreadMode mode = random.nextBoolean() ? ThreadMode.PLATFORM : ThreadMode.VIRTUAL;
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        AtomicLong handled = new AtomicLong();
        KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().threadMode(mode)
                .threads(1 + random.nextInt(3)).batchSize(1 + random.nextInt(8))
                .exceptionHandler((key, error) -> {
                    if (!(error instanceof Planned) && !(error instanceof java.util.concurrent.CancellationException)) {
                        violations.add("key " + key + ": unplanned failure " + error);
                    }
                    handled.incrementAndGet();
                }).build();
        AtomicInteger[] inFlight = new AtomicInteger[keys];
        List<ConcurrentLinkedQueue<Entry>> runOrder = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            inFlight[k] = new AtomicInteger();
            runOrder.add(new ConcurrentLinkedQueue<>());
        }
        AtomicLong clock = new AtomicLong();
        ConcurrentLinkedQueue<Entry> entries = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < submitters; s++) {
            long threadSeed = random.nextLong();
            threads.add(Thread.ofPlatform().start(() -> {
                Random r = new Random(threadSeed);
                for (int n = 0; n < perSubmitter; n++) {
                    int key = r.nextInt(keys);
                    Kind kind = r.nextInt(100) < asyncPercent
                            ? Kind.values()[2 + r.nextInt(Kind.values().length - 2)]
                            : (r.nextInt(10) == 0 ? Kind.SYNC_THROWS : Kind.SYNC);
                    Entry entry = new Entry(key, kind, clock.incrementAndGet());
                    entries.add(entry);
                    Runnable enter = () -> {
                        if (inFlight[key].incrementAndGet() != 1) {
                            violations.add("key " + key + " ran two tasks at once");
                        }
                        if (entry.runs.incrementAndGet() != 1) {
                            violations.add("key " + key + ": a task ran twice");
                        }
                        runOrder.get(key).add(entry);
                    };
                    // Leaves the key: called before the task ends (its stage completes), while it is held.
                    Runnable exit = () -> {
                        inFlight[key].decrementAndGet();
                        entry.finished = true;
                    };
                    try {
                        if (kind == Kind.SYNC || kind == Kind.SYNC_THROWS) {
                            Runnable task = () -> {
                                enter.run();
                                exit.run();
                                if (kind == Kind.SYNC_THROWS) {
                                    throw new Planned();
                                }
                            };
                            entry.submitted = task;
                            executor.execute(key, task);
                        } else {
                            Supplier<CompletableFuture<?>> task = () -> {
                                enter.run();
                                return stage(kind, exit);
                            };
                            entry.submitted = task;
                            executor.executeAsync(key, task);
                        }
                        entry.returnedAt = clock.incrementAndGet();
                        entry.accepted = true;
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
            if (!returned.isEmpty()) {
                violations.add("close with a 30 s deadline returned " + returned.size() + " tasks");
            }
        }
        Map<Object, Entry> bySubmitted = new IdentityHashMap<>();
        for (Entry e : entries) {
            bySubmitted.put(e.submitted, e);
        }
        List<List<Entry>> returnedPerKey = new ArrayList<>();
        for (int k = 0; k < keys; k++) {
            returnedPerKey.add(new ArrayList<>());
        }
        Map<Entry, Boolean> returnedSet = new IdentityHashMap<>();
        for (KeyedExecutor.PendingTask<Integer> p : returned) {
            Entry e = bySubmitted.get(p.task());
            if (e == null) {
                violations.add("close returned a task nobody submitted: " + p);
            } else if (returnedSet.put(e, Boolean.TRUE) != null) {
                violations.add("close returned a task twice, key " + e.key);
            } else if (e.key != p.key()) {
                violations.add("close returned a task of key " + e.key + " under key " + p.key());
            } else {
                returnedPerKey.get(e.key).add(e);
            }
        }
        // Tasks a drain claimed before close walked its queue end on their own, and stages complete
        // on the completer: wait for those (a task that never ends fails the run after 10 s).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Entry e : entries) {
            while (e.accepted && !returnedSet.containsKey(e) && !e.finished && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
        }
        while (executor.stats().queued() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        long ran = 0;
        long plannedFailures = 0;
        for (Entry e : entries) {
            boolean wasReturned = returnedSet.containsKey(e);
            int runs = e.runs.get();
            if (!e.accepted && (runs != 0 || wasReturned)) {
                violations.add("key " + e.key + ": a refused task ran or was returned");
            } else if (e.accepted && runs + (wasReturned ? 1 : 0) != 1) {
                violations.add("key " + e.key + ": an accepted task ran " + runs + " times and was "
                        + (wasReturned ? "" : "not ") + "returned by close");
            } else if (e.accepted && runs == 1 && !e.finished) {
                violations.add("key " + e.key + ": a task started and never ended");
            }
            ran += runs;
            plannedFailures += runs == 1 && e.kind.fails() ? 1 : 0;
        }
        for (int k = 0; k < keys; k++) {
            checkQueueOrder(k, "ran", List.copyOf(runOrder.get(k)), violations);
            checkQueueOrder(k, "returned by close", returnedPerKey.get(k), violations);
            long latestRanCalledAt = runOrder.get(k).stream().mapToLong(e -> e.calledAt).max().orElse(Long.MIN_VALUE);
            for (Entry e : returnedPerKey.get(k)) {
                if (e.returnedAt < latestRanCalledAt) {
                    violations.add("key " + k + ": close returned a task whose successor ran (not a suffix)");
                }
            }
        }
        KeyedExecutor.Stats stats = executor.stats();
        if (handled.get() != plannedFailures || stats.failed() != plannedFailures
                || stats.completed() != ran - plannedFailures) {
            violations.add("failures: planned " + plannedFailures + " of " + ran + " run, handler got " + handled.get()
                    + ", stats " + stats);
        }
        if (stats.queued() != 0) {
            violations.add("permits not all back: " + stats);
        }
        if (!raceClose && stats.activeKeys() != 0) {
            violations.add("idle keys still held after close: " + stats);
        }
        return new Outcome(List.copyOf(violations), ran, plannedFailures, returned.size(), raceClose);
    }

    /** No task in {@code order} comes after one it precedes: the key's queue order is kept. */
    private static void checkQueueOrder(int key, String what, List<Entry> order, ConcurrentLinkedQueue<String> violations) {
        long latestCalledAt = Long.MIN_VALUE;
        for (Entry e : order) {
            if (e.returnedAt < latestCalledAt) {
                violations.add("key " + key + ": tasks " + what + " out of queue order");
                return;
            }
            latestCalledAt = Math.max(latestCalledAt, e.calledAt);
        }
    }

    /** The stage of an async task of {@code kind}; {@code exit} runs before the stage completes. */
    private static CompletableFuture<?> stage(Kind kind, Runnable exit) {
        switch (kind) {
            case ASYNC_DONE -> {
                exit.run();
                return CompletableFuture.completedFuture(null);
            }
            case ASYNC_FAILED -> {
                exit.run();
                return CompletableFuture.failedFuture(new Planned());
            }
            case ASYNC_CANCELLED -> {
                exit.run();
                CompletableFuture<Void> cancelled = new CompletableFuture<>();
                cancelled.cancel(false);
                return cancelled;
            }
            case ASYNC_LATER -> {
                return CompletableFuture.runAsync(exit, COMPLETER);
            }
            case ASYNC_FAILS_LATER -> {
                return CompletableFuture.runAsync(() -> {
                    exit.run();
                    throw new Planned();
                }, COMPLETER);
            }
            case ASYNC_CANCELLED_LATER -> {
                CompletableFuture<Void> stage = new CompletableFuture<>();
                COMPLETER.execute(() -> {
                    exit.run();
                    stage.cancel(false);
                });
                return stage;
            }
            default -> throw new IllegalArgumentException("not async: " + kind);
        }
    }

    /** The exception of a task planned to fail. */
    static final class Planned extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Planned() {
            super("planned failure", null, false, false);
        }
    }
}
