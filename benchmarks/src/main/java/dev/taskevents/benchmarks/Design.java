package dev.taskevents.benchmarks;

import com.google.common.util.concurrent.MoreExecutors;
import dev.taskevents.engine.executor.KeyedExecutor;
import dev.taskevents.engine.executor.ThreadMode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** A way to run tasks in order per key: taskevents' keyed executor or one of the designs in use today. */
interface Design extends AutoCloseable {
    String name();

    void submit(int key, Runnable task);

    @Override
    void close();

    static List<Design> all(int threads) {
        return List.of(new TaskEvents(threads, ThreadMode.PLATFORM), new Polling(threads), new Striped(threads),
                new Sequential(threads));
    }

    /** taskevents' {@link KeyedExecutor}. */
    final class TaskEvents implements Design {
        final KeyedExecutor<Integer> executor;
        final ThreadMode mode;

        TaskEvents(int threads, ThreadMode mode) {
            this.mode = mode;
            this.executor = KeyedExecutor.<Integer>builder().threads(threads).threadMode(mode).maxQueued(2_000_000)
                    .submitTimeout(Duration.ofMinutes(1)).build();
        }

        @Override
        public String name() {
            return mode == ThreadMode.PLATFORM ? "taskevents" : "taskevents (virtual)";
        }

        @Override
        public void submit(int key, Runnable task) {
            executor.execute(key, task);
        }

        @Override
        public void close() {
            executor.close(Duration.ofMinutes(1));
        }
    }

    /**
     * Apache DolphinScheduler's master (2022) in small: a queue per key in a map; one thread that
     * every 100 ms hands each non-empty queue to a fixed pool; a marker map so that a key is not
     * drained twice at once. (Here the marker is set before the hand-off, with putIfAbsent; the
     * original set it after, which let two threads drain one key.) Queues stay in the map.
     */
    final class Polling implements Design {
        private final Map<Integer, ConcurrentLinkedQueue<Runnable>> queues = new ConcurrentHashMap<>();
        private final Map<Integer, Boolean> running = new ConcurrentHashMap<>();
        private final ExecutorService pool;
        private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor();

        Polling(int threads) {
            pool = Executors.newFixedThreadPool(threads);
            poller.scheduleWithFixedDelay(this::poll, 100, 100, TimeUnit.MILLISECONDS);
        }

        private void poll() {
            for (Map.Entry<Integer, ConcurrentLinkedQueue<Runnable>> entry : queues.entrySet()) {
                Integer key = entry.getKey();
                ConcurrentLinkedQueue<Runnable> queue = entry.getValue();
                if (!queue.isEmpty() && running.putIfAbsent(key, Boolean.TRUE) == null) {
                    pool.execute(() -> {
                        try {
                            Runnable task;
                            while ((task = queue.poll()) != null) {
                                task.run();
                            }
                        } finally {
                            running.remove(key);
                        }
                    });
                }
            }
        }

        @Override
        public String name() {
            return "polling (DolphinScheduler)";
        }

        @Override
        public void submit(int key, Runnable task) {
            queues.computeIfAbsent(key, k -> new ConcurrentLinkedQueue<>()).add(task);
        }

        @Override
        public void close() {
            poller.shutdownNow();
            pool.shutdownNow();
        }
    }

    /** N single-thread executors; the key's hash picks one (Apache BookKeeper's OrderedExecutor). */
    final class Striped implements Design {
        private final ExecutorService[] stripes;

        Striped(int threads) {
            stripes = new ExecutorService[threads];
            for (int i = 0; i < threads; i++) {
                stripes[i] = Executors.newSingleThreadExecutor();
            }
        }

        @Override
        public String name() {
            return "striped (BookKeeper)";
        }

        @Override
        public void submit(int key, Runnable task) {
            stripes[Math.floorMod(Integer.hashCode(key) * 0x9E3779B9, stripes.length)].execute(task);
        }

        @Override
        public void close() {
            for (ExecutorService stripe : stripes) {
                stripe.shutdownNow();
            }
        }
    }

    /** Guava's {@code MoreExecutors.newSequentialExecutor} per key over one shared pool; kept per key in a map. */
    final class Sequential implements Design {
        private final ExecutorService pool;
        private final Map<Integer, Executor> perKey = new ConcurrentHashMap<>();

        Sequential(int threads) {
            pool = Executors.newFixedThreadPool(threads);
        }

        @Override
        public String name() {
            return "sequential (Guava)";
        }

        @Override
        public void submit(int key, Runnable task) {
            perKey.computeIfAbsent(key, k -> MoreExecutors.newSequentialExecutor(pool)).execute(task);
        }

        @Override
        public void close() {
            pool.shutdownNow();
        }
    }
}
