package dev.taskevents.engine.executor;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** The threads a {@link KeyedExecutor} runs tasks on. */
public enum ThreadMode {
    /**
     * A fixed pool of daemon platform threads sharing one FIFO queue of ready keys. The default:
     * for short tasks it is faster than virtual threads, and the engine never blocks a thread on
     * I/O (it holds keys with async tasks instead). See docs/executor.md's measurement. A plain FIFO
     * queue, not a work-stealing pool: a ForkJoinPool worker runs the tasks it submits itself
     * before anything else, which would let a busy key's re-submitted drain starve the others.
     */
    PLATFORM {
        @Override
        ExecutorService newPool(int threads, String namePrefix) {
            ThreadFactory factory = Thread.ofPlatform().name(namePrefix, 0).daemon(true).factory();
            return new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                    factory);
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
