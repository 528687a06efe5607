package dev.taskevents.engine.executor;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;

/** The threads a {@link KeyedExecutor} runs tasks on. */
public enum ThreadMode {
    /**
     * A fixed pool of daemon platform threads (a FIFO {@link ForkJoinPool}). The default: for
     * short tasks it is faster than virtual threads, and the engine never blocks a thread on I/O
     * (it holds keys with async tasks instead). See the README's measurement.
     */
    PLATFORM {
        @Override
        ExecutorService newPool(int threads, String namePrefix) {
            AtomicInteger next = new AtomicInteger();
            return new ForkJoinPool(threads, pool -> {
                ForkJoinWorkerThread thread = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
                thread.setName(namePrefix + next.getAndIncrement());
                thread.setDaemon(true);
                return thread;
            }, null, true);
        }
    },
    /**
     * A virtual thread per drain. Choose it when tasks block (JDBC calls, sleeps): a blocked
     * virtual thread does not hold a carrier, so other keys keep running.
     */
    VIRTUAL {
        @Override
        ExecutorService newPool(int threads, String namePrefix) {
            return Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name(namePrefix, 0).factory());
        }
    };

    abstract ExecutorService newPool(int threads, String namePrefix);
}
