package dev.taskevents.engine.cluster;

import dev.taskevents.engine.ShardListener;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Tells the host's {@link ShardListener} of this node's ownership changes: on one thread, one
 * call at a time, in the order the changes were handed to {@link #tell}.
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>Calls run in {@link #tell} order, on one thread (a single-thread executor's queue is FIFO).
 *       The {@link ClusterMember} hands a change in inside the critical section that makes it
 *       (under its ownership lock), so that order is the order in which ownership changed: a
 *       loss found on an io thread (a fenced write) and the claim round that takes the shard
 *       again cannot swap their calls.
 *   <li>{@link #tell} never blocks and never runs the listener: the thread that found a change
 *       (a batch's completion, the heartbeat, a claim round) does not wait for the host.
 *   <li>Whatever a call throws, an {@link Error} included, is logged, and the next call runs: a
 *       host's bug costs its own call, never the member's threads.
 * </ol>
 */
final class ListenerCalls {
    private static final System.Logger LOG = System.getLogger(ListenerCalls.class.getName());

    /** A change of this node's hold on a shard, as the listener hears it. */
    sealed interface Change {
        int shard();

        long epoch();
    }

    /** This node took the shard at the epoch. */
    record Acquired(int shard, long epoch) implements Change {}

    /** This node gave the shard up in order. */
    record Released(int shard, long epoch) implements Change {}

    /** This node's hold of the shard at the epoch ended without a release. */
    record Lost(int shard, long epoch) implements Change {}

    private final ShardListener listener;
    private final ExecutorService thread =
            Executors.newSingleThreadExecutor(Thread.ofVirtual().name("taskevents-cluster-listener").factory());

    ListenerCalls(ShardListener listener) {
        this.listener = listener;
    }

    /**
     * Queues the listener's call for {@code change}.
     *
     * @return done once the call returned (or threw); done at once if the calls were closed
     */
    Future<?> tell(Change change) {
        try {
            Call call = new Call(change);
            thread.execute(call);
            return call;
        } catch (RejectedExecutionException e) {
            LOG.log(Level.WARNING, "the shard listener was not told " + change + ": the cluster member is closed");
            return CompletableFuture.completedFuture(null);
        }
    }

    /** One queued call; named by its change, so that a close can say which calls it dropped. */
    private final class Call extends FutureTask<Void> {
        final Change change;

        Call(Change change) {
            super(() -> call(change), null);
            this.change = change;
        }
    }

    private void call(Change change) {
        try {
            switch (change) {
                case Acquired a -> listener.acquired(a.shard(), a.epoch());
                case Released r -> listener.released(r.shard(), r.epoch());
                case Lost l -> listener.lost(l.shard(), l.epoch());
            }
        } catch (RuntimeException | Error e) {
            LOG.log(Level.ERROR, "the shard listener failed on " + change + "; the cluster member goes on", e);
        }
    }

    /**
     * Waits until every call queued so far has returned, or until {@code timeout} passed.
     *
     * @return whether they all returned
     */
    boolean awaitCalls(Duration timeout) throws InterruptedException {
        Future<?> marker;
        try {
            marker = thread.submit(() -> { });
        } catch (RejectedExecutionException e) {
            return thread.awaitTermination(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        }
        return awaitCall(marker, timeout);
    }

    /** Waits for one call queued by {@link #tell}; false if {@code timeout} passed first. */
    static boolean awaitCall(Future<?> call, Duration timeout) throws InterruptedException {
        try {
            call.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return true; // call() catches what the listener throws; nothing else can fail
        }
    }

    /**
     * Makes the calls queued so far (up to {@code timeout}), then ends the thread: a call still
     * running then is interrupted, and the calls still queued are dropped and logged (one warning).
     */
    void close(Duration timeout) {
        thread.shutdown();
        boolean done = false;
        try {
            done = thread.awaitTermination(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (done) {
            return;
        }
        List<Change> dropped = new ArrayList<>();
        for (Runnable r : thread.shutdownNow()) {
            if (r instanceof Call call) {
                dropped.add(call.change);
            }
        }
        LOG.log(Level.WARNING, "the shard listener did not return within " + timeout + " of the close; its call"
                + " running then was interrupted, and these calls were not made: " + dropped);
    }
}
