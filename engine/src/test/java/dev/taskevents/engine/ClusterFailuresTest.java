package dev.taskevents.engine;

import static dev.taskevents.engine.ClusterFixtures.LEASE;
import static dev.taskevents.engine.ClusterFixtures.T;
import static dev.taskevents.engine.ClusterFixtures.member;
import static dev.taskevents.engine.ClusterFixtures.owned;
import static dev.taskevents.engine.ClusterFixtures.running;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.cluster.ClusterMember;
import dev.taskevents.engine.cluster.ShardHost;
import dev.taskevents.engine.cluster.ShardTenure;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode when a lease operation throws although the database may (acquire) or
 * may not (release) have changed the shard row. Neither may leave the shard owned, in the
 * database, by a live node that keeps no tenure for it (nobody would serve it again: other nodes
 * see a live owner, and a node takes only unowned shards or dead owners'): a failed release keeps
 * the tenure DRAINING and is retried each round; a shard the map shows owned here without a
 * tenure is released by the next round and taken again normally. Also: a graceful close whose
 * release keeps failing still ends, and the listener never hears a tenure lost before it heard
 * it acquired.
 */
class ClusterFailuresTest {

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
    static final class FaultyLeases extends ForwardingShardLeases {
        /** The next release throws, as JdbcShardLeases.release does after its lock wait ended; nothing changes. */
        final AtomicBoolean releaseLockWaitEnds = new AtomicBoolean();
        /** Every release throws (the lock wait ends each time) while set. */
        final AtomicBoolean releasesKeepFailing = new AtomicBoolean();
        /** The next acquire commits and then throws (the answer was lost on the way back). */
        final AtomicBoolean acquireAnswerLost = new AtomicBoolean();

        FaultyLeases(ClusterTestStore inner) {
            super(inner);
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
            if (releasesKeepFailing.get() || releaseLockWaitEnds.compareAndSet(true, false)) {
                // What JdbcShardLeases.release throws when a writer holds the shard row longer
                // than the lease connection's lock wait: the UPDATE did not happen.
                throw new StoreException("could not release shard " + shard + " of node " + nodeId + ": a write"
                        + " transaction kept the shard locked longer than 1000 ms; the shard is still held at epoch "
                        + epoch + ", retry");
            }
            return inner.release(shard, nodeId, epoch);
        }
    }

    private TaskEventEngine node(String name, FaultyLeases store) {
        return node(name, store, ShardListener.NONE);
    }

    private TaskEventEngine node(String name, FaultyLeases store, ShardListener listener) {
        TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(WorkflowStateSink.NONE)
                .cluster(ClusterSettings.builder().nodeName(name).advertisedAddress("http://" + name).lease(LEASE)
                        .renewInterval(Duration.ofSeconds(2)).drainTimeout(Duration.ofSeconds(30)).manualRounds()
                        .nanoClock(nanos::get).listener(listener).build())
                .clock(Clock.fixed(T, ZoneOffset.UTC)).build();
        engines.add(engine);
        return engine;
    }

    private long task(FaultyLeases store, long workflow) {
        long id = nextTask.incrementAndGet();
        store.insert(List.of(TaskInstance.submitted(id, workflow, "t" + id, T)));
        return id;
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
     * a second): the database still names this node the shard's owner, alive. The tenure stays
     * DRAINING, its events wait, and the next round's release moves the shard on.
     */
    @Test
    void aReleaseThatEndsOnTheLockWaitIsRetriedNextRoundAndTheShardMovesOn() throws Exception {
        FaultyLeases store = new FaultyLeases(new ClusterTestStore(2));
        TaskEventEngine a = node("a", store);
        member(a).round();
        assertEquals(List.of(0, 1), owned(a));

        TaskEventEngine b = node("b", store);
        store.releaseLockWaitEnds.set(true);
        member(a).round(); // a's surplus (shard 1) is drained, and its release throws
        assertEquals(List.of(new ClusterView.OwnedShard(1, 1, ClusterView.ShardState.DRAINING)),
                a.cluster().orElseThrow().owned().stream().filter(o -> o.shard() == 1).toList(),
                "a keeps the tenure the store still names it the owner of, DRAINING");
        long wf = store.inner.workflowsIn(1, 1, 1).getFirst();
        long task = task(store, wf);
        CompletableFuture<Acknowledgement> waiting = a.submit(running("e-a", wf, task));
        member(b).heartbeat();
        member(b).round(); // a live node owns shard 1: b takes nothing yet
        assertEquals(List.of(), owned(b));
        assertFalse(waiting.isDone(), "the event waits while the release is outstanding, answered " + waiting);

        member(a).heartbeat();
        member(a).round(); // the release is retried, and goes through
        assertInstanceOf(Acknowledgement.Moved.class, waiting.get(30, TimeUnit.SECONDS));
        assertEquals(List.of(0), owned(a));
        assertEquals(2, store.inner.epoch(1), "taken (1), released (2)");
        assertEquals(1, a.cluster().orElseThrow().counters().releases());

        member(b).round();
        assertEquals(List.of(1), owned(b));
        assertEquals(3, store.inner.epoch(1), "then taken by b (3)");
        assertInstanceOf(Acknowledgement.Applied.class, b.submit(running("e-b", wf, task)).get(30, TimeUnit.SECONDS));
    }

    /**
     * A takeover that committed but whose answer was lost (connection cut after the commit): the
     * map shows the shard owned by this very node, alive, with no tenure here. The next round
     * releases it (epoch 2, fencing any late write), and the round after takes it (epoch 3).
     */
    @Test
    void anAcquireWhoseAnswerWasLostIsReleasedByTheNextRoundAndTakenAgain() throws Exception {
        FaultyLeases store = new FaultyLeases(new ClusterTestStore(1));
        TaskEventEngine a = node("a", store);
        store.acquireAnswerLost.set(true);
        member(a).round();
        assertEquals(List.of(), owned(a));
        assertEquals(1, store.inner.epoch(0), "the takeover committed");
        member(a).round();
        assertEquals(2, store.inner.epoch(0), "the orphan was released");
        assertEquals(null, store.shards().getFirst().ownerNode());
        member(a).round();
        assertEquals(List.of(0), owned(a));
        assertEquals(3, store.inner.epoch(0), "and taken again");

        long wf = store.inner.workflowsIn(0, 1, 1).getFirst();
        long task = task(store, wf);
        assertInstanceOf(Acknowledgement.Applied.class, a.submit(running("e1", wf, task)).get(30, TimeUnit.SECONDS));
    }

    /** The orphan's own release fails once: the next round releases it, the one after takes it. */
    @Test
    void anOrphanWhoseReleaseFailsIsReleasedAtALaterRound() throws Exception {
        FaultyLeases store = new FaultyLeases(new ClusterTestStore(1));
        TaskEventEngine a = node("a", store);
        store.acquireAnswerLost.set(true);
        member(a).round();
        store.releaseLockWaitEnds.set(true);
        member(a).round();
        assertEquals(1, store.inner.epoch(0), "the orphan's release failed: nothing changed");
        assertEquals(member(a).nodeId(), store.shards().getFirst().ownerNode());
        rounds(2, a);
        assertEquals(List.of(0), owned(a));
        assertEquals(3, store.inner.epoch(0), "taken (1), released (2), taken again (3)");

        long wf = store.inner.workflowsIn(0, 1, 1).getFirst();
        long task = task(store, wf);
        assertInstanceOf(Acknowledgement.Applied.class, a.submit(running("e1", wf, task)).get(30, TimeUnit.SECONDS));
    }

    /**
     * A graceful close whose releases keep failing still ends: the tenures are LOST (the listener
     * hears it), the lease ends, and another node takes the shards as a dead owner's.
     */
    @Test
    void aGracefulCloseWhoseReleaseKeepsFailingStillEndsAndTheShardIsTakenOver() throws Exception {
        FaultyLeases store = new FaultyLeases(new ClusterTestStore(1));
        ConcurrentLinkedQueue<String> heard = new ConcurrentLinkedQueue<>();
        TaskEventEngine a = node("a", store, new ShardListener() {
            @Override
            public void acquired(int shard, long epoch) {
                heard.add("acquired " + shard + "@" + epoch);
            }

            @Override
            public void released(int shard, long epoch) {
                heard.add("released " + shard + "@" + epoch);
            }

            @Override
            public void lost(int shard, long epoch) {
                heard.add("lost " + shard + "@" + epoch);
            }
        });
        member(a).round();
        String aId = member(a).nodeId();
        store.releasesKeepFailing.set(true);
        engines.remove(a);
        CompletableFuture.runAsync(() -> a.close(Duration.ofSeconds(10))).get(60, TimeUnit.SECONDS);
        assertEquals(List.of("acquired 0@1", "lost 0@1"), List.copyOf(heard));
        assertEquals(aId, store.shards().getFirst().ownerNode());
        assertFalse(store.shards().getFirst().ownerAlive(), "close ended the lease");

        store.releasesKeepFailing.set(false);
        TaskEventEngine b = node("b", store);
        member(b).round();
        assertEquals(List.of(0), owned(b));
        assertEquals(2, store.inner.epoch(0));
    }

    /**
     * A heartbeat that finds the node gone, run after a takeover put its tenure in place and
     * before the listener heard {@code acquired}: the listener hears neither {@code acquired}
     * nor {@code lost} of that tenure, never {@code lost} first.
     */
    @Test
    void aTenureLostBeforeItWasAnnouncedIsNeverAnnounced() throws Exception {
        ClusterTestStore store = new ClusterTestStore(1);
        ConcurrentLinkedQueue<String> heard = new ConcurrentLinkedQueue<>();
        AtomicReference<ClusterMember> member = new AtomicReference<>();
        AtomicBoolean heartbeatRan = new AtomicBoolean();
        ShardHost host = new ShardHost() {
            @Override
            public void sweep(int shard) {
                // The first sweep is the takeover's, between tenures.put and the announcement.
                if (heartbeatRan.compareAndSet(false, true)) {
                    store.forgetNode(member.get().nodeId());
                    member.get().heartbeat();
                }
            }

            @Override
            public boolean retell(Set<Integer> shards) {
                return true;
            }

            @Override
            public Progress progress() {
                return new Progress(0, false);
            }
        };
        ShardListener listener = new ShardListener() {
            @Override
            public void acquired(int shard, long epoch) {
                heard.add("acquired " + shard + "@" + epoch);
            }

            @Override
            public void lost(int shard, long epoch) {
                heard.add("lost " + shard + "@" + epoch);
            }
        };
        ClusterMember m = new ClusterMember(store, new ClusterMember.Config(ClusterSettings.builder().nodeName("a")
                .advertisedAddress("http://a").lease(LEASE).renewInterval(Duration.ofSeconds(2)).drainTimeout(Duration.ofSeconds(30))
                .maxMovesPerRound(4).listener(listener).build(), true, nanos::get, ShardTenure.Probe.NONE), store.shardCount(), host);
        member.set(m);
        m.start();
        String first = m.nodeId();
        m.round();
        assertTrue(heartbeatRan.get());
        assertTrue(!m.nodeId().equals(first), "the heartbeat found the node gone and registered anew");
        assertEquals(null, m.tenure(0));
        assertEquals(1, m.view(0, 0).counters().shardsLost());
        assertTrue(m.awaitListenerCalls(Duration.ofSeconds(30)));
        assertEquals(List.of(), List.copyOf(heard), "nothing announced of a tenure lost before it began");
        m.close();
    }
}
