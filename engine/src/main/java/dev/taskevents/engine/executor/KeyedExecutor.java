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
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
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
 *       returns those that did not start: for each key a suffix of its queue, so no task it
 *       returns has a later task of the same key that ran.
 *   <li>Nothing is lost: every accepted task is run exactly once, or returned by {@code close},
 *       or reported to its submitter as not accepted (the submit throws).
 * </ul>
 *
 * <h2>Implementation notes</h2>
 * Each busy key has a {@link Slot} in {@link #slots}: a linked queue of {@link Node}s with one
 * consumer, the key's drain. Submitters add first and never reserve, so the drain never waits
 * for a submitter (an earlier design reserved a place with a counter, then added: a submitter
 * preempted in between made the drain spin, and one that died there wedged the key).
 * <ol>
 *   <li>A submitter links its node by CAS on the last node's {@code next}, from null to the node
 *       (Michael and Scott's queue), so a node is in the queue entirely or not at all. The node is
 *       allocated before the submitter takes a permit or touches the slot: a failure to allocate
 *       leaves nothing to undo.
 *   <li>A queue ends either in null (the slot is <em>open</em>) or in the {@link #CLOSED} marker
 *       (the slot is <em>retired</em>). Open means: exactly one drain of the slot is scheduled,
 *       running, or waiting for its current task's stage, and that drain will see every node
 *       linked to it. So a submitter that linked its node into an open slot has nothing to signal.
 *   <li>Only the submitter that creates a slot (with its node already linked, then
 *       {@code putIfAbsent}) schedules a drain for it. Afterwards only the drain itself schedules it
 *       again (after {@code batchSize} tasks, or when an async task's stage completes), and only
 *       with a node ahead of it. Hence at most one drain per slot, and a drain never finds its
 *       queue empty on entry.
 *   <li>After each task the drain looks at the next node. If there is none it retires the slot:
 *       CAS of the last node's {@code next} from null to {@code CLOSED}, then removes the slot from
 *       the map. That CAS and the submitters' link CAS are on the same word, so exactly one wins:
 *       either the node is linked and the drain goes on to it, or the slot is retired and the
 *       submitter's CAS fails. A submitter that meets {@code CLOSED} helps remove the slot and
 *       retries with a new one. No node is ever linked behind {@code CLOSED}, so no task is left
 *       in a slot no drain will visit, and at most one open slot per key is in the map: a new slot
 *       for the key can only be created once the old one left the map, after it retired.
 *   <li>Per-key order: tasks are linked in the order of their link CAS, which every
 *       {@code execute} does before it returns; a drain takes them in list order; a new slot of a
 *       key starts only after the old slot retired, after its last task finished. Happens-before
 *       passes from task to task through the drain's own thread, {@code pool.execute}, the stage's
 *       completion, or the retiring CAS and the map.
 *   <li>Taking a task is claiming it: an atomic swap of the node's {@code task} to null. The drain
 *       and {@code close} are the only claimers (and a submitter claiming its own node back, note
 *       7); the one whose swap returns the task owns it. The drain claims nodes in order and stops
 *       at its first failed claim; {@code close} walks the queue from the drain's
 *       {@code head} and claims every node it can. So the drain runs a prefix and {@code close}
 *       returns the rest: a per-key suffix, never a task whose successor ran.
 *   <li>{@code close} sets {@code abandoned}, then walks the queues. A submitter links its node,
 *       then reads {@code abandoned}: either {@code close} sees the node in its walk, or the
 *       submitter sees {@code abandoned} and claims its own node back (then the submit throws, the
 *       task was not accepted). If its claim fails, the drain or {@code close} owns the task: it
 *       was accepted and is run or returned.
 *   <li>An async task's drain returns while the stage is pending; the stage's completion (once,
 *       whatever the stage does) records the outcome and continues as after any other task. A
 *       stage that is already complete is handled inline.
 * </ol>
 * Capacity is a {@link Semaphore} of {@code maxQueued} permits: taken before linking, given back
 * when the task finishes (by the drain, after retiring the slot if the task was the last), or when
 * {@code close} or the submitter claims it back unrun. So "all permits back" means "no task queued
 * or running, no key held". {@code close} waits (without polling: finishing drains notify it)
 * until all permits are back or the deadline passes; only then does it abandon and walk the queues.
 *
 * @param <K> the key type; keys are compared with {@code equals} and {@code hashCode}
 */
public final class KeyedExecutor<K> implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(KeyedExecutor.class.getName());

    /** Ends the queue of a retired slot: no node is ever linked behind it. */
    private static final Node CLOSED = new Node(null);
    private static final VarHandle NEXT;
    private static final VarHandle TASK;
    private static final VarHandle HEAD;
    private static final VarHandle TAIL;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            NEXT = lookup.findVarHandle(Node.class, "next", Node.class);
            TASK = lookup.findVarHandle(Node.class, "task", Object.class);
            HEAD = lookup.findVarHandle(KeyedExecutor.Slot.class, "head", Node.class);
            TAIL = lookup.findVarHandle(KeyedExecutor.Slot.class, "tail", Node.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ConcurrentHashMap<K, Slot> slots = new ConcurrentHashMap<>();
    /** Runs the drains: {@link #ownedPool}, or an executor a test drives (then close does not shut it down). */
    private final Executor pool;
    private final ExecutorService ownedPool;
    private final RaceProbe probe;
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
        this.ownedPool = b.drainExecutor == null ? b.threadMode.newPool(b.threads, b.threadNamePrefix) : null;
        this.pool = b.drainExecutor == null ? ownedPool : b.drainExecutor;
        this.probe = b.probe;
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
     * stage that fails or is cancelled, a null stage, or an exception from {@code task} count as a
     * failure.
     *
     * @throws QueueFullException as {@link #execute}
     * @throws RejectedExecutionException as {@link #execute}
     */
    public void executeAsync(K key, Supplier<? extends CompletionStage<?>> task) {
        Objects.requireNonNull(task, "task");
        enqueue(key, new AsyncTask(task));
    }

    /** Queues a task: a {@link Runnable}, or an {@link AsyncTask}. See notes 1, 3, 4 and 7. */
    private void enqueue(K key, Object task) {
        Objects.requireNonNull(key, "key");
        Node node = new Node(task);
        if (closed) {
            throw closedError(key);
        }
        acquireCapacity(key);
        Slot created = null;
        boolean linked = false;
        try {
            // Taking the permit, then reading closed, pairs with close(): it sets closed, then
            // counts permits, so a submit that gets past here is seen by close's wait or walk.
            if (closed) {
                throw closedError(key);
            }
            probe.submitterLinks(key);
            for (;;) {
                Slot slot = slots.get(key);
                if (slot == null) {
                    Slot fresh = new Slot(key, node);
                    slot = slots.putIfAbsent(key, fresh);
                    if (slot == null) {
                        created = fresh;
                        linked = true;
                        break;
                    }
                }
                if (slot.offer(node)) {
                    linked = true;
                    break;
                }
                slots.remove(key, slot); // retired: help its drain, then retry with a new slot
            }
        } finally {
            if (!linked) {
                releaseCapacity(1);
            }
        }
        if (abandoned && TASK.compareAndSet(node, task, null)) {
            if (created != null) {
                slots.remove(key, created); // never scheduled: no drain would ever release it
            }
            releaseCapacity(1);
            throw closedError(key);
        }
        if (created != null) {
            schedule(created);
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

    /**
     * A queued task. {@code task} and {@code next} are written plainly only in the constructor,
     * before the link CAS publishes the node; afterwards only through {@link #TASK} and
     * {@link #NEXT}.
     */
    private static final class Node {
        /** The Runnable or AsyncTask; null once claimed (note 6). */
        Object task;
        /** The next node, {@link #CLOSED} after the last node of a retired slot, or null. */
        Node next;

        Node(Object task) {
            this.task = task;
        }
    }

    /** The queue of one busy key. Runnable: its run() is the key's drain, the queue's one consumer. */
    private final class Slot implements Runnable {
        final K key;
        /**
         * The last node the drain claimed, or the initial empty node; written only by the drain
         * (release), read by close (acquire) as the start of its walk. Any value close reads is at
         * or before the drain's position, and every node before it was claimed by the drain.
         */
        Node head;
        /** A node at or before the last one; submitters start their walk to the end here. Moves only forward (CAS). */
        volatile Node tail;

        Slot(K key, Node first) {
            this.key = key;
            Node empty = new Node(null);
            empty.next = first;
            this.head = empty;
            this.tail = first;
        }

        /** Links {@code node} at the end (note 1); false if the slot is retired (note 4). */
        boolean offer(Node node) {
            Node t = tail;
            for (Node p = t; ; ) {
                Node q = (Node) NEXT.getAcquire(p);
                if (q == null) {
                    if (NEXT.compareAndSet(p, null, node)) {
                        TAIL.compareAndSet(this, t, node);
                        return true;
                    }
                } else if (q == CLOSED) {
                    return false;
                } else {
                    p = q;
                }
            }
        }

        @Override
        public void run() {
            for (int ran = 0; ; ) {
                Node node = (Node) NEXT.getAcquire(head); // a node, never null or CLOSED: note 3
                probe.drainClaims(key);
                Object task = TASK.getAndSet(node, null);
                if (task == null) {
                    // close() claimed it, and claims all after it (note 6): this slot is done, and
                    // no drain will come back to it; release the key.
                    slots.remove(key, this);
                    return;
                }
                HEAD.setRelease(this, node);
                // A task that ended interrupted must not hand its interrupt to the key's next one.
                Thread.interrupted();
                CompletionStage<?> stage = start(task);
                if (stage != null) {
                    // Inline only for a plain CompletableFuture: a subclass may refuse isDone
                    // (minimalCompletionStage does), which must not escape the drain.
                    if (stage.getClass() != CompletableFuture.class || !((CompletableFuture<?>) stage).isDone()) {
                        awaitStage(stage);
                        return;
                    }
                    record(failureOf((CompletableFuture<?>) stage));
                }
                if (!finishTask()) {
                    return;
                }
                if (++ran >= batchSize) {
                    schedule(this);
                    return;
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

        /**
         * Holds the key until {@code stage} completes (note 8). The continuation acts once even if
         * a stage calls it twice; a stage whose {@code whenComplete} throws fails the task.
         */
        private void awaitStage(CompletionStage<?> stage) {
            AtomicBoolean once = new AtomicBoolean();
            BiConsumer<Object, Throwable> continuation = (result, error) -> {
                if (once.compareAndSet(false, true)) {
                    record(failureOf(error));
                    if (finishTask()) {
                        schedule(this);
                    }
                }
            };
            try {
                stage.whenComplete(continuation);
            } catch (Throwable e) {
                continuation.accept(null, e);
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
                // Nothing may escape: the drain must go on to finishTask, or the key wedges. A
                // handler that rethrows the task's own error cannot have it added as suppressed.
                try {
                    if (handlerError != error) {
                        handlerError.addSuppressed(error);
                    }
                    LOG.log(Level.ERROR, "exception handler failed for key " + key, handlerError);
                } catch (Throwable ignored) {
                    // Out of memory while logging: the failure is counted; the key goes on.
                }
            }
        }

        /**
         * Ends the task just claimed: retires the slot if no node follows (note 4), then gives the
         * task's permit back. Returns true if the drain must go on with the next node, false if the
         * slot retired and the drain must not touch it again.
         */
        private boolean finishTask() {
            Node last = head;
            boolean more = NEXT.getAcquire(last) != null || !NEXT.compareAndSet(last, null, CLOSED);
            if (!more) {
                slots.remove(key, this);
            }
            releaseCapacity(1);
            return more;
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
     * Gives back capacity, after the task's slot was retired if it was the last (finishTask
     * retires first), so that "all permits back" means "no task queued or running, no key held".
     */
    private void releaseCapacity(int permits) {
        capacity.release(permits);
        if (closed) {
            synchronized (closeMonitor) {
                closeMonitor.notifyAll();
            }
        }
    }

    /** An {@link #executeAsync} task in the queue. */
    private static final class AsyncTask {
        final Supplier<? extends CompletionStage<?>> supplier;

        AsyncTask(Supplier<? extends CompletionStage<?>> supplier) {
            this.supplier = supplier;
        }
    }

    /**
     * Whether {@code key} has no task queued or running now. If true, every task of the key whose
     * {@code execute} returned before this call began has finished (a key's slot leaves the map
     * only after its last task finished, note 4); a task submitted concurrently may be running
     * already. If false, a task queued now runs after the key's current ones.
     */
    public boolean isIdle(K key) {
        return !slots.containsKey(Objects.requireNonNull(key, "key"));
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
        long wait = TimeUnit.NANOSECONDS.convert(deadline); // saturates: a huge deadline waits, never overflows
        closed = true;
        long start = System.nanoTime();
        boolean interrupted = false;
        synchronized (closeMonitor) {
            long left;
            while (capacity.availablePermits() < maxQueued && (left = wait - (System.nanoTime() - start)) > 0) {
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
            // Note 7 needs the write of abandoned ordered before the walk's reads, as the
            // submitter's link CAS is before its read of abandoned; a volatile write followed by
            // acquire loads does not promise that on every platform.
            VarHandle.fullFence();
            // Notes 6 and 7: claim every node no drain claimed; what is left runs, a prefix per key.
            for (Slot slot : slots.values()) {
                Node p = (Node) HEAD.getAcquire(slot);
                for (Node q; (q = (Node) NEXT.getAcquire(p)) != null && q != CLOSED; p = q) {
                    Object task = TASK.getAndSet(q, null);
                    if (task != null) {
                        notRun.add(new PendingTask<>(slot.key, task instanceof AsyncTask async ? async.supplier : task));
                        capacity.release();
                        probe.closeClaimed(slot.key);
                    }
                }
            }
        }
        if (ownedPool != null) {
            ownedPool.shutdown();
        }
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

    /**
     * Test seam: called where a drain and {@link #close(Duration)} race for the same task, so that
     * a test can stop either thread there and force an interleaving. Production uses {@link #NONE}.
     */
    interface RaceProbe {
        RaceProbe NONE = new RaceProbe() {};

        /** A submitter has its permit and is about to put its task in the key's queue. */
        default void submitterLinks(Object key) {}

        /** A drain is about to claim its key's next task. */
        default void drainClaims(Object key) {}

        /** close() just claimed a task of {@code key} (it is in the list close will return). */
        default void closeClaimed(Object key) {}
    }

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
        private Executor drainExecutor;
        private RaceProbe probe = RaceProbe.NONE;

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

        /**
         * Test seam: drains run on {@code executor} instead of a pool the executor makes and
         * shuts down, so that a test can run them one at a time, when it chooses.
         */
        Builder<K> drainExecutor(Executor executor) {
            this.drainExecutor = Objects.requireNonNull(executor, "executor");
            return this;
        }

        /** Test seam: see {@link RaceProbe}. */
        Builder<K> raceProbe(RaceProbe probe) {
            this.probe = Objects.requireNonNull(probe, "probe");
            return this;
        }

        public KeyedExecutor<K> build() {
            return new KeyedExecutor<>(this);
        }
    }
}
