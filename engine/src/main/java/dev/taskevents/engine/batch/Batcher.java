package dev.taskevents.engine.batch;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Gathers items added from many threads into batches for a handler, without polling: what the
 * group committer does with row writes and the snapshot loader with cache misses. While a handler
 * works on one batch, the next one gathers.
 *
 * <h2>Implementation notes</h2>
 * Items go to a lock-free queue; up to {@code maxFlushers} flushers drain it in batches of up to
 * {@code maxBatch}. {@code flushers} counts the running flushers: an adder starts one only by a
 * CAS that raises it below the maximum, and a flusher lowers it only when it finds the queue
 * empty. After lowering, the flusher re-checks the queue: an adder that added in between may have
 * seen the maximum and started no one, so the flusher takes the work back (CAS up again) unless
 * the count is at the maximum again, in which case a running flusher will find the item. No item
 * is left behind.
 *
 * <p>An executor that refuses a flusher (it was shut down) undoes the CAS that counted it, so the
 * count never stays raised for a flusher that does not run; the adder then takes every item still
 * queued and hands it to {@code onRejected}. Each item is polled exactly once, by a flusher or by
 * that adder, so every item reaches the handler or {@code onRejected}, never neither.
 *
 * @param <T> the item type
 */
public final class Batcher<T> {
    private static final System.Logger LOG = System.getLogger(Batcher.class.getName());
    private final Executor executor;
    private final int maxBatch;
    private final int maxFlushers;
    private final Consumer<List<T>> handler;
    private final BiConsumer<List<T>, RejectedExecutionException> onRejected;
    private final ConcurrentLinkedQueue<T> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger flushers = new AtomicInteger();
    private final LongAdder waiting = new LongAdder();

    /**
     * @param executor runs the flushers (they block in the handler: give it virtual threads)
     * @param handler called with each batch, never concurrently with more than {@code maxFlushers}
     *     others; it must not throw (it owns the items' outcomes)
     * @param onRejected given the items no flusher will take because the executor refused to run
     *     one (it was shut down); it must not throw either
     */
    public Batcher(Executor executor, int maxBatch, int maxFlushers, Consumer<List<T>> handler,
                   BiConsumer<List<T>, RejectedExecutionException> onRejected) {
        if (maxBatch < 1 || maxFlushers < 1) {
            throw new IllegalArgumentException("maxBatch and maxFlushers must be at least 1, were " + maxBatch
                    + " and " + maxFlushers);
        }
        this.executor = executor;
        this.maxBatch = maxBatch;
        this.maxFlushers = maxFlushers;
        this.handler = handler;
        this.onRejected = onRejected;
    }

    public void add(T item) {
        waiting.increment();
        queue.add(item);
        for (int running; (running = flushers.get()) < maxFlushers; ) {
            if (flushers.compareAndSet(running, running + 1)) {
                try {
                    executor.execute(this::flush);
                } catch (RejectedExecutionException e) {
                    flushers.decrementAndGet();
                    rejectQueued(e);
                }
                return;
            }
        }
    }

    private void rejectQueued(RejectedExecutionException e) {
        List<T> orphans = new ArrayList<>();
        for (T next; (next = queue.poll()) != null; ) {
            orphans.add(next);
        }
        waiting.add(-orphans.size());
        if (!orphans.isEmpty()) {
            try {
                onRejected.accept(orphans, e);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "the rejection handler failed on " + orphans.size() + " items", t);
            }
        }
    }

    /** Items added and not yet taken into a batch. */
    public long waiting() {
        return waiting.sum();
    }

    private void flush() {
        List<T> batch = new ArrayList<>(Math.min(maxBatch, 1024));
        for (;;) {
            T next;
            while (batch.size() < maxBatch && (next = queue.poll()) != null) {
                batch.add(next);
            }
            waiting.add(-batch.size());
            if (batch.isEmpty()) {
                int running = flushers.decrementAndGet();
                if (queue.isEmpty() || running >= maxFlushers || !flushers.compareAndSet(running, running + 1)) {
                    return;
                }
                continue;
            }
            try {
                handler.accept(batch);
            } catch (Throwable e) {
                // A handler that throws has broken its contract; the flusher must survive it, or
                // the flusher count would stay raised and no later item would be handled.
                LOG.log(System.Logger.Level.ERROR, "batch handler failed on " + batch.size() + " items", e);
            }
            batch = new ArrayList<>(Math.min(maxBatch, 1024));
        }
    }
}
