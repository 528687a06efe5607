package dev.taskevents.engine.cluster;

import dev.taskevents.engine.ClusterView.ShardState;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * One tenure of this node on one shard: the shard held at one epoch, from its acquisition to its
 * release or loss. A shard this node takes again later gets a new tenure (new epoch).
 *
 * <pre>
 * ACQUIRING → RETELLING → ACTIVE → DRAINING → RELEASED;  any of them → LOST
 * </pre>
 * (DRAINING stays DRAINING while its release fails; it is retried, invariant 7.)
 *
 * <h2>Invariants (why it is correct)</h2>
 * <ol>
 *   <li>An event runs under a tenure only between {@link #enter} returning true and its
 *       {@link #exit}: it counted itself in {@link #inFlight} and then saw {@code ACTIVE}.
 *   <li>The count is taken <em>before</em> the state is read ({@link #enter}), and the drain sets
 *       {@code DRAINING} <em>before</em> it reads the count ({@link #awaitDrained}). Both are
 *       volatile (sequentially consistent), so of an entering event and a starting drain at least
 *       one sees the other: the event saw {@code ACTIVE} and the drain sees its count (and waits
 *       for its exit), or the event sees {@code DRAINING} (and parks). No event runs unwaited-for
 *       after the drain read zero. {@link Probe#counted} sits between the two reads, so that a test
 *       can force either order.
 *   <li>Parked events wait in {@link #parked}, in arrival order, under this object's lock; a state
 *       change that ends waiting ({@code ACTIVE}, {@code RELEASED}, {@code LOST}) takes the list
 *       under the same lock and resumes them in order after leaving it. {@link #park} refuses once
 *       waiting has ended, so an event is either in the list when the change takes it, or told to
 *       look again: none is left behind.
 *   <li>{@code RELEASED} and {@code LOST} are final: nothing leaves them. The member removes a
 *       tenure from its map <em>before</em> moving it to a final state, so an event that looks
 *       again after a final change finds no tenure (and is answered Moved) or the next tenure.
 *   <li>The drain's waiter is woken by the exit that brings the count to zero: it decrements, then
 *       reads {@code DRAINING}, then notifies under the lock; the waiter checks the count under
 *       the same lock before each wait, so the wake-up cannot fall between its check and its wait.
 *   <li>The host hears of a tenure in order: {@link #begin} hands {@code acquired} to the
 *       listener's queue under this object's lock, in the same critical section as ACQUIRING →
 *       RETELLING, and only if the tenure had not ended; {@link #end} hands {@code released} or
 *       {@code lost} in under the same lock, in the same critical section as the final state,
 *       and only if {@code begin} announced the tenure. So the end of a tenure comes after its
 *       announcement or is not told at all, never before: a host never believes it holds a shard
 *       whose loss it heard first. (The member orders the calls of successive tenures, see
 *       {@link ClusterMember}, invariant 7.)
 *   <li>{@code DRAINING} may last several rounds: a release that failed (the store unreachable,
 *       or its lock wait ended behind a write) leaves the tenure DRAINING, its events parked,
 *       and the member retries the release each round until the store answers.
 * </ol>
 * The engine's checks here are admission filters; the store's fence decides what is written.
 */
public final class ShardTenure {
    private static final System.Logger LOG = System.getLogger(ShardTenure.class.getName());

    /** Test seam: called where an event has counted itself and not yet read the state. */
    public interface Probe {
        Probe NONE = new Probe() {};

        /** An event of {@code shard} was counted in flight and is about to read the tenure's state. */
        default void counted(int shard) {}
    }

    private final int shard;
    private final long epoch;
    private final Probe probe;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final LongAdder answered;
    private volatile ShardState state = ShardState.ACQUIRING;
    /** Events waiting for the tenure to serve or end; guarded by {@code this}. */
    private List<Runnable> parked = new ArrayList<>();
    /** The host's {@code acquired} call, once {@link #begin} queued it; guarded by {@code this}. */
    private Future<?> announcement;

    /** @param answered counts the events answered under this tenure (the member's, for all its tenures) */
    ShardTenure(int shard, long epoch, Probe probe, LongAdder answered) {
        this.shard = shard;
        this.epoch = epoch;
        this.probe = probe;
        this.answered = answered;
    }

    public int shard() {
        return shard;
    }

    public long epoch() {
        return epoch;
    }

    public ShardState state() {
        return state;
    }

    /** Events counted in flight now. */
    public int inFlight() {
        return inFlight.get();
    }

    /**
     * Counts an event in, then reads the state (invariant 2). True: the tenure is ACTIVE and the
     * caller must {@link #exit} once the event is answered. False: the event was not counted.
     */
    public boolean enter() {
        inFlight.incrementAndGet();
        probe.counted(shard);
        if (state == ShardState.ACTIVE) {
            return true;
        }
        uncount();
        return false;
    }

    /** An event {@link #enter} let in was answered. */
    public void exit() {
        answered.increment();
        uncount();
    }

    private void uncount() {
        if (inFlight.decrementAndGet() == 0 && state == ShardState.DRAINING) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /**
     * Parks {@code resume} until the tenure serves or ends. False if it is not waiting any more
     * (ACTIVE or final): the caller looks again instead.
     */
    public synchronized boolean park(Runnable resume) {
        ShardState s = state;
        if (s == ShardState.ACTIVE || s == ShardState.RELEASED || s == ShardState.LOST) {
            return false;
        }
        parked.add(resume);
        return true;
    }

    /** Events parked now. */
    public synchronized int parkedCount() {
        return parked.size();
    }

    /**
     * Moves to {@code next} (ACTIVE or DRAINING) unless the tenure is final already; resumes the
     * parked events (in arrival order, on this thread) if {@code next} is ACTIVE.
     *
     * @return whether it moved
     */
    boolean moveTo(ShardState next) {
        if (next == ShardState.RELEASED || next == ShardState.LOST) {
            throw new IllegalArgumentException("a tenure ends by end(" + next + "), not moveTo");
        }
        List<Runnable> resume = List.of();
        synchronized (this) {
            if (state == ShardState.RELEASED || state == ShardState.LOST) {
                return false;
            }
            state = next;
            if (next == ShardState.ACTIVE) {
                resume = parked;
                parked = new ArrayList<>();
            }
            notifyAll();
        }
        resume(resume);
        return true;
    }

    /**
     * Ends the tenure as {@code end} (RELEASED or LOST) unless it ended already, and runs
     * {@code tellHost} (which queues the host's call) in the same critical section if
     * {@link #begin} announced the tenure (invariant 6).
     *
     * @return the events parked on the tenure, for the caller to {@link #resume} once it left its
     *     own locks; null if the tenure had ended already
     */
    List<Runnable> end(ShardState end, Runnable tellHost) {
        if (end != ShardState.RELEASED && end != ShardState.LOST) {
            throw new IllegalArgumentException("a tenure ends RELEASED or LOST, not " + end);
        }
        synchronized (this) {
            if (state == ShardState.RELEASED || state == ShardState.LOST) {
                return null;
            }
            state = end;
            if (announcement != null) {
                tellHost.run();
            }
            List<Runnable> resume = parked;
            parked = new ArrayList<>();
            notifyAll(); // a drain waiting on a tenure that ends stops waiting
            return resume;
        }
    }

    /** Runs events parked on this tenure, in arrival order, on this thread; null runs none. */
    void resume(List<Runnable> events) {
        if (events == null) {
            return;
        }
        for (Runnable r : events) {
            try {
                r.run();
            } catch (RuntimeException | Error e) {
                LOG.log(Level.ERROR, "resuming an event parked on shard " + shard + " failed", e);
            }
        }
    }

    /**
     * ACQUIRING → RETELLING, and {@code announce} (queueing the host's {@code acquired}) in the
     * same critical section, unless the tenure ended first (invariant 6).
     *
     * @return whether it moved and announced; false if the tenure had ended already
     */
    boolean begin(Supplier<Future<?>> announce) {
        synchronized (this) {
            if (state != ShardState.ACQUIRING) {
                return false;
            }
            state = ShardState.RETELLING;
            announcement = announce.get();
            return true;
        }
    }

    /** The host's {@code acquired} call once {@link #begin} queued it, else null. */
    synchronized Future<?> announcement() {
        return announcement;
    }

    /**
     * Waits until no event runs under this tenure, or until {@code deadlineNanos} (by
     * {@link System#nanoTime}); the tenure must be DRAINING already (invariant 2).
     *
     * @return whether the count reached zero
     */
    synchronized boolean awaitDrained(long deadlineNanos) throws InterruptedException {
        while (inFlight.get() > 0 && state == ShardState.DRAINING) {
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return inFlight.get() == 0;
    }

    @Override
    public String toString() {
        return "shard " + shard + " at epoch " + epoch + " (" + state + ")";
    }
}
