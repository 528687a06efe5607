package dev.taskevents.engine.executor;

import java.lang.System.Logger.Level;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Runs tasks in submission order per key, never two of one key at once, and tasks of different
 * keys in parallel on a shared pool of threads, without polling and without a thread per key.
 *
 * <p>Usable on its own:
 * <pre>{@code
 * try (KeyedExecutor<Long> executor = KeyedExecutor.<Long>builder().build()) {
 *     executor.execute(workflowId, () -> apply(event));
 * }
 * }</pre>
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li>Per key: tasks run one at a time, in the order their {@code execute} calls returned;
 *       each task sees the effects of the key's earlier tasks (happens-before).
 *   <li>An {@link #executeAsync async task} holds its key until the stage it returns completes,
 *       without holding a thread, so a key can wait for I/O while other keys run.
 *   <li>A busy key gives its thread back after {@code batchSize} tasks and queues behind the
 *       other ready keys, so one hot key cannot starve the others; a slow task delays only its
 *       own key.
 *   <li>At most {@code maxQueued} tasks are accepted and not yet finished. Past that,
 *       {@code execute} waits up to {@code submitTimeout} for room, then throws
 *       {@link QueueFullException}: nothing is dropped silently.
 *   <li>A key's state is released as soon as the key has nothing queued or running:
 *       {@link Stats#activeKeys()} counts only busy keys.
 *   <li>A task's exception (or its stage's failure, cancellation included) goes to the exception
 *       handler and counts as failed; the key goes on with its next task.
 *   <li>{@link #close(Duration)} stops intake, lets accepted tasks finish until the deadline, and
 *       returns those that did not start.
 * </ul>
 *
 * <h2>Implementation notes</h2>
 * Each busy key has a {@link Slot} in {@link #slots}: a lock-free FIFO queue of tasks and an
 * atomic counter {@code pending}, the number of tasks reserved for the key and not finished.
 * <ol>
 *   <li>A submitter first reserves by incrementing {@code pending} (CAS), then adds its task to
 *       the queue. Reserving before adding means {@code pending} never undercounts the queue, so
 *       a slot is never retired with a task in it. (The other order was tried and is wrong: a
 *       drain can run an added-but-unreserved task in place of a reserved one, then retire the
 *       slot with the reserved one still queued.)
 *   <li>Only the submitter whose CAS moves {@code pending} from 0 to 1 schedules the slot's drain.
 *       While {@code pending > 0} no submitter sees 0, so at most one drain of a slot is scheduled
 *       or running: that is the "scheduled flag", and the 0&rarr;1 CAS is the only way to set it.
 *   <li>The drain takes tasks in order and runs them; after each it decrements {@code pending}.
 *       A result above 0 means more tasks are reserved; one may not be in the queue yet (its
 *       submitter is between reserving and adding), so the drain waits for it to appear, briefly.
 *       A result of 0 is the drain's last act on the slot: any later submitter will see 0 and
 *       schedule a new drain. That is the re-check after clearing the flag: the decrement itself,
 *       so a submit racing with the end of a drain cannot be lost.
 *   <li>At 0 the drain tries to retire the slot: CAS {@code pending} 0&rarr;{@link #RETIRED}, then
 *       remove it from the map. A retired slot takes no reservations (submitters see the negative
 *       value, help remove it and retry with a new slot), so no task is ever added to a slot no
 *       drain will visit. If the CAS fails, a submitter reserved first and scheduled a new drain.
 *   <li>After {@code batchSize} tasks a drain re-submits itself to the pool instead of looping, so
 *       it goes behind the other ready keys; {@code pending} stays above 0, so no one else schedules.
 *   <li>An async task's drain returns without decrementing; the stage's completion does the
 *       decrement and, if more tasks are reserved, schedules the drain again.
 * </ol>
 * Capacity is a {@link Semaphore} of {@code maxQueued} permits: taken before reserving, given back
 * when a drain returns (once for all the tasks it finished), after the slot was retired if its
 * last task finished, so that "all permits back" means "no task queued or running, no key held".
 * {@code close} waits (without polling: finishing drains notify it) until all permits are back or
 * the deadline passes; then it sets {@code abandoned}, which drains check before taking each
 * task, and takes the queued tasks itself. A submitter whose add raced with that takes its own
 * task back out (by identity) and fails, so every accepted task is run, returned by
 * {@code close}, or reported to its submitter as not accepted: never lost.
 *
 * @param <K> the key type; keys are compared with {@code equals} and {@code hashCode}
 */
public final class KeyedExecutor<K> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(KeyedExecutor.class.getName());

    /** The value of {@code Slot.pending} once the slot is removed from the map. */
    private static final int RETIRED = Integer.MIN_VALUE;
    private static final VarHandle PENDING;

    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(KeyedExecutor.Slot.class, "pending", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ConcurrentHashMap<K, Slot> slots = new ConcurrentHashMap<>();
    private final ExecutorService pool;
    private final Semaphore capacity;
    private final int maxQueued;
    private final long submitTimeoutNanos;
    private final int batchSize;
    private final TaskExceptionHandler<? super K> exceptionHandler;
    private final ThreadMode threadMode;
    private final LongAdder completed = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final Object closeMonitor = new Object();
    private volatile boolean closed;
    private volatile boolean abandoned;

    private KeyedExecutor(Builder<K> b) {
        this.threadMode = b.threadMode;
        this.pool = b.threadMode.newPool(b.threads, b.threadNamePrefix);
        this.maxQueued = b.maxQueued;
        this.capacity = new Semaphore(b.maxQueued);
        this.submitTimeoutNanos = b.submitTimeout.toNanos();
        this.batchSize = b.batchSize;
        this.exceptionHandler = b.exceptionHandler;
    }

    /** A builder with the defaults: platform threads, one per core; 100,000 queued; 1 s wait; batches of 64. */
    public static <K> Builder<K> builder() {
        return new Builder<>();
    }

    /**
     * Queues {@code task} to run after every task accepted earlier for {@code key}.
     *
     * @throws QueueFullException if {@code maxQueued} tasks are waiting and none finished within
     *     {@code submitTimeout}; the task was not accepted
     * @throws RejectedExecutionException if the executor is closed, or the calling thread was
     *     interrupted while waiting for room; the task was not accepted
     */
    public void execute(K key, Runnable task) {
        Objects.requireNonNull(task, "task");
        enqueue(key, task);
    }

    /**
     * Queues an asynchronous task: {@code task} is called in turn like a {@link #execute} task, and
     * the key stays held, without holding a thread, until the stage it returns completes. A
     * stage that fails, a null stage, or an exception from {@code task} count as a failure.
     *
     * @throws QueueFullException as {@link #execute}
     * @throws RejectedExecutionException as {@link #execute}
     */
    public void executeAsync(K key, Supplier<? extends CompletionStage<?>> task) {
        Objects.requireNonNull(task, "task");
        enqueue(key, new AsyncTask(task));
    }

    /** Queues a task: a {@link Runnable}, or an {@link AsyncTask} (identity matters: see enqueue). */
    private void enqueue(K key, Object task) {
        Objects.requireNonNull(key, "key");
        if (closed) {
            throw closedError(key);
        }
        acquireCapacity(key);
        if (closed) {
            capacity.release();
            throw closedError(key);
        }
        Slot slot;
        int before;
        for (;;) {
            slot = slots.get(key);
            if (slot == null) {
                slot = slots.computeIfAbsent(key, Slot::new);
            }
            before = slot.pending;
            if (before == RETIRED) {
                slots.remove(key, slot);
            } else if (PENDING.compareAndSet(slot, before, before + 1)) {
                break;
            }
        }
        slot.tasks.add(task);
        // close() may have abandoned the queues after our closed-check: take the task back if
        // close did not take it, so that it is neither lost nor reported twice.
        if (abandoned && slot.tasks.removeIf(t -> t == task)) {
            capacity.release();
            throw closedError(key);
        }
        if (before == 0) {
            schedule(slot);
        }
    }

    private void acquireCapacity(K key) {
        if (capacity.tryAcquire()) {
            return;
        }
        try {
            if (!capacity.tryAcquire(submitTimeoutNanos, TimeUnit.NANOSECONDS)) {
                throw new QueueFullException(key, maxQueued, Duration.ofNanos(submitTimeoutNanos));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RejectedExecutionException("interrupted while waiting for room to queue a task for key "
                    + key + "; the task was not accepted", e);
        }
    }

    private RejectedExecutionException closedError(K key) {
        return new RejectedExecutionException("the keyed executor is closed; the task for key " + key
                + " was not accepted");
    }

    private void schedule(Slot slot) {
        try {
            pool.execute(slot);
        } catch (RejectedExecutionException e) {
            // The pool is shut down only by close(), after every task finished or after abandoning
            // the queues; in the second case close() has taken (or will report) the tasks.
            if (!abandoned) {
                LOG.log(Level.ERROR, "thread pool refused a drain before close; key " + slot.key + " is stalled", e);
            }
        }
    }

    /** The pending work of one busy key. Runnable: its run() is the key's drain. */
    private final class Slot implements Runnable {
        final K key;
        /** Runnables and AsyncTasks, in submission order. */
        final ConcurrentLinkedQueue<Object> tasks = new ConcurrentLinkedQueue<>();
        /** Tasks reserved and not finished, or RETIRED. See the class comment. Accessed through PENDING. */
        volatile int pending;

        Slot(K key) {
            this.key = key;
        }

        @Override
        public void run() {
            int finished = 0;
            try {
                for (int ran = 0; ; ) {
                    Object task = takeReserved();
                    if (task == null) {
                        return; // abandoned by close()
                    }
                    CompletionStage<?> stage = start(task);
                    if (stage != null) {
                        if (!(stage instanceof CompletableFuture<?> done) || !done.isDone()) {
                            stage.whenComplete((result, error) -> {
                                record(failureOf(error));
                                boolean more = finish();
                                releaseCapacity(1);
                                if (more) {
                                    schedule(this);
                                }
                            });
                            return;
                        }
                        record(failureOf(done));
                    }
                    finished++;
                    if (!finish()) {
                        return;
                    }
                    if (++ran >= batchSize) {
                        schedule(this);
                        return;
                    }
                }
            } finally {
                // Once per run rather than per task: the semaphore is the one word every thread touches.
                releaseCapacity(finished);
            }
        }

        /**
         * The next reserved task; it may be a moment from being added (see the class comment).
         * Null once abandoned. A task polled just as close() abandons still runs: close() reports
         * only what no drain took.
         */
        private Object takeReserved() {
            for (int spins = 0; ; spins++) {
                if (abandoned) {
                    return null;
                }
                Object task = tasks.poll();
                if (task != null) {
                    return task;
                }
                if (spins < 100) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
        }

        /** Runs a sync task (returns null) or starts an async one (returns its stage, or null if it failed to start). */
        private CompletionStage<?> start(Object task) {
            try {
                if (task instanceof AsyncTask async) {
                    CompletionStage<?> stage = async.supplier.get();
                    if (stage == null) {
                        record(new NullPointerException("async task for key " + key + " returned a null stage"));
                    }
                    return stage;
                }
                ((Runnable) task).run();
                record(null);
                return null;
            } catch (Throwable e) {
                record(e);
                return null;
            }
        }

        private void record(Throwable error) {
            if (error == null) {
                completed.increment();
                return;
            }
            failed.increment();
            try {
                exceptionHandler.handle(key, error);
            } catch (Throwable handlerError) {
                handlerError.addSuppressed(error);
                LOG.log(Level.ERROR, "exception handler failed for key " + key, handlerError);
            }
        }

        /**
         * Ends one task. Returns true if this drain must go on with the next reserved task, false
         * if the decrement reached 0 and the drain must not touch the slot again.
         */
        private boolean finish() {
            int left = (int) PENDING.getAndAdd(this, -1) - 1;
            if (left > 0) {
                return true;
            }
            if (PENDING.compareAndSet(this, 0, RETIRED)) {
                slots.remove(key, this);
            }
            return false;
        }
    }

    /**
     * The failure of a completed future, or null if it succeeded. Every kind of exceptional
     * completion counts, cancellation included ({@code exceptionNow} would throw for that one).
     */
    private static Throwable failureOf(CompletableFuture<?> done) {
        if (!done.isCompletedExceptionally()) {
            return null;
        }
        // Already complete: handle runs its function at once, with the stored exception.
        return failureOf(done.handle((result, error) -> error).join());
    }

    /** A stage's exception as the handler gets it: without the CompletionException wrapper a dependent stage adds. */
    private static Throwable failureOf(Throwable error) {
        return error instanceof CompletionException wrapper && wrapper.getCause() != null ? wrapper.getCause() : error;
    }

    /**
     * Gives back capacity, after the tasks' slots were retired if they were the last (finish()
     * runs first), so that "all permits back" means "no task queued or running, no key held".
     */
    private void releaseCapacity(int permits) {
        if (permits == 0) {
            return;
        }
        capacity.release(permits);
        if (closed) {
            synchronized (closeMonitor) {
                closeMonitor.notifyAll();
            }
        }
    }

    /** An {@link #executeAsync} task in the queue; identity equality on purpose (see enqueue). */
    private static final class AsyncTask {
        final Supplier<? extends CompletionStage<?>> supplier;

        AsyncTask(Supplier<? extends CompletionStage<?>> supplier) {
            this.supplier = supplier;
        }
    }

    /** A snapshot of the counters. */
    public Stats stats() {
        return new Stats(maxQueued - capacity.availablePermits(), slots.size(), completed.sum(), failed.sum());
    }

    /**
     * Counters at one moment.
     *
     * @param queued tasks accepted and not finished (waiting or running)
     * @param activeKeys keys with a task waiting or running
     * @param completed tasks that finished normally
     * @param failed tasks that threw or whose stage failed
     */
    public record Stats(long queued, int activeKeys, long completed, long failed) {}

    /** Which threads run the tasks. */
    public ThreadMode threadMode() {
        return threadMode;
    }

    /** Whether {@link #close} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** {@link #close(Duration)} with a 30 s deadline; what did not run is logged, not returned. */
    @Override
    public void close() {
        List<PendingTask<K>> notRun = close(Duration.ofSeconds(30));
        if (!notRun.isEmpty()) {
            LOG.log(Level.WARNING, notRun.size() + " tasks did not run before the close deadline");
        }
    }

    /**
     * Stops intake (later submits throw {@link RejectedExecutionException}), waits until every
     * accepted task has finished or {@code deadline} has passed, then stops the threads.
     *
     * @return the tasks that had not started by the deadline, in per-key order; empty if all ran.
     *     Tasks running at the deadline are not in the list: they run to the end on their own.
     */
    public List<PendingTask<K>> close(Duration deadline) {
        closed = true;
        long end = System.nanoTime() + deadline.toNanos();
        boolean interrupted = false;
        synchronized (closeMonitor) {
            long left;
            while (capacity.availablePermits() < maxQueued && (left = end - System.nanoTime()) > 0) {
                try {
                    TimeUnit.NANOSECONDS.timedWait(closeMonitor, left);
                } catch (InterruptedException e) {
                    interrupted = true;
                    break;
                }
            }
        }
        List<PendingTask<K>> notRun = new ArrayList<>();
        if (capacity.availablePermits() < maxQueued) {
            abandoned = true;
            for (Slot slot : slots.values()) {
                Object task;
                while ((task = slot.tasks.poll()) != null) {
                    notRun.add(new PendingTask<>(slot.key, task instanceof AsyncTask async ? async.supplier : task));
                    capacity.release();
                }
            }
        }
        pool.shutdown();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return notRun;
    }

    /**
     * A task that {@link #close(Duration)} took back unrun.
     *
     * @param key its key
     * @param task the {@code Runnable} given to {@link #execute} or the {@code Supplier} given to
     *     {@link #executeAsync}
     */
    public record PendingTask<K>(K key, Object task) {}

    /** Receives the exception of a task that failed; called on the thread that ran the task. */
    @FunctionalInterface
    public interface TaskExceptionHandler<K> {
        void handle(K key, Throwable error);
    }

    /** Builds a {@link KeyedExecutor}. */
    public static final class Builder<K> {
        private ThreadMode threadMode = ThreadMode.PLATFORM;
        private int threads = Runtime.getRuntime().availableProcessors();
        private int maxQueued = 100_000;
        private Duration submitTimeout = Duration.ofSeconds(1);
        private int batchSize = 64;
        private String threadNamePrefix = "taskevents-keyed-";
        private TaskExceptionHandler<? super K> exceptionHandler = (key, error) ->
                LOG.log(Level.WARNING, "task for key " + key + " failed", error);

        private Builder() {}

        /** Platform threads (a fixed pool of {@link #threads}) or virtual threads (one per drain). */
        public Builder<K> threadMode(ThreadMode mode) {
            this.threadMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** The number of platform threads (ignored for virtual threads); 1 or more. */
        public Builder<K> threads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be at least 1, was " + threads);
            }
            this.threads = threads;
            return this;
        }

        /** The most tasks accepted and not finished, across all keys; 1 or more. */
        public Builder<K> maxQueued(int maxQueued) {
            if (maxQueued < 1) {
                throw new IllegalArgumentException("maxQueued must be at least 1, was " + maxQueued);
            }
            this.maxQueued = maxQueued;
            return this;
        }

        /** How long a submit waits for room when {@code maxQueued} is reached; zero or more. */
        public Builder<K> submitTimeout(Duration timeout) {
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("submitTimeout must not be negative, was " + timeout);
            }
            this.submitTimeout = timeout;
            return this;
        }

        /** How many tasks of one key run before its thread goes to other keys; 1 or more. */
        public Builder<K> batchSize(int batchSize) {
            if (batchSize < 1) {
                throw new IllegalArgumentException("batchSize must be at least 1, was " + batchSize);
            }
            this.batchSize = batchSize;
            return this;
        }

        /** The prefix of the worker threads' names. */
        public Builder<K> threadNamePrefix(String prefix) {
            this.threadNamePrefix = Objects.requireNonNull(prefix, "prefix");
            return this;
        }

        /** Receives failed tasks' exceptions; by default they are logged at WARNING. */
        public Builder<K> exceptionHandler(TaskExceptionHandler<? super K> handler) {
            this.exceptionHandler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        public KeyedExecutor<K> build() {
            return new KeyedExecutor<>(this);
        }
    }
}
