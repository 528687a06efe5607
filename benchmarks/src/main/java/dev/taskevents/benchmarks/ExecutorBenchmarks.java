package dev.taskevents.benchmarks;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * The keyed-executor workloads, run the same way for every {@link Design}. Each checks what the
 * design promises: per key, never two tasks at once and each submitter's tasks in order. A design
 * that breaks it is reported with its violations, however fast it was.
 */
final class ExecutorBenchmarks {
    private ExecutorBenchmarks() {}

    /** Per key: an in-flight counter and the next expected sequence number (one submitter per key). */
    static final class OrderCheck {
        final AtomicInteger[] inFlight;
        final int[] next;
        final AtomicLong violations = new AtomicLong();

        OrderCheck(int keys) {
            inFlight = new AtomicInteger[keys];
            next = new int[keys];
            for (int k = 0; k < keys; k++) {
                inFlight[k] = new AtomicInteger();
            }
        }

        void enter(int key, int seq) {
            if (inFlight[key].incrementAndGet() != 1) {
                violations.incrementAndGet();
            }
            if (next[key] != seq) {
                violations.incrementAndGet();
            }
            next[key] = seq + 1;
        }

        void exit(int key) {
            inFlight[key].decrementAndGet();
        }
    }

    record Burst(String design, Stats eventsPerSecond, long violations) {}

    /** {@code keys} x {@code perKey} empty tasks from 2 submitting threads, as fast as they go. */
    static Burst burst(Supplier<Design> factory, int keys, int perKey, int repetitions) throws InterruptedException {
        double[] rates = new double[repetitions];
        long violations = 0;
        String name = null;
        for (int rep = -1; rep < repetitions; rep++) { // rep -1 warms up
            try (Design design = factory.get()) {
                name = design.name();
                OrderCheck check = new OrderCheck(keys);
                CountDownLatch done = new CountDownLatch(keys * perKey);
                long start = System.nanoTime();
                Thread[] submitters = new Thread[2];
                for (int s = 0; s < 2; s++) {
                    int first = s;
                    submitters[s] = Thread.ofPlatform().start(() -> {
                        for (int i = 0; i < perKey; i++) {
                            int seq = i;
                            for (int k = first; k < keys; k += 2) {
                                int key = k;
                                design.submit(key, () -> {
                                    check.enter(key, seq);
                                    check.exit(key);
                                    done.countDown();
                                });
                            }
                        }
                    });
                }
                for (Thread t : submitters) {
                    t.join();
                }
                if (!done.await(10, TimeUnit.MINUTES)) {
                    throw new IllegalStateException(design.name() + " did not finish the burst");
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                if (rep >= 0) {
                    rates[rep] = keys * (double) perKey / seconds;
                    violations += check.violations.get();
                }
            }
        }
        return new Burst(name, Stats.of(rates), violations);
    }

    record Paced(String design, double p50, double p99, double max, double slowP99, long violations) {}

    /**
     * {@code keys} x {@code perKey} events sent at a fixed {@code rate}; each task blocks 1 ms, the
     * tasks of 1% of the keys block 20 ms. Latency is from each event's intended send time to the
     * end of its task, so a sender held up by the design is not forgiven (no coordinated omission).
     */
    static Paced paced(Supplier<Design> factory, int keys, int perKey, int rate) throws InterruptedException {
        int events = keys * perKey;
        int[] order = new int[events];
        Random random = new Random(7);
        for (int round = 0; round < perKey; round++) {
            int[] permutation = random.ints(0, keys).distinct().limit(keys).toArray();
            System.arraycopy(permutation, 0, order, round * keys, keys);
        }
        long[] latency = new long[events];
        boolean[] slow = new boolean[events];
        try (Design design = factory.get()) {
            OrderCheck check = new OrderCheck(keys);
            int[] seqOf = new int[keys];
            CountDownLatch done = new CountDownLatch(events);
            long period = 1_000_000_000L / rate;
            long start = System.nanoTime() + 20_000_000;
            for (int i = 0; i < events; i++) {
                long intended = start + i * period;
                long wait;
                while ((wait = intended - System.nanoTime()) > 0) {
                    if (wait > 50_000) {
                        LockSupport.parkNanos(wait - 50_000);
                    } else {
                        Thread.onSpinWait();
                    }
                }
                int key = order[i];
                int seq = seqOf[key]++;
                int index = i;
                boolean slowKey = key % 100 == 0;
                slow[i] = slowKey;
                design.submit(key, () -> {
                    check.enter(key, seq);
                    try {
                        Thread.sleep(slowKey ? 20 : 1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    check.exit(key);
                    latency[index] = System.nanoTime() - intended;
                    done.countDown();
                });
            }
            if (!done.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException(design.name() + " did not finish the paced run");
            }
            long[] fast = new long[events];
            long[] slowOnes = new long[events];
            int nFast = 0;
            int nSlow = 0;
            for (int i = 0; i < events; i++) {
                if (slow[i]) {
                    slowOnes[nSlow++] = latency[i];
                } else {
                    fast[nFast++] = latency[i];
                }
            }
            fast = Arrays.copyOf(fast, nFast);
            slowOnes = Arrays.copyOf(slowOnes, nSlow);
            Arrays.sort(fast);
            Arrays.sort(slowOnes);
            return new Paced(design.name(), Stats.percentileMillis(fast, 0.50), Stats.percentileMillis(fast, 0.99),
                    fast[fast.length - 1] / 1e6, Stats.percentileMillis(slowOnes, 0.99), check.violations.get());
        }
    }

    record Idle(String design, long retainedBytes, int keys) {
        double bytesPerKey() {
            return (double) retainedBytes / keys;
        }
    }

    /** One task for each of {@code keys} keys; the heap the design still holds once all ran. */
    static Idle idleKeys(Supplier<Design> factory, int keys) throws InterruptedException {
        long before = usedHeapAfterGc();
        Design design = factory.get();
        try {
            CountDownLatch done = new CountDownLatch(keys);
            for (int k = 0; k < keys; k++) {
                design.submit(k, done::countDown);
            }
            if (!done.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException(design.name() + " did not run every key");
            }
            Thread.sleep(300); // let the last drains return (and the poller's hand-offs finish) before measuring
            long after = usedHeapAfterGc();
            return new Idle(design.name(), Math.max(0, after - before), keys);
        } finally {
            design.close();
        }
    }

    private static long usedHeapAfterGc() {
        List<Long> samples = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            System.gc();
            samples.add(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return samples.stream().mapToLong(Long::longValue).min().orElseThrow();
    }
}
