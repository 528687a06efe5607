package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.cluster.ClusterMember;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Review of cluster mode (issue #13): a lease operation that throws although the database may
 * (acquire) or may not (release) have changed the shard row leaves the shard owned, in the
 * database, by a live node that keeps no tenure for it. No node ever serves it again while that
 * node lives: {@code ClusterMember.acquire} skips shards the map shows owned by this node, and
 * every other node sees a live owner.
 */
class ClusterOrphanShardReviewTest {
    private static final Instant T = Instant.parse("2026-11-27T10:00:00Z");
    private static final Duration LEASE = Duration.ofSeconds(10);

    private final List<TaskEventEngine> engines = new ArrayList<>();
    private final AtomicLong nanos = new AtomicLong();
    private final AtomicLong nextTask = new AtomicLong(5_000);

    @AfterEach
    void tearDown() {
        for (TaskEventEngine e : engines) {
            e.close(Duration.ofSeconds(10));
        }
    }

    /**
     * The cluster test store behind a forwarding store whose {@link #release} and {@link #acquire}
     * can fail once, as JdbcShardLeases does when the lock wait ends (release) or when the
     * connection drops after the database committed (acquire).
     */
    static final class FaultyLeases extends ForwardingTaskInstanceStore implements ShardLeases {
        final ClusterTestStore inner;
        /** The next release throws, as JdbcShardLeases.release does after its lock wait ended; nothing changes. */
        final AtomicBoolean releaseLockWaitEnds = new AtomicBoolean();
        /** The next acquire commits and then throws (the answer was lost on the way back). */
        final AtomicBoolean acquireAnswerLost = new AtomicBoolean();

        FaultyLeases(ClusterTestStore inner) {
            super(inner);
            this.inner = inner;
        }

        @Override
        public Optional<ShardLeases> cluster() {
            return Optional.of(this);
        }

        @Override
        public int shardCount() {
            return inner.shardCount();
        }

        @Override
        public void register(String nodeId, String address, Duration lease) {
            inner.register(nodeId, address, lease);
        }

        @Override
        public boolean heartbeat(String nodeId, Duration lease) {
            return inner.heartbeat(nodeId, lease);
        }

        @Override
        public List<NodeInfo> liveNodes() {
            return inner.liveNodes();
        }

        @Override
        public List<ShardInfo> shards() {
            return inner.shards();
        }

        @Override
        public OptionalLong acquire(int shard, String nodeId, long seenEpoch) {
            OptionalLong taken = inner.acquire(shard, nodeId, seenEpoch);
            if (taken.isPresent() && acquireAnswerLost.compareAndSet(true, false)) {
                throw new StoreException("injected: the connection broke after the takeover of shard " + shard
                        + " committed");
            }
            return taken;
        }

        @Override
        public boolean release(int shard, String nodeId, long epoch) {
            if (releaseLockWaitEnds.compareAndSet(true, false)) {
                // What JdbcShardLeases.release throws when a writer holds the shard row longer
                // than the lease connection's lock wait: the UPDATE did not happen.
                throw new StoreException("could not release shard " + shard + " of node " + nodeId + ": a write"
                        + " transaction kept the shard locked longer than 1000 ms; the shard is still held at epoch "
                        + epoch + ", retry");
            }
            return inner.release(shard, nodeId, epoch);
        }

        @Override
        public void leave(String nodeId) {
            inner.leave(nodeId);
        }

        @Override
        public int reap(Duration olderThan) {
            return inner.reap(olderThan);
        }

        @Override
        public List<StateEvent> pendingStateEvents(Set<Integer> shards, int limit) {
            return inner.pendingStateEvents(shards, limit);
        }

        @Override
        public Optional<Duration> writerIdleTimeout() {
            return inner.writerIdleTimeout();
        }
    }

    private TaskEventEngine node(String name, FaultyLeases store) {
        TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(WorkflowStateSink.NONE)
                .cluster(ClusterSettings.builder().nodeName(name).advertisedAddress("http://" + name).lease(LEASE)
                        .renewInterval(Duration.ofSeconds(2)).drainTimeout(Duration.ofSeconds(30)).manualRounds()
                        .nanoClock(nanos::get).build())
                .clock(Clock.fixed(T, ZoneOffset.UTC)).build();
        engines.add(engine);
        return engine;
    }

    private static ClusterMember member(TaskEventEngine engine) {
        return engine.clusterMember();
    }

    private static List<Integer> owned(TaskEventEngine engine) {
        return engine.cluster().orElseThrow().owned().stream().map(ClusterView.OwnedShard::shard).toList();
    }

    private long task(FaultyLeases store, long workflow) {
        long id = nextTask.incrementAndGet();
        store.insert(List.of(TaskInstance.submitted(id, workflow, "t" + id, T)));
        return id;
    }

    private static TaskEvent running(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, workflow, task).eventTime(T).host("w1").startTime(T).build();
    }

    /** Both nodes heartbeat and run a round, {@code rounds} times (the lease clock stands still). */
    private static void rounds(int rounds, TaskEventEngine... nodes) {
        for (int i = 0; i < rounds; i++) {
            for (TaskEventEngine n : nodes) {
                member(n).heartbeat();
                member(n).round();
            }
        }
    }

    /**
     * A planned move whose release ends on the lease connection's lock wait (a batch of the shard
     * still in flight after the drain timeout, or any write holding the shard row for more than
     * a second): the member drops its tenure as LOST, but the database still names it as the
     * shard's owner, alive. Neither node serves the shard again.
     */
    @Test
    void aReleaseThatEndsOnTheLockWaitLeavesTheShardServedByNoNodeForEver() throws Exception {
        FaultyLeases store = new FaultyLeases(new ClusterTestStore(2));
        TaskEventEngine a = node("a", store);
        member(a).round();
        assertEquals(List.of(0, 1), owned(a));

        TaskEventEngine b = node("b", store);
        store.releaseLockWaitEnds.set(true);
        member(a).round(); // a's surplus (shard 1) is drained, and its release throws
        rounds(5, b, a);

        long wf = store.inner.workflowsIn(1, 1, 1).getFirst();
        long task = task(store, wf);
        Acknowledgement fromA = a.submit(running("e-a", wf, task)).get(30, TimeUnit.SECONDS);
        Acknowledgement fromB = b.submit(running("e-b", wf, task)).get(30, TimeUnit.SECONDS);
        List<ShardLeases.ShardInfo> map = store.shards();
        assertTrue(owned(a).contains(1) || owned(b).contains(1),
                "after 5 rounds of both nodes nobody serves shard 1: the map says " + map.get(1) + "; a answers "
                        + fromA + ", b answers " + fromB + " (a client following Moved bounces for ever)");
    }

    /**
     * A takeover that committed but whose answer was lost (connection cut after the commit):
     * the member logs "next round", but the next rounds skip the shard, since the map shows it
     * owned by this very node, alive.
     */
    @Test
    void anAcquireWhoseAnswerWasLostLeavesTheShardServedByNoNodeForEver() throws Exception {
        FaultyLeases store = new FaultyLeases(new ClusterTestStore(1));
        TaskEventEngine a = node("a", store);
        store.acquireAnswerLost.set(true);
        member(a).round();
        rounds(5, a);

        long wf = store.inner.workflowsIn(0, 1, 1).getFirst();
        long task = task(store, wf);
        CompletableFuture<Acknowledgement> answer = a.submit(running("e1", wf, task));
        Acknowledgement ack = answer.get(30, TimeUnit.SECONDS);
        assertEquals(List.of(0), owned(a), "the only node of a one-shard cluster does not serve shard 0 after 5"
                + " rounds: the map says " + store.shards().getFirst() + "; the event is answered " + ack);
        assertInstanceOf(Acknowledgement.Applied.class, ack);
    }
}
