package dev.taskevents.engine;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.Shards;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.cache.SnapshotLoader;
import dev.taskevents.engine.cache.WorkflowSnapshot;
import dev.taskevents.engine.cluster.ClusterAdmission;
import dev.taskevents.engine.cluster.ClusterMember;
import dev.taskevents.engine.cluster.ShardHost;
import dev.taskevents.engine.cluster.ShardTenure;
import dev.taskevents.engine.commit.GroupCommitter;
import dev.taskevents.engine.executor.KeyedExecutor;
import dev.taskevents.engine.executor.QueueFullException;
import dev.taskevents.engine.executor.ThreadMode;
import dev.taskevents.engine.feed.FeedCleaner;
import dev.taskevents.engine.outbox.OutboxRelay;
import dev.taskevents.engine.rules.Decision;
import dev.taskevents.engine.rules.TransitionRules;
import dev.taskevents.engine.timing.StageTimer;
import java.lang.System.Logger.Level;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Applies {@link TaskEvent}s to persisted task state: in order per workflow instance, in
 * parallel across workflow instances, acknowledged only once the change is durable.
 *
 * <pre>{@code
 * try (TaskEventEngine engine = TaskEventEngine.builder()
 *         .store(store)
 *         .stateSink(stateMachine::onTaskStateChanged)
 *         .build()) {
 *     engine.submit(event).thenAccept(ack -> worker.acknowledge(ack));
 * }
 * }</pre>
 *
 * <h2>The path of one event</h2>
 * <ol>
 *   <li>{@link #submit} queues the event under its workflow instance id in a {@link KeyedExecutor}:
 *       a workflow's events run one at a time, in submission order; different workflows in parallel.
 *   <li>The workflow's task snapshot comes from a Caffeine cache; on a miss the store loads it
 *       (never dropping the event), together with the other workflows missed meanwhile. A task the snapshot lacks is looked up in the store; a task
 *       found nowhere gets {@link Acknowledgement.Rejected} (UNKNOWN_TASK_INSTANCE).
 *   <li>{@link TransitionRules} decide: change, duplicate or stale.
 *   <li>A change goes to the group committer, which writes many workflows' changes in one batch.
 *       The workflow's key stays held, without holding a thread, until that write returned, so its
 *       next event sees the committed row.
 *   <li>Only then the {@link WorkflowStateSink} is told (not for DISPATCH) and the future completes.
 * </ol>
 *
 * <h2>Failures</h2>
 * A batch write that fails is retried per {@link RetryPolicy}; meanwhile the workflows in it wait.
 * If it still fails, the events' futures fail with {@link StoreException} (no ack: the worker
 * resends) and the workflows' snapshots are dropped, since the outcome may be unknown; a resend is
 * then decided against what the store really holds. A version conflict (someone else wrote the
 * row) reloads the snapshot and decides again, up to three times; a conflict that is the batch's
 * own earlier attempt, committed after all, is recognised by the row's {@code lastEventId} and
 * answered {@code Applied}. A row the store refuses as input is answered {@code Rejected}
 * ({@code REFUSED_BY_STORE}) without holding up the rest of its batch.
 *
 * <h2>State events</h2>
 * With a sink, each batch records its state events in the store's outbox in its own transaction,
 * and the {@link OutboxRelay} tells the sink every committed change at least once, in commit order
 * per workflow, across unknown commit outcomes, crashes and sink failures (see its comment).
 *
 * <h2>Cluster mode</h2>
 * With {@link Builder#cluster}, several engines share one store, each serving the shards it holds
 * ({@link ClusterSettings}, {@link #cluster()}). An event of a shard this node does not hold is
 * answered {@link Acknowledgement.Moved}: at once if nothing of its workflow is queued or running,
 * else in turn after the workflow's earlier events (an answer never overtakes an earlier accepted
 * event's answer of the same workflow, so a client that follows Moved keeps the workflow's order).
 * An event of a shard being taken over (its
 * previous owner's untold state events are re-told first) or given up waits, in arrival order,
 * counted against {@code maxQueued}. Every write carries the epoch of the shard's tenure, and the
 * store fences writes of an epoch that is no longer the shard's: such an event is answered
 * {@code Moved} (or decided again, if this node holds the shard at a newer epoch by then). No
 * recovery runs at start: each shard's outbox entries are told when the shard is taken.
 *
 * <h2>The state-event feed</h2>
 * With {@link Builder#stateFeed}, each batch also (or, without a sink, only) records its state events in the
 * store's state-event feed, once per committed change: a retried batch whose first attempt
 * committed gets VERSION_CONFLICT and records nothing again.
 */
public final class TaskEventEngine implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TaskEventEngine.class.getName());
    /** The most workflows one snapshot load reads ({@link SnapshotLoader}). */
    private static final int SNAPSHOT_LOAD_BATCH = 500;
    /** The most snapshot loads in flight at once. */
    private static final int SNAPSHOT_LOADS_AT_ONCE = 2;
    /** Rows found behind a version this engine knew; package-private for the engine's tests. */
    final LostCommits lostCommits = new LostCommits(LOG, System::nanoTime);
    private static final int MAX_CONFLICT_ATTEMPTS = 3;

    private final TaskInstanceStore store;
    private final boolean ownsStore;
    private final OutboxRelay relay;
    private final CountDownLatch closing = new CountDownLatch(1);
    private final Clock clock;
    private final ExecutorService ioExecutor;
    private final KeyedExecutor<Long> executor;
    private final AsyncLoadingCache<Long, WorkflowSnapshot> snapshots;
    private final GroupCommitter committer;
    /** Retention of the state-event feed; null without {@link Builder#stateFeed}. */
    private final FeedCleaner feedCleaner;
    private static final Duration FEED_CLEAN_INTERVAL = Duration.ofSeconds(10);
    private final StageTimer stages = new StageTimer();
    private final LongAdder applied = new LongAdder();
    private final LongAdder duplicates = new LongAdder();
    private final LongAdder stale = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder moved = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final LongAdder fencedRows = new LongAdder();
    /** Cluster mode: the store's leases and this node's membership; both null otherwise. */
    private final ShardLeases leases;
    /** {@link #leases} as the member uses them: cut off at the close deadline; null outside cluster mode. */
    private final CloseBoundedLeases memberLeases;
    private final ClusterMember member;
    /** Which events this node takes, and under which tenure; null outside cluster mode. */
    private final ClusterAdmission admission;

    /**
     * @param opened the store {@link Builder#build} opened from the builder's URL, or null for the
     *     builder's own store; if this constructor throws, {@code build} closes an opened store
     */
    private TaskEventEngine(Builder b, TaskInstanceStore opened) {
        this.ownsStore = opened != null;
        this.store = ownsStore ? opened : b.store;
        this.leases = b.cluster == null ? null : leasesOf(store, b);
        int shardCount = leases == null ? 0 : leases.shardCount();
        this.clock = b.clock;
        // Store I/O (snapshot loads, batch writes) blocks in JDBC; virtual threads make that cheap.
        this.ioExecutor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("taskevents-io-", 0).factory());
        if (b.feedRetention != null && store.stateFeed().isEmpty()) {
            ioExecutor.shutdown();
            throw new IllegalArgumentException("the state-event feed (stateFeed(" + b.feedRetention + ")) needs a store"
                    + " that can keep one; " + store.getClass().getName() + " cannot: use a JDBC or memory: store,"
                    + " or build the engine without stateFeed");
        }
        this.relay = new OutboxRelay(store, b.stateSink, b.feedRetention != null);
        try {
            // Changes committed and perhaps never told (a crash, an unknown commit outcome) are
            // told before the first event is taken, so they come before any later change.
            // Cluster mode: per shard, when it is taken (the node holds none yet).
            if (leases == null) {
                relay.recover();
            }
        } catch (RuntimeException | Error e) {
            relay.close();
            ioExecutor.shutdown();
            throw e;
        }
        this.executor = b.keyed.build();
        this.snapshots = Caffeine.newBuilder()
                .maximumWeight(b.cacheMaximumBytes)
                .weigher((Long workflowId, WorkflowSnapshot snapshot) -> snapshot.weight())
                .expireAfterAccess(b.cacheExpireAfterAccess)
                .executor(ioExecutor)
                .buildAsync(new SnapshotLoader(store, ioExecutor, SNAPSHOT_LOAD_BATCH, SNAPSHOT_LOADS_AT_ONCE));
        Set<StateEventLog> recordIn = EnumSet.noneOf(StateEventLog.class);
        if (b.stateSink != WorkflowStateSink.NONE) {
            recordIn.add(StateEventLog.OUTBOX);
        }
        if (b.feedRetention != null) {
            recordIn.add(StateEventLog.FEED);
        }
        this.committer = new GroupCommitter(store, ioExecutor, ioExecutor,
                GroupCommitter.Settings.of(b.maxCommitBatch, b.commitConcurrency, b.commitRetry).fenced(shardCount)
                        .recordingIn(recordIn), stages);
        this.feedCleaner = b.feedRetention == null ? null
                : new FeedCleaner(store.stateFeed().orElseThrow(), b.feedRetention, FEED_CLEAN_INTERVAL, 500);
        if (leases == null) {
            this.memberLeases = null;
            this.member = null;
            this.admission = null;
        } else {
            ClusterSettings c = b.cluster;
            this.memberLeases = new CloseBoundedLeases(leases, c.nanoClock());
            this.member = new ClusterMember(memberLeases, new ClusterMember.Config(c, c.manualRounds(), c.nanoClock(),
                    c.probe()), shardCount, new Host());
            this.admission = new ClusterAdmission(member, (event, tenure) -> process(event, 1, tenure));
            try {
                member.start();
            } catch (RuntimeException | Error e) {
                executor.close(Duration.ZERO);
                relay.close();
                if (feedCleaner != null) {
                    feedCleaner.close();
                }
                ioExecutor.shutdown();
                throw e;
            }
        }
        if (leases != null) {
            warnIfWritesUnbounded(b.feedRetention != null);
        }
        if (b.stateSink != WorkflowStateSink.NONE) {
            Thread.ofVirtual().name("taskevents-outbox-settler").start(this::settleInBackground); // ends at close
        }
    }

    /**
     * After the node registered (a store may bound its write sessions from then on): warns if the
     * store does not bound how long a stopped writer keeps its locks.
     */
    private void warnIfWritesUnbounded(boolean feed) {
        try {
            if (leases.writerIdleTimeout().isPresent()) {
                return;
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cluster mode: could not ask the store how long a write transaction may sit idle: "
                    + e.getMessage());
            return;
        }
        LOG.log(Level.WARNING, "cluster mode: the store does not bound how long a write transaction may sit idle; a"
                + " node paused inside a transaction delays the failover of its shards until the database ends that"
                + " transaction" + (feed ? ", and, as every batch that records in the state-event feed updates its"
                + " one head row just before its commit, stalls the writes of every node until then" : ""));
    }

    /** The store's cluster operations; refuses a store without them. */
    private static ShardLeases leasesOf(TaskInstanceStore store, Builder b) {
        Optional<ShardLeases> cluster = store.cluster();
        if (cluster.isPresent()) {
            return cluster.get();
        }
        // Named by its URL's scheme when the builder opened it; a store given as an object says only
        // what the SPI tells: it has no cluster operations.
        String reason = b.storeUrl != null && b.storeUrl.startsWith("memory:")
                ? "the store memory: cannot (it lives in one process)"
                : b.storeUrl != null ? "the store " + b.storeUrl.substring(0, b.storeUrl.indexOf(':') + 1)
                        + " cannot (its cluster() is empty)"
                : "this store cannot (its cluster() is empty)";
        throw new IllegalArgumentException("cluster mode needs a store shared by every node and able to fence"
                + " writes; " + reason + ". Use a jdbc: URL (PostgreSQL, MySQL/MariaDB, H2)");
    }

    /** What the cluster member asks of this engine when a tenure begins or ends. */
    private final class Host implements ShardHost {
        @Override
        public void sweep(int shard) {
            int shardCount = member.shardCount();
            snapshots.asMap().keySet().removeIf(workflowId -> Shards.of(workflowId, shardCount) == shard);
            relay.forget(workflowId -> Shards.of(workflowId, shardCount) == shard);
        }

        @Override
        public boolean retell(Set<Integer> shards) {
            return relay.recover(shards, leases);
        }

        @Override
        public Progress progress() {
            return new Progress(committer.batches() + relay.retold(), committer.unanswered() > 0);
        }
    }

    /** A builder; {@link Builder#store} or {@link Builder#storeUrl} is required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Accepts {@code event} for processing after every event accepted earlier for its workflow
     * instance. The future completes once the event's change (if any) is committed and the state
     * sink was told; it fails with {@link StoreException} if the change could not be written.
     * Callbacks attached without an executor run on an engine thread: keep them short.
     *
     * @throws QueueFullException if {@code maxQueued} events are waiting and none finished within
     *     the submit timeout (backpressure: the event was not accepted; submit it again later)
     * @throws RejectedExecutionException if the engine is closed; the event was not accepted
     */
    public CompletableFuture<Acknowledgement> submit(TaskEvent event) {
        Objects.requireNonNull(event, "event");
        if (admission != null && closing.getCount() > 0) {
            CompletableFuture<Acknowledgement> answer = admission.atSubmit(event, executor::isIdle);
            if (answer != null) {
                if (answer.isCompletedExceptionally()) {
                    failed.increment();
                } else {
                    moved.increment();
                }
                return answer;
            }
        }
        EventTask task = new EventTask(event);
        executor.executeAsync(event.workflowInstanceId(), task);
        return task.ack;
    }

    /** The unit of work queued under a workflow's key; its stage completes after the ack. */
    private final class EventTask implements Supplier<CompletionStage<?>> {
        final TaskEvent event;
        final CompletableFuture<Acknowledgement> ack = new CompletableFuture<>();
        final long submittedAt = System.nanoTime();

        EventTask(TaskEvent event) {
            this.event = event;
        }

        @Override
        public CompletionStage<?> get() {
            stages.record(StageLatencies.Stage.QUEUED, System.nanoTime() - submittedAt);
            CompletableFuture<Acknowledgement> outcome;
            try {
                outcome = admission == null ? process(event, 1, null) : admission.admit(event);
            } catch (Throwable e) {
                // Even an Error: the ack must complete, or the worker waits for ever.
                outcome = CompletableFuture.failedFuture(e);
            }
            return outcome.handle((answer, error) -> {
                stages.record(StageLatencies.Stage.TOTAL, System.nanoTime() - submittedAt);
                if (error == null) {
                    count(answer);
                    ack.complete(answer);
                } else {
                    failed.increment();
                    ack.completeExceptionally(unwrap(error));
                }
                return null;
            });
        }
    }

    /** @param tenure the shard tenure the event runs under (cluster mode), or null */
    private CompletableFuture<Acknowledgement> process(TaskEvent event, int attempt, ShardTenure tenure) {
        long workflowId = event.workflowInstanceId();
        long started = System.nanoTime();
        return relay.settleIfNeeded(workflowId, ioExecutor)
                .thenCompose(settled -> snapshot(workflowId))
                .thenApply(snapshot -> {
                    stages.record(StageLatencies.Stage.SNAPSHOT, System.nanoTime() - started);
                    return snapshot;
                })
                .thenCompose(snapshot -> currentRow(snapshot, event)
                        .thenCompose(current -> decide(snapshot, event, current, attempt, false, tenure)));
    }

    /**
     * The workflow's snapshot. A failed load is removed from the cache here, before the event
     * fails: Caffeine's own removal runs after this event's continuation (dependents of a
     * future run last-in, first-out), too late for the workflow's next event, which would
     * otherwise get the same failed load.
     */
    private CompletableFuture<WorkflowSnapshot> snapshot(long workflowId) {
        CompletableFuture<WorkflowSnapshot> load = snapshots.get(workflowId);
        return load.whenComplete((snapshot, error) -> {
            if (error != null) {
                snapshots.asMap().remove(workflowId, load);
            }
        });
    }

    /**
     * Applies the rules to {@code current}. A duplicate or stale answer from a cached row is
     * confirmed against the store first ({@code confirmed} false): the snapshot may be older than
     * the store (another writer), and an answer that changes nothing must not rest on an old row.
     */
    private CompletableFuture<Acknowledgement> decide(WorkflowSnapshot snapshot, TaskEvent event,
                                                      TaskInstance current, int attempt, boolean confirmed,
                                                      ShardTenure tenure) {
        long workflowId = event.workflowInstanceId();
        if (current == null) {
            return CompletableFuture.completedFuture(unknownTask(event));
        }
        if (current.workflowInstanceId() != workflowId) {
            return CompletableFuture.completedFuture(new Acknowledgement.Rejected(event.eventId(),
                    Acknowledgement.Rejected.Reason.WRONG_WORKFLOW_INSTANCE,
                    "task instance " + event.taskInstanceId() + " belongs to workflow instance "
                            + current.workflowInstanceId() + ", but the event names workflow instance "
                            + workflowId));
        }
        Decision decision = TransitionRules.decide(current, event, clock.instant());
        if (decision instanceof Decision.Change change) {
            return write(snapshot, event, current, change.next(), attempt, tenure);
        }
        if (!confirmed) {
            return CompletableFuture.supplyAsync(() -> store.find(event.taskInstanceId()).orElse(null), ioExecutor)
                    .thenCompose(stored -> {
                        if (stored != null) {
                            lostCommits.check(current.id(), stored.version(), current.version());
                        }
                        if (stored != null && stored.version() == current.version()) {
                            return decide(snapshot, event, current, attempt, true, tenure);
                        }
                        remember(snapshot, event.taskInstanceId(), stored);
                        return decide(snapshot, event, stored, attempt, true, tenure);
                    });
        }
        return CompletableFuture.completedFuture(decision instanceof Decision.Duplicate
                ? new Acknowledgement.Duplicate(event.eventId(), current.state())
                : new Acknowledgement.Stale(event.eventId(), current.state()));
    }

    private static void remember(WorkflowSnapshot snapshot, long taskInstanceId, TaskInstance stored) {
        if (stored != null && stored.workflowInstanceId() == snapshot.workflowInstanceId()) {
            snapshot.put(stored);
        } else {
            snapshot.remove(taskInstanceId);
        }
    }

    private CompletableFuture<Acknowledgement> write(WorkflowSnapshot snapshot, TaskEvent event, TaskInstance current,
                                                     TaskInstance next, int attempt, ShardTenure tenure) {
        long workflowId = event.workflowInstanceId();
        StateEvent notification = relay.notificationFor(event, next);
        RowUpdate update = new RowUpdate(next, current.version(), notification);
        CompletableFuture<dev.taskevents.engine.commit.Commit> written = tenure == null ? committer.write(update)
                : committer.write(update, tenure.epoch());
        return written.handle((commit, error) -> {
            if (unwrap(error) instanceof IllegalArgumentException refused) {
                // The store refused this row alone (the committer wrote it by itself), and a
                // refusal commits nothing: a final answer, not an outage to retry. An earlier
                // attempt of its batch may have failed with an unknown outcome: settle to be sure.
                relay.markUnsettled(workflowId);
                return CompletableFuture.<Acknowledgement>completedFuture(new Acknowledgement.Rejected(
                        event.eventId(), Acknowledgement.Rejected.Reason.REFUSED_BY_STORE,
                        "the store refused the change event " + event.eventId() + " makes to task instance "
                                + next.id() + ": " + refused.getMessage()));
            }
            if (error != null) {
                // The batch may or may not have committed: forget what we think the row is, and
                // settle the workflow's outbox before its next event.
                snapshots.synchronous().invalidate(workflowId);
                relay.markUnsettled(workflowId);
                return CompletableFuture.<Acknowledgement>failedFuture(unwrap(error));
            }
            return switch (commit.outcome()) {
                case APPLIED -> {
                    snapshot.put(next);
                    if (next.varPool() != null && next.varPool() != current.varPool()) {
                        // Caffeine weighs a value when it is put: put it again so that the new
                        // var pool counts against the bound by bytes.
                        snapshots.put(workflowId, CompletableFuture.completedFuture(snapshot));
                    }
                    if (notification != null) {
                        relay.committed(notification);
                    }
                    yield CompletableFuture.<Acknowledgement>completedFuture(
                            new Acknowledgement.Applied(event.eventId(), next));
                }
                case VERSION_CONFLICT -> {
                    snapshots.synchronous().invalidate(workflowId);
                    if (commit.ambiguous()) {
                        yield afterUnknownOutcome(event, next, attempt, tenure);
                    }
                    yield checkNotBehind(current).thenCompose(checked -> retryAfterConflict(event, next, attempt, tenure));
                }
                case NOT_FOUND -> {
                    snapshot.remove(next.id());
                    yield CompletableFuture.completedFuture(unknownTask(event));
                }
                case FENCED -> {
                    if (tenure == null) {
                        throw new IllegalStateException("the store answered FENCED for task instance "
                                + next.id() + ", written without a shard fence");
                    }
                    // Not written: the shard moved on from this tenure's epoch. Whatever we cached
                    // of the workflow may be behind the store now.
                    fencedRows.increment();
                    snapshots.synchronous().invalidate(workflowId);
                    yield admission.afterFenced(event, tenure);
                }
            };
        }).thenCompose(stage -> stage);
    }

    /**
     * The row was not at {@code known}'s version: another writer moved it on, or the database lost
     * changes and it is behind ({@link LostCommits}). Reads it to tell which; a failed read only
     * skips the check (the retry reads the workflow again anyway).
     */
    private CompletableFuture<Void> checkNotBehind(TaskInstance known) {
        try {
            return CompletableFuture.runAsync(() -> {
                try {
                    store.find(known.id()).ifPresent(stored -> lostCommits.check(known.id(), stored.version(),
                            known.version()));
                } catch (RuntimeException unreadable) {
                    // the check is a diagnosis; the event's retry meets the same store and answers for it
                }
            }, ioExecutor);
        } catch (RejectedExecutionException closing) {
            return CompletableFuture.completedFuture(null); // closed past its deadline: the retry answers
        }
    }

    private CompletableFuture<Acknowledgement> retryAfterConflict(TaskEvent event, TaskInstance next, int attempt,
                                                                  ShardTenure tenure) {
        // Someone wrote the row: another writer, or a commit of ours that landed after its
        // attempt was given up for failed. Settle before deciding again, so that such a commit's
        // state event is told before this one's.
        relay.markUnsettled(event.workflowInstanceId());
        if (attempt >= MAX_CONFLICT_ATTEMPTS) {
            return CompletableFuture.failedFuture(new StoreException("task instance " + next.id()
                    + " was changed by another writer " + attempt + " times while applying event "
                    + event.eventId() + "; not applied"));
        }
        return process(event, attempt + 1, tenure);
    }

    /**
     * An attempt of the batch failed with an unknown outcome and the retry found the row changed:
     * most likely by that attempt itself. If the stored row is this event's change, the event was
     * applied: answer {@code Applied} with the stored row. Either way the workflow's outbox is
     * settled first, so the sink hears of whatever that attempt committed, in order.
     */
    private CompletableFuture<Acknowledgement> afterUnknownOutcome(TaskEvent event, TaskInstance next, int attempt,
                                                                   ShardTenure tenure) {
        relay.markUnsettled(event.workflowInstanceId());
        return CompletableFuture.supplyAsync(() -> {
            relay.settle(event.workflowInstanceId());
            return store.find(next.id()).orElse(null);
        }, ioExecutor).thenCompose(stored -> {
            if (stored != null) {
                lostCommits.check(next.id(), stored.version(), next.version() - 1);
            }
            if (stored != null && stored.version() == next.version() && event.eventId().equals(stored.lastEventId())) {
                return CompletableFuture.completedFuture(new Acknowledgement.Applied(event.eventId(), stored));
            }
            return retryAfterConflict(event, next, attempt, tenure);
        });
    }

    /** The stored row for the event's task: from the snapshot, else from the store (null if none). */
    private CompletableFuture<TaskInstance> currentRow(WorkflowSnapshot snapshot, TaskEvent event) {
        TaskInstance cached = snapshot.get(event.taskInstanceId());
        if (cached != null) {
            return CompletableFuture.completedFuture(cached);
        }
        // A task created after the snapshot was loaded: look it up rather than drop the event.
        return CompletableFuture.supplyAsync(() -> store.find(event.taskInstanceId()).orElse(null), ioExecutor)
                .thenApply(row -> {
                    if (row != null && row.workflowInstanceId() == snapshot.workflowInstanceId()) {
                        snapshot.put(row);
                    }
                    return row;
                });
    }

    private static Acknowledgement unknownTask(TaskEvent event) {
        return new Acknowledgement.Rejected(event.eventId(), Acknowledgement.Rejected.Reason.UNKNOWN_TASK_INSTANCE,
                "unknown task instance " + event.taskInstanceId() + " (workflow instance "
                        + event.workflowInstanceId() + "): the store holds no task instance with this id");
    }

    /**
     * Every second: retries an incomplete recovery, and settles each unsettled workflow through
     * the keyed executor, under the workflow's key like its events, so that a workflow whose
     * untold change was its last one (no next event will settle it) is still told.
     */
    private void settleInBackground() {
        try {
            while (!closing.await(1, TimeUnit.SECONDS)) {
                if (relay.recoveryIncomplete()) {
                    try {
                        relay.recover();
                    } catch (RuntimeException e) {
                        LOG.log(Level.WARNING, "retrying the recovery of untold state events failed: " + e.getMessage());
                    }
                }
                for (long workflowId : relay.unsettledWorkflows()) {
                    if (admission != null && !admission.serves(workflowId)) {
                        continue; // not served here (now): its owner tells its entries
                    }
                    try {
                        executor.executeAsync(workflowId, () -> relay.settleIfNeeded(workflowId, ioExecutor));
                    } catch (RejectedExecutionException e) {
                        break; // full (QueueFullException) or closing: the next round tries again
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void count(Acknowledgement answer) {
        switch (answer) {
            case Acknowledgement.Applied a -> applied.increment();
            case Acknowledgement.Duplicate d -> duplicates.increment();
            case Acknowledgement.Stale s -> stale.increment();
            case Acknowledgement.Rejected r -> rejected.increment();
            case Acknowledgement.Moved m -> moved.increment();
        }
    }

    private static Throwable unwrap(Throwable error) {
        return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    }

    /**
     * When the state-event feed's cleaner last ended a run without failing (it runs every 10 s,
     * deleting changes older than the retention); empty before its first run, or without a feed.
     */
    public Optional<Instant> feedCleanedAt() {
        return feedCleaner == null ? Optional.empty() : feedCleaner.lastRun();
    }

    /** Where events' time went so far, stage by stage ({@link StageLatencies}). */
    public StageLatencies stageLatencies() {
        return stages.snapshot();
    }

    /** The engine's counters at one moment. */
    public EngineStats stats() {
        KeyedExecutor.Stats keyed = executor.stats();
        // The cache evicts in maintenance it schedules on the io executor; run what is pending here,
        // so that the count of cached workflows is the bounded one, not one that lags it.
        snapshots.synchronous().cleanUp();
        return EngineStats.builder().queued(keyed.queued()).activeKeys(keyed.activeKeys()).applied(applied.sum())
                .duplicates(duplicates.sum()).stale(stale.sum()).rejected(rejected.sum()).moved(moved.sum())
                .failed(failed.sum()).sinkFailures(relay.sinkFailures()).pendingWrites(committer.waiting())
                .batches(committer.batches()).rowsWritten(committer.rows()).writeRetries(committer.retries())
                .cachedWorkflows(snapshots.synchronous().estimatedSize()).stateEventsRetold(relay.retold()).build();
    }

    /**
     * Cluster mode: what this node holds and knows of the cluster now; empty outside cluster mode.
     */
    public Optional<ClusterView> cluster() {
        return member == null ? Optional.empty() : Optional.of(member.view(fencedRows.sum(), moved.sum()));
    }

    /** Test seam: the cluster member (null outside cluster mode), whose rounds a test runs by hand. */
    ClusterMember clusterMember() {
        return member;
    }

    /** {@link #close(Duration)} with a 30 s deadline; events that did not run are logged. */
    @Override
    public void close() {
        List<TaskEvent> notRun = close(Duration.ofSeconds(30));
        if (!notRun.isEmpty()) {
            LOG.log(Level.WARNING, notRun.size() + " accepted events did not run before the close deadline;"
                    + " their futures failed with EngineClosedException");
        }
    }

    /**
     * Stops intake, processes the accepted events until {@code deadline}, then releases the
     * engine's threads (and the store, if the engine opened it from a URL).
     *
     * <p>Cluster mode: first gives every shard up (its events in flight finish, within the drain
     * timeout or the deadline, whichever comes first; the waiting ones are answered Moved) and ends the node's lease, within the same
     * deadline: a release or leave the store has not been sent by then is not sent, and that shard
     * moves when the node's lease runs out (store calls in flight at the deadline run to their
     * end). The accepted events then get what is left of the deadline.
     *
     * @return the accepted events that had not started by the deadline; their futures have failed
     *     with {@link EngineClosedException}. Nothing about them was written or acknowledged.
     */
    public List<TaskEvent> close(Duration deadline) {
        long start = System.nanoTime();
        closing.countDown();
        if (member != null) {
            memberLeases.cutOffAfter(deadline);
            member.close(deadline);
        }
        Duration left = deadline.minusNanos(System.nanoTime() - start);
        List<TaskEvent> notRun = new ArrayList<>();
        for (KeyedExecutor.PendingTask<Long> pending : executor.close(left.isNegative() ? Duration.ZERO : left)) {
            if (pending.task() instanceof EventTask task) {
                notRun.add(task.event);
                task.ack.completeExceptionally(new EngineClosedException(task.event));
            }
            // Otherwise a background settle that did not run: the next start tells its entries.
        }
        relay.close();
        lostCommits.logUnlogged();
        if (feedCleaner != null) {
            feedCleaner.close();
        }
        ioExecutor.shutdown();
        if (ownsStore) {
            store.close();
        }
        return notRun;
    }

    /** Builds a {@link TaskEventEngine}. */
    public static final class Builder {
        private TaskInstanceStore store;
        private String storeUrl;
        private WorkflowStateSink stateSink = WorkflowStateSink.NONE;
        // Microseconds: the finest precision every store keeps, so the acked row equals the stored one.
        private Clock clock = Clock.tick(Clock.systemUTC(), Duration.ofNanos(1_000));
        private long cacheMaximumBytes = 256L << 20;
        private Duration cacheExpireAfterAccess = Duration.ofMinutes(10);
        private final KeyedExecutor.Builder<Long> keyed = KeyedExecutor.<Long>builder()
                .threadNamePrefix("taskevents-engine-");
        private int maxCommitBatch = 1_000;
        private int commitConcurrency = 2;
        private RetryPolicy commitRetry = new RetryPolicy(10, Duration.ofMillis(10), Duration.ofSeconds(2));
        private ClusterSettings cluster;
        private Duration feedRetention;

        private Builder() {}

        /** The store to use; the caller keeps owning it (the engine does not close it). */
        public Builder store(TaskInstanceStore store) {
            this.store = Objects.requireNonNull(store, "store");
            this.storeUrl = null;
            return this;
        }

        /** Opens the store with {@link Stores#open(String)}; the engine closes it on close. */
        public Builder storeUrl(String url) {
            this.storeUrl = Objects.requireNonNull(url, "url");
            this.store = null;
            return this;
        }

        /** Told of every committed change but DISPATCH's; by default {@link WorkflowStateSink#NONE}. */
        public Builder stateSink(WorkflowStateSink sink) {
            this.stateSink = Objects.requireNonNull(sink, "sink");
            return this;
        }

        /**
         * Records every committed change but DISPATCH's in the store's state-event feed
         * ({@link TaskInstanceStore#stateFeed()}), in the batch's own transaction, and keeps the
         * feed's changes for {@code retention} (a cleaner deletes older ones every 10 s, beside
         * the write path). Works with or without a sink: without one the engine runs
         * record-only, making notifications for the feed alone (nothing goes to the outbox).
         * Off by default. {@link #build} fails if the store keeps no feed.
         *
         * @throws IllegalArgumentException if {@code retention} is not positive
         */
        public Builder stateFeed(Duration retention) {
            Objects.requireNonNull(retention, "retention");
            if (retention.isNegative() || retention.isZero()) {
                throw new IllegalArgumentException("the state-event feed's retention must be positive, was " + retention);
            }
            this.feedRetention = retention;
            return this;
        }

        /** The clock for {@code updatedAt}; by default UTC system time in whole microseconds. */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * About how many bytes of heap the cached workflow snapshots may hold (each weighs its
         * rows' text, var pools included); by default 256 MiB. Bounded by bytes, not by count:
         * ten thousand workflows with megabyte var pools would otherwise fill any heap.
         */
        public Builder cacheMaximumBytes(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("cacheMaximumBytes must not be negative, was " + bytes);
            }
            this.cacheMaximumBytes = bytes;
            return this;
        }

        /** How long an unused workflow snapshot stays cached; by default 10 minutes. */
        public Builder cacheExpireAfterAccess(Duration duration) {
            if (duration.isNegative()) {
                throw new IllegalArgumentException("cacheExpireAfterAccess must not be negative, was " + duration);
            }
            this.cacheExpireAfterAccess = duration;
            return this;
        }

        /** The threads that run the state rules; see {@link ThreadMode}. By default PLATFORM. */
        public Builder threadMode(ThreadMode mode) {
            keyed.threadMode(mode);
            return this;
        }

        /** The platform thread count; by default one per core. */
        public Builder threads(int threads) {
            keyed.threads(threads);
            return this;
        }

        /** The most events accepted and not yet answered; by default 100,000. */
        public Builder maxQueued(int maxQueued) {
            keyed.maxQueued(maxQueued);
            return this;
        }

        /** How long {@link #submit} waits for room before {@link QueueFullException}; by default 1 s. */
        public Builder submitTimeout(Duration timeout) {
            keyed.submitTimeout(timeout);
            return this;
        }

        /** Events of one workflow handled before its thread turns to others; by default 64. */
        public Builder keyBatchSize(int size) {
            keyed.batchSize(size);
            return this;
        }

        /**
         * The most rows in one batch write; by default 1,000. 1 means one commit per event, the
         * baseline that group commit is measured against.
         */
        public Builder maxCommitBatch(int rows) {
            if (rows < 1) {
                throw new IllegalArgumentException("maxCommitBatch must be at least 1, was " + rows);
            }
            this.maxCommitBatch = rows;
            return this;
        }

        /**
         * How many batches may be written at once, each on its own connection; by default 2, so
         * that one batch's acknowledgements overlap the next one's commit.
         */
        public Builder commitConcurrency(int batches) {
            if (batches < 1) {
                throw new IllegalArgumentException("commitConcurrency must be at least 1, was " + batches);
            }
            this.commitConcurrency = batches;
            return this;
        }

        /** How failed batch writes are retried; by default 10 attempts, backoff 10 ms doubling to 2 s. */
        public Builder commitRetry(RetryPolicy retry) {
            this.commitRetry = Objects.requireNonNull(retry, "retry");
            return this;
        }

        /**
         * Cluster mode: this engine is one of several nodes sharing the store, and serves the
         * events of the shards it holds (see {@link ClusterSettings}). The store must offer
         * {@link TaskInstanceStore#cluster()}.
         */
        public Builder cluster(ClusterSettings settings) {
            this.cluster = Objects.requireNonNull(settings, "settings");
            return this;
        }

        /**
         * @throws IllegalStateException if neither a store nor a store URL was given
         * @throws IllegalArgumentException if no storage provider serves the store URL, if the
         *     state feed was asked of a store that keeps none, or with
         *     {@link #cluster} settings, if the store cannot take part in a cluster
         */
        public TaskEventEngine build() {
            if (store == null && storeUrl == null) {
                throw new IllegalStateException("a store is required: call store(TaskInstanceStore) or storeUrl(String)");
            }
            TaskInstanceStore opened = store != null ? null : Stores.open(storeUrl);
            try {
                return new TaskEventEngine(this, opened);
            } catch (RuntimeException | Error e) {
                if (opened != null) {
                    try {
                        opened.close(); // the one place a store the engine opened is closed on a failed start
                    } catch (RuntimeException closing) {
                        e.addSuppressed(closing);
                    }
                }
                throw e;
            }
        }
    }
}
