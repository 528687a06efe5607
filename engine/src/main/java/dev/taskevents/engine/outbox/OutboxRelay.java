package dev.taskevents.engine.outbox;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WorkflowStateSink;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongPredicate;

/**
 * Tells the workflow state sink of every committed change at least once, in commit order per
 * workflow instance, across unknown commit outcomes, failed writes and crashes: the relay of a
 * transactional outbox.
 *
 * <h2>Guarantee</h2>
 * Every change committed with a notification reaches the sink at least once, and for one workflow
 * the sink hears changes in the order they were committed; a change may be told again after a
 * fault, never before a change committed earlier for its workflow is told for the first time.
 * A sink drops a repeat by its {@link StateEvent#version()}.
 *
 * <h2>Implementation notes</h2>
 * <ol>
 *   <li>A change's outbox entry is written in its batch's own transaction
 *       ({@code RowUpdate.notification}), so the entry exists exactly when the change committed.
 *   <li>Fast path: when a batch returns APPLIED, the engine tells the sink while it still holds the
 *       workflow's key (so the workflow's next change cannot be told first), then queues the entry
 *       for removal. Entries told and not yet removed are in {@link #told}; a re-tell skips them.
 *   <li>A write whose outcome is unknown (the batch failed for good, a retry found a version
 *       conflict after an attempt failed, or any version conflict: our own commit may have landed
 *       late) and a sink that threw mark the workflow {@link #unsettled}. {@link #settle} reads the
 *       workflow's entries from the store and tells, in commit order, those not in {@link #told};
 *       it stops at the first the sink refuses, leaving the workflow unsettled. The engine settles
 *       a workflow under its key: before answering the event whose outcome was unknown, before
 *       deciding the workflow's next event, and from a background task every second (through the
 *       keyed executor, so under the key too) for workflows that get no next event. Nothing of the
 *       workflow is in flight then, so an entry committed by an attempt that reported failure is
 *       told before any later change of its workflow.
 *   <li>While a workflow is unsettled the fast path does not tell its changes: they stay in the
 *       outbox, and a settle tells them after the older ones. So a sink that keeps failing delays
 *       a workflow's state events but never reorders them, and acknowledgements still flow.
 *   <li>At start, {@link #recover} tells every entry left in the store (a crash between commit and
 *       telling, or removals that did not happen) before the engine takes events. If the sink
 *       fails there, every workflow counts as unsettled ({@link #recoveryIncomplete}) until a
 *       retried recovery completes: an entry on a page recovery did not reach is then still told
 *       before its workflow's next change.
 *   <li>Removal is best effort and idempotent: an entry whose removal fails for good is told again
 *       at the next start or settle, which the guarantee allows. Removals are gathered by one
 *       thread and written at most every {@link #REMOVAL_INTERVAL}, each batch in one transaction:
 *       a commit of its own per batch write would cost the hot path an fsync each (measured:
 *       about a quarter of the group-commit throughput on PostgreSQL).
 * </ol>
 * Cluster mode: no recovery at start (the node holds no shard then). A shard taken over is
 * re-told with {@link #recover(Set, ShardLeases)} before its events run (the shard's entries,
 * among them what the previous owner committed and may not have told), and a shard lost or
 * given up is {@link #forget forgotten}: the next owner re-tells its entries.
 *
 * <p>Without a sink ({@link WorkflowStateSink#NONE}) the relay is off: no entries are written, and
 * entries a previous run left are kept for a run that has a sink.
 */
public final class OutboxRelay {
    private static final System.Logger LOG = System.getLogger(OutboxRelay.class.getName());
    private static final int PAGE = 1_000;
    private static final int REMOVAL_ATTEMPTS = 5;
    private static final Duration REMOVAL_INTERVAL = Duration.ofMillis(500);
    private static final int MAX_REMOVAL = 10_000;

    private final TaskInstanceStore store;
    private final WorkflowStateSink sink;
    private final boolean enabled;
    /** Whether notifications are recorded in the state-event feed (made even without a sink). */
    private final boolean feed;
    /** Entries told and not yet removed from the store, by task instance and version. */
    private final Map<Key, StateEvent> told = new ConcurrentHashMap<>();
    /** Workflows whose store entries may hold a change the sink has not heard of. */
    private final Set<Long> unsettled = ConcurrentHashMap.newKeySet();
    /** Set when recovery stopped early: every workflow may have untold entries in the store. */
    private volatile boolean recoveryIncomplete;
    /** Serialises removals (the remover thread, recovery): two never rewrite one outbox row at once. */
    private final Object removalLock = new Object();
    private final ConcurrentLinkedQueue<StateEvent> removals = new ConcurrentLinkedQueue<>();
    private final Thread remover;
    private final CountDownLatch stop = new CountDownLatch(1);
    private volatile boolean closed;
    private final LongAdder sinkFailures = new LongAdder();
    private final LongAdder retold = new LongAdder();

    private record Key(long taskInstanceId, long version) {
        static Key of(StateEvent event) {
            return new Key(event.taskInstanceId(), event.version());
        }
    }

    public OutboxRelay(TaskInstanceStore store, WorkflowStateSink sink) {
        this(store, sink, false);
    }

    /**
     * @param feed whether the engine records its changes in the store's state-event feed: then
     *     notifications are made without a sink too (record-only mode), and the relay stays off
     *     without one, as before
     */
    public OutboxRelay(TaskInstanceStore store, WorkflowStateSink sink, boolean feed) {
        this.store = store;
        this.sink = sink;
        this.enabled = sink != WorkflowStateSink.NONE;
        this.feed = feed;
        this.remover = enabled ? Thread.ofVirtual().name("taskevents-outbox-remover").start(this::removeTold) : null;
    }

    /**
     * The notification of the change {@code event} makes, or null if no one is told of it: not
     * for DISPATCH, and not when there is neither a sink nor the feed.
     */
    public StateEvent notificationFor(TaskEvent event, TaskInstance next) {
        if ((!enabled && !feed) || event.type() == TaskEventType.DISPATCH) {
            return null;
        }
        return new StateEvent(next.workflowInstanceId(), next.id(), event.type(), next.state(), event.eventId(),
                next.version(), next.updatedAt());
    }

    /**
     * Tells a change whose batch just returned APPLIED (the fast path), unless its workflow is
     * unsettled: then older entries may be untold, and this one waits in the outbox for the settle
     * that tells them all in order.
     */
    public void committed(StateEvent event) {
        if (!enabled) {
            // Record-only (the feed without a sink): nothing to tell, and no remover thread to
            // empty told/removals, which would otherwise grow for ever.
            return;
        }
        long workflowId = event.workflowInstanceId();
        if (isUnsettled(workflowId)) {
            unsettled.add(workflowId);
            return;
        }
        if (tell(event)) {
            told.put(Key.of(event), event);
            removals.add(event);
        } else {
            unsettled.add(workflowId);
        }
    }

    /** A write of the workflow ended with an unknown outcome: settle it before its next event. */
    public void markUnsettled(long workflowInstanceId) {
        if (enabled) {
            unsettled.add(workflowInstanceId);
        }
    }

    public boolean isUnsettled(long workflowInstanceId) {
        return enabled && (recoveryIncomplete || unsettled.contains(workflowInstanceId));
    }

    /** The workflows known to be unsettled now (a copy), for the background settle. */
    public List<Long> unsettledWorkflows() {
        return List.copyOf(unsettled);
    }

    /** Whether recovery at start stopped early and must be retried ({@link #recover}). */
    public boolean recoveryIncomplete() {
        return enabled && recoveryIncomplete;
    }

    /**
     * If the workflow is unsettled, settles it on {@code io}; the stage fails if the store could
     * not be read (the workflow stays unsettled).
     */
    public CompletableFuture<Void> settleIfNeeded(long workflowInstanceId, Executor io) {
        if (!isUnsettled(workflowInstanceId)) {
            return CompletableFuture.completedFuture(null);
        }
        return CompletableFuture.runAsync(() -> settle(workflowInstanceId), io);
    }

    /**
     * Tells the workflow's stored entries that were not told, in commit order. The caller holds
     * the workflow's key. Blocks on the store. If the sink refuses one, the rest wait (their order
     * matters) and the workflow stays unsettled; the caller goes on either way.
     */
    public void settle(long workflowInstanceId) {
        if (!enabled) {
            return;
        }
        // Cleared first: a mark made while we read (a sink failure below) must survive us.
        unsettled.remove(workflowInstanceId);
        boolean complete = false;
        try {
            for (StateEvent entry : store.pendingStateEvents(workflowInstanceId)) {
                if (told.containsKey(Key.of(entry))) {
                    continue;
                }
                retold.increment();
                if (!tell(entry)) {
                    // Stop here: telling later changes first would break commit order.
                    return;
                }
                told.put(Key.of(entry), entry);
                removals.add(entry);
            }
            complete = true;
        } finally {
            if (!complete) {
                unsettled.add(workflowInstanceId);
            }
        }
    }

    /**
     * Tells every entry left in the store, oldest first, and removes it. Runs at start, before the
     * engine takes events, and again from the background while {@link #recoveryIncomplete}. If the
     * sink fails, recovery stops and every workflow counts as unsettled until a later recovery
     * completes.
     */
    public void recover() {
        if (!enabled) {
            return;
        }
        StateEvent previousFirst = null;
        for (;;) {
            List<StateEvent> page = store.pendingStateEvents(PAGE);
            if (page.isEmpty()) {
                recoveryIncomplete = false;
                return;
            }
            if (page.getFirst().equals(previousFirst)) {
                // Told and removed, yet still there: looping would tell it for ever.
                throw new IllegalStateException("the store " + store.getClass().getName() + " did not remove told"
                        + " state events from its outbox (" + previousFirst + " is still pending)");
            }
            previousFirst = page.getFirst();
            for (int i = 0; i < page.size(); i++) {
                retold.increment();
                if (!tell(page.get(i))) {
                    recoveryIncomplete = true;
                    removeNow(page.subList(0, i));
                    return;
                }
            }
            removeNow(page);
        }
    }

    /**
     * Cluster mode: tells every outbox entry of {@code shards}, oldest first, and removes it, as
     * {@link #recover()} does for all. Runs while the shards are RETELLING, before any of their
     * events is decided here.
     *
     * @return false if the sink refused an entry: the told ones before it are removed, the rest
     *     stay for the next attempt
     * @throws RuntimeException if the store failed (nothing more told; retried the same way)
     */
    public boolean recover(Set<Integer> shards, ShardLeases leases) {
        if (!enabled) {
            return true;
        }
        StateEvent previousFirst = null;
        for (;;) {
            List<StateEvent> page = leases.pendingStateEvents(shards, PAGE);
            if (page.isEmpty()) {
                return true;
            }
            if (page.getFirst().equals(previousFirst)) {
                throw new IllegalStateException("the store " + store.getClass().getName() + " did not remove told"
                        + " state events from its outbox (" + previousFirst + " is still pending)");
            }
            previousFirst = page.getFirst();
            for (int i = 0; i < page.size(); i++) {
                retold.increment();
                if (!tell(page.get(i))) {
                    removeNow(page.subList(0, i));
                    return false;
                }
            }
            removeNow(page);
        }
    }

    /**
     * Cluster mode: the node no longer holds the workflows {@code inShard} accepts; their unsettled
     * marks go (their next owner re-tells their entries). Entries told and queued for removal
     * are still removed, which is harmless.
     */
    public void forget(LongPredicate inShard) {
        unsettled.removeIf(inShard::test);
    }

    private void removeNow(List<StateEvent> entries) {
        synchronized (removalLock) {
            store.removeStateEvents(entries);
        }
    }

    private boolean tell(StateEvent event) {
        try {
            sink.taskStateChanged(event);
            return true;
        } catch (Throwable e) {
            // Even an Error: the change is committed and stays in the outbox, to be told again.
            sinkFailures.increment();
            LOG.log(Level.ERROR, "the workflow state sink failed on " + event + "; the change is committed"
                    + " and will be told again before the workflow's next event, or at the next start", e);
            return false;
        }
    }

    /**
     * The remover thread: gathers told entries and removes them, one transaction per interval.
     * It is never interrupted (an interrupt closes a virtual thread's socket in the middle of a
     * store call): {@link #close} sets {@code closed} and counts {@code stop} down, which ends
     * both of its waits.
     */
    private void removeTold() {
        List<StateEvent> batch = new ArrayList<>();
        try {
            // Wakes every interval and takes what gathered: no blocking hand-off per told event.
            while (!stop.await(REMOVAL_INTERVAL.toMillis(), TimeUnit.MILLISECONDS)) {
                boolean full;
                do {
                    for (StateEvent next; batch.size() < MAX_REMOVAL && (next = removals.poll()) != null; ) {
                        batch.add(next);
                    }
                    full = batch.size() == MAX_REMOVAL;
                    if (!batch.isEmpty()) {
                        remove(batch);
                        batch.clear();
                    }
                } while (full);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void remove(List<StateEvent> entries) throws InterruptedException {
        Duration backoff = Duration.ofMillis(50);
        for (int attempt = 1; ; attempt++) {
            try {
                removeNow(entries);
                break;
            } catch (RuntimeException e) {
                if (attempt >= REMOVAL_ATTEMPTS || closed) {
                    LOG.log(Level.WARNING, "could not remove " + entries.size() + " told state events from the"
                            + " outbox; they will be told again: " + e.getMessage());
                    break;
                }
                stop.await(backoff.toMillis(), TimeUnit.MILLISECONDS);
                backoff = backoff.multipliedBy(2);
            }
        }
        entries.forEach(e -> told.remove(Key.of(e)));
    }

    /** State events the sink threw on. */
    public long sinkFailures() {
        return sinkFailures.sum();
    }

    /** Entries told again from the store (after a fault, or at start). */
    public long retold() {
        return retold.sum();
    }

    /**
     * Stops the remover and removes the told entries it had not removed yet; best effort (what
     * stays is told again at the next start). Call before the store closes.
     */
    public void close() {
        if (remover == null) {
            return;
        }
        closed = true;
        stop.countDown();
        try {
            if (!remover.join(Duration.ofSeconds(30))) {
                LOG.log(Level.WARNING, "the outbox remover did not stop within 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<StateEvent> pending = List.copyOf(told.values());
        if (pending.isEmpty()) {
            return;
        }
        try {
            removeNow(pending);
            told.clear();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, pending.size() + " told state events stay in the outbox and will be told again"
                    + " at the next start: " + e.getMessage());
        }
    }
}
