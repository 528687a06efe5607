package dev.taskevents.engine;

import static dev.taskevents.engine.ClusterFixtures.DRAIN;
import static dev.taskevents.engine.ClusterFixtures.LEASE;
import static dev.taskevents.engine.ClusterFixtures.STALL;
import static dev.taskevents.engine.ClusterFixtures.T;
import static dev.taskevents.engine.ClusterFixtures.live;
import static dev.taskevents.engine.ClusterFixtures.running;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.cluster.ClusterMember;
import dev.taskevents.engine.cluster.ShardHost;
import dev.taskevents.engine.cluster.ShardTenure;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode under faults of the host and of the store that the lease, the grace and the close
 * must survive: snapshot loads that never return, a heartbeat that throws an Error, a listener
 * stuck at close, a sweep that throws at close, a heartbeat in flight across the close.
 */
class ClusterLeaseAndCloseFaultsTest {

    private final AtomicLong nanos = new AtomicLong();
    private final List<TaskEventEngine> engines = new ArrayList<>();
    private final List<CountDownLatch> gates = new ArrayList<>();

    @AfterEach
    void tearDown() {
        gates.forEach(CountDownLatch::countDown);
        for (TaskEventEngine e : engines) {
            e.close(Duration.ofSeconds(5));
        }
    }

    /** The cluster test store with gates on snapshot loads and heartbeats. */
    private static final class GatedStore extends ForwardingShardLeases {
        volatile boolean holdLoads;
        final CountDownLatch loadEntered = new CountDownLatch(1);
        final CountDownLatch loadGo = new CountDownLatch(1);
        volatile Error heartbeatThrows;
        volatile boolean holdHeartbeat;
        final CountDownLatch heartbeatEntered = new CountDownLatch(1);
        final CountDownLatch heartbeatGo = new CountDownLatch(1);

        GatedStore(ClusterTestStore inner) {
            super(inner);
        }

        private static void await(CountDownLatch l) {
            try {
                assertTrue(l.await(60, TimeUnit.SECONDS), "gate not opened");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> ids) {
            if (holdLoads) {
                loadEntered.countDown();
                await(loadGo);
            }
            return super.findByWorkflows(ids);
        }

        @Override
        public List<TaskInstance> findByWorkflow(long id) {
            if (holdLoads) {
                loadEntered.countDown();
                await(loadGo);
            }
            return super.findByWorkflow(id);
        }

        @Override
        public Renewal heartbeat(String nodeId, Duration lease) {
            Error e = heartbeatThrows;
            if (e != null) {
                throw e;
            }
            if (holdHeartbeat) {
                holdHeartbeat = false;
                heartbeatEntered.countDown();
                await(heartbeatGo);
            }
            return inner.heartbeat(nodeId, lease);
        }
    }

    private GatedStore gated(int shards) {
        GatedStore store = new GatedStore(new ClusterTestStore(shards));
        gates.add(store.loadGo);
        gates.add(store.heartbeatGo);
        return store;
    }

    private TaskEventEngine manualNode(String name, dev.taskevents.api.spi.TaskInstanceStore store, ShardListener listener) {
        TaskEventEngine engine = TaskEventEngine.builder().store(store).clock(Clock.fixed(T, ZoneOffset.UTC))
                .stateSink(WorkflowStateSink.NONE).cluster(ClusterSettings.builder().nodeName(name).lease(LEASE)
                        .renewInterval(Duration.ofSeconds(2)).drainTimeout(DRAIN).manualRounds()
                        .nanoClock(nanos::get).listener(listener).build())
                .build();
        engines.add(engine);
        return engine;
    }

    /**
     * The batch pool is stuck, so a workflow's snapshot load waits for a connection that never
     * comes: its event never reaches the committer. The node's events wait as surely as with a
     * stuck write, so after a lease and a drain without progress it must stop renewing its lease.
     */
    @Test
    void aNodeWhoseSnapshotLoadsAreStuckStopsRenewingItsLease() throws Exception {
        GatedStore store = gated(2);
        TaskEventEngine a = manualNode("a", store, ShardListener.NONE);
        a.clusterMember().round();
        assertEquals(2, a.cluster().orElseThrow().owned().size());
        long wf = store.inner.workflowsIn(0, 1, 1).getFirst();
        store.inner.insert(List.of(TaskInstance.submitted(80, wf, "t", T)));
        store.holdLoads = true; // the load waits for a connection of the stuck pool
        CompletableFuture<Acknowledgement> e1 = a.submit(running("e1", wf, 80));
        assertTrue(store.loadEntered.await(30, TimeUnit.SECONDS));
        a.clusterMember().heartbeat(); // an event waits: progress is watched from here

        nanos.addAndGet(STALL.toNanos() + 1);
        store.inner.advance(Duration.ofSeconds(9));
        a.clusterMember().heartbeat(); // a lease and a drain without any event answered
        store.inner.advance(Duration.ofSeconds(2));
        assertFalse(e1.isDone());
        assertFalse(live(store.inner, a), "a renewed its lease although its event waited for a snapshot load"
                + " for a lease and a drain (progress watches only the committer's unanswered writes)");
    }

    /**
     * A heartbeat fails with an Error (a driver's, or the JVM's) while the store is away; the next
     * one renews. As after any failed heartbeat, the node must not take another node's shards for a
     * lease.
     */
    @Test
    void aHeartbeatThatThrewAnErrorBeginsAGraceAtTheNextRenewal() {
        GatedStore store = gated(2);
        TaskEventEngine a = manualNode("a", store, ShardListener.NONE);
        TaskEventEngine b = manualNode("b", store, ShardListener.NONE);
        a.clusterMember().round();
        b.clusterMember().round();
        assertEquals(1, b.cluster().orElseThrow().owned().size());
        store.heartbeatThrows = new NoClassDefFoundError("injected: the driver could not load a class");
        // The heartbeat thread logs it and goes on (heartbeatLoop catches Errors).
        assertThrows(NoClassDefFoundError.class, () -> a.clusterMember().heartbeat());
        store.heartbeatThrows = null;
        store.inner.advance(Duration.ofSeconds(9));
        a.clusterMember().heartbeat(); // a's lease was still live; b has not renewed
        store.inner.advance(Duration.ofSeconds(2)); // b's lease runs out, a's does not
        a.clusterMember().round();
        assertEquals(1, a.cluster().orElseThrow().owned().size(),
                "a took b's shard right after a heartbeat that threw an Error: no grace began");
    }

    /**
     * The host's listener is stuck in {@code released} (a host stopping a shard's state machines
     * on a lock). {@code close(500 ms)} must still return by its deadline (plus slack), not wait
     * for the listener.
     */
    @Test
    void aCloseKeepsToItsDeadlineWhileTheListenerIsStuck() throws Exception {
        ClusterTestStore store = new ClusterTestStore(1);
        CountDownLatch stuck = new CountDownLatch(1);
        gates.add(stuck);
        ShardListener listener = new ShardListener() {
            @Override
            public void released(int shard, long epoch) {
                try {
                    stuck.await(120, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        TaskEventEngine a = TaskEventEngine.builder().store(store).clock(Clock.fixed(T, ZoneOffset.UTC))
                .cluster(ClusterSettings.builder().nodeName("a").lease(LEASE).renewInterval(Duration.ofSeconds(2))
                        .drainTimeout(DRAIN).manualRounds().nanoClock(nanos::get).listener(listener).build())
                .build();
        a.clusterMember().round();
        assertTrue(a.clusterMember().awaitListenerCalls(Duration.ofSeconds(30)));
        CompletableFuture<Void> closed = CompletableFuture.runAsync(() -> a.close(Duration.ofMillis(500)));
        try {
            closed.get(10, TimeUnit.SECONDS); // a hang detector only: 20 times the deadline
        } catch (TimeoutException e) {
            fail("close(500 ms) had not returned after 10 s: it waits up to 30 s for the shard listener"
                    + " (ListenerCalls.close) whatever the engine's close deadline");
        } finally {
            stuck.countDown();
            closed.get(60, TimeUnit.SECONDS);
        }
    }

    /**
     * A sweep (the host dropping a shard's cached state) throws while the member closes. Close
     * must still release or lose every tenure, tell the listener, and end the node's lease.
     */
    @Test
    void aSweepThatThrowsDoesNotCutTheCloseShort() throws Exception {
        ClusterTestStore store = new ClusterTestStore(2);
        List<String> calls = new CopyOnWriteArrayList<>();
        ShardListener listener = new ShardListener() {
            @Override
            public void acquired(int shard, long epoch) {
                calls.add("acquired(" + shard + ")");
            }

            @Override
            public void released(int shard, long epoch) {
                calls.add("released(" + shard + ")");
            }

            @Override
            public void lost(int shard, long epoch) {
                calls.add("lost(" + shard + ")");
            }
        };
        CountDownLatch closing = new CountDownLatch(1);
        ShardHost host = new ShardHost() {
            @Override
            public void sweep(int shard) {
                if (closing.getCount() == 0) {
                    throw new NoClassDefFoundError("injected: a class the sweep needs is missing");
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
        ClusterMember member = new ClusterMember(store, new ClusterMember.Config(ClusterSettings.builder().nodeName("a")
                .advertisedAddress("http://a").lease(LEASE).renewInterval(Duration.ofSeconds(2)).drainTimeout(DRAIN)
                .maxMovesPerRound(4).listener(listener).build(), true, nanos::get, ShardTenure.Probe.NONE), 2, host);
        member.start();
        member.round();
        assertTrue(member.awaitListenerCalls(Duration.ofSeconds(30)));
        assertEquals(2, member.view(0, 0).owned().size());
        closing.countDown();
        Throwable thrown = null;
        try {
            member.close();
        } catch (Throwable e) {
            thrown = e;
        }
        assertEquals(List.of(), store.liveNodes(), "the node's lease was not ended; close threw " + thrown);
        assertEquals(List.of("acquired(0)", "acquired(1)", "released(1)", "released(0)"), calls,
                "close threw " + thrown);
    }

    /**
     * A heartbeat is in flight when the member closes (a store call slower than the close's join):
     * it comes back NOT_REGISTERED after the close's leave. A closed member must not register a new
     * node, which would count as a live node holding nothing for a lease, lowering the others' share.
     */
    @Test
    void aHeartbeatAnsweredAfterTheCloseRegistersNoNewNode() throws Exception {
        GatedStore store = gated(2);
        TaskEventEngine a = manualNode("a", store, ShardListener.NONE);
        a.clusterMember().round();
        store.holdHeartbeat = true;
        CompletableFuture<Void> beat = CompletableFuture.runAsync(() -> a.clusterMember().heartbeat());
        assertTrue(store.heartbeatEntered.await(30, TimeUnit.SECONDS));
        engines.remove(a);
        a.close(Duration.ofSeconds(5));
        assertEquals(List.of(), store.inner.liveNodes());
        store.heartbeatGo.countDown();
        beat.get(30, TimeUnit.SECONDS);
        assertEquals(List.of(), store.inner.liveNodes(),
                "the closed node registered anew when its in-flight heartbeat found it gone");
    }
}
