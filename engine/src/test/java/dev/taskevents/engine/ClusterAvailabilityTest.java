package dev.taskevents.engine;

import static dev.taskevents.engine.ClusterFixtures.DRAIN;
import static dev.taskevents.engine.ClusterFixtures.LEASE;
import static dev.taskevents.engine.ClusterFixtures.STALL;
import static dev.taskevents.engine.ClusterFixtures.T;
import static dev.taskevents.engine.ClusterFixtures.background;
import static dev.taskevents.engine.ClusterFixtures.live;
import static dev.taskevents.engine.ClusterFixtures.running;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.ClusterView.ShardState;
import dev.taskevents.engine.cluster.ClusterMember;
import dev.taskevents.engine.cluster.ShardHost;
import dev.taskevents.engine.cluster.ShardTenure;
import dev.taskevents.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode stays available across faults that correctness alone does not cover: the host
 * hears ownership changes in the order they happened, whichever thread found them; an Error in
 * a claim round or in the host's listener ends neither the rounds nor the shard's service; after
 * an outage the first node back leaves the other nodes' shards to them for a lease; a node whose
 * writes or re-tells make no progress lets its lease run out instead of holding shards it cannot
 * serve.
 */
class ClusterAvailabilityTest {
    /** How long work may wait without progress before a node stops renewing: a lease and a drain. */
    private final List<TaskEventEngine> engines = new ArrayList<>();
    private final AtomicLong nanos = new AtomicLong();

    @AfterEach
    void tearDown() {
        for (TaskEventEngine e : engines) {
            e.close(Duration.ofSeconds(5));
        }
    }

    /**
     * A fenced write finds the old tenure lost on an io thread while the host is still inside
     * {@code lost}; a claim round then takes the shard again. The host hears the loss end before
     * it hears the next {@code acquired}, all on one thread, each with its epoch: it ends up
     * holding the shard the engine serves.
     */
    @Test
    void theLossOfATenureReachesTheHostBeforeTheNextTenureIsAcquired() throws Exception {
        ClusterTestStore store = new ClusterTestStore(1);
        CountDownLatch lostEntered = new CountDownLatch(1);
        CountDownLatch takenAgain = new CountDownLatch(1);
        Set<Integer> hostOwns = ConcurrentHashMap.newKeySet();
        List<String> calls = new CopyOnWriteArrayList<>();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        ShardListener listener = new ShardListener() {
            @Override
            public void acquired(int shard, long epoch) {
                threads.add(Thread.currentThread().getName());
                calls.add("acquired(" + shard + "," + epoch + ")");
                hostOwns.add(shard);
            }

            @Override
            public void lost(int shard, long epoch) {
                threads.add(Thread.currentThread().getName());
                calls.add("lost(" + shard + "," + epoch + ") begins");
                lostEntered.countDown();
                try {
                    // A host stopping the shard's state machines takes a moment: the claim
                    // round takes the shard again meanwhile.
                    takenAgain.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                hostOwns.remove(shard);
                calls.add("lost(" + shard + "," + epoch + ") ends");
            }
        };
        TaskEventEngine a = TaskEventEngine.builder().store(store).clock(Clock.fixed(T, ZoneOffset.UTC))
                .cluster(ClusterSettings.builder().nodeName("a").lease(LEASE).renewInterval(Duration.ofSeconds(2))
                        .manualRounds().nanoClock(nanos::get).listener(listener).build())
                .build();
        engines.add(a);
        a.clusterMember().round();
        long wf = store.workflowsIn(0, 1, 1).getFirst();
        store.insert(List.of(TaskInstance.submitted(77, wf, "t", T)));

        // b takes shard 0 after a's lease ran out, then gives it up; a's lease comes back.
        store.advance(LEASE.plusSeconds(1));
        store.register("b/00000000", "http://b", LEASE);
        assertTrue(store.acquire(0, "b/00000000", 1).isPresent());
        assertTrue(store.release(0, "b/00000000", 2));
        store.leave("b/00000000");
        a.clusterMember().heartbeat();

        CompletableFuture<Acknowledgement> e1 = a.submit(running("e1", wf, 77)); // fenced at epoch 1
        assertTrue(lostEntered.await(30, TimeUnit.SECONDS));
        Thread round = background("round", () -> a.clusterMember().round()); // takes shard 0 again
        Await.until(() -> store.epoch(0) == 4); // taken in the store while the host is inside lost()
        takenAgain.countDown();
        round.join(30_000);
        assertInstanceOf(Acknowledgement.Moved.class, e1.get(30, TimeUnit.SECONDS));
        assertTrue(a.clusterMember().awaitListenerCalls(Duration.ofSeconds(30)));

        assertEquals(List.of(new ClusterView.OwnedShard(0, 4, ShardState.ACTIVE)), a.cluster().orElseThrow().owned());
        assertTrue(hostOwns.contains(0), "engine serves shard 0 at epoch 4, host thinks it holds " + hostOwns
                + "; listener calls: " + calls);
        assertEquals(List.of("acquired(0,1)", "lost(0,1) begins", "lost(0,1) ends", "acquired(0,4)"), calls);
        assertEquals(1, threads.size(), "every call on one thread: " + threads);
    }

    /**
     * The host's listener throws an Error on {@code acquired}: that call is lost, nothing else.
     * The claim rounds go on, the shard is re-told and goes ACTIVE, and its events are applied.
     */
    @Test
    void anErrorThrownByTheListenerCostsOnlyThatCall() throws Exception {
        ClusterTestStore store = new ClusterTestStore(1);
        AtomicBoolean thrown = new AtomicBoolean();
        ShardListener listener = new ShardListener() {
            @Override
            public void acquired(int shard, long epoch) {
                if (thrown.compareAndSet(false, true)) {
                    throw new AssertionError("a host bug (an assert, a NoClassDefFoundError, an OOM)");
                }
            }
        };
        TaskEventEngine a = TaskEventEngine.builder().store(store).clock(Clock.fixed(T, ZoneOffset.UTC))
                .cluster(ClusterSettings.builder().nodeName("a").lease(Duration.ofSeconds(3))
                        .renewInterval(Duration.ofMillis(200)).listener(listener).build())
                .build();
        engines.add(a);
        long wf = store.workflowsIn(0, 1, 1).getFirst();
        store.insert(List.of(TaskInstance.submitted(78, wf, "t", T)));
        Await.until(thrown::get);
        CompletableFuture<Acknowledgement> e1 = a.submit(running("e1", wf, 78));
        assertInstanceOf(Acknowledgement.Applied.class, e1.get(30, TimeUnit.SECONDS));
        ClusterView view = a.cluster().orElseThrow();
        assertEquals(List.of(new ClusterView.OwnedShard(0, 1, ShardState.ACTIVE)), view.owned(),
                "shard 0 is " + view.owned() + ", store names " + store.shards().getFirst());
    }

    /**
     * A claim round that throws an Error (from the store's driver, say) is followed by the next:
     * the claim thread does not end while the heartbeats keep the lease alive.
     */
    @Test
    void anErrorInAClaimRoundEndsOnlyThatRound() throws Exception {
        ClusterTestStore store = new ClusterTestStore(1);
        store.shardsThrows.set(new StackOverflowError("injected: the driver recursed too deep"));
        TaskEventEngine a = TaskEventEngine.builder().store(store).clock(Clock.fixed(T, ZoneOffset.UTC))
                .cluster(ClusterSettings.builder().nodeName("a").lease(Duration.ofSeconds(3))
                        .renewInterval(Duration.ofMillis(200)).build())
                .build();
        engines.add(a);
        long wf = store.workflowsIn(0, 1, 1).getFirst();
        store.insert(List.of(TaskInstance.submitted(79, wf, "t", T)));
        Await.until(() -> store.shardsThrows.get() == null && a.clusterMember().isActive(0));
        assertInstanceOf(Acknowledgement.Applied.class, a.submit(running("e1", wf, 79)).get(30, TimeUnit.SECONDS));
    }

    /**
     * A takeover whose tenure cannot begin (here the engine's sweep throws an Error) does not
     * leave the tenure ACQUIRING, where the shard's events would wait for ever: the tenure is
     * dropped, its events are answered Moved, and later rounds release the orphan and take the
     * shard normally.
     */
    @Test
    void aTakeoverWhoseTenureCannotBeginIsDroppedAndTheShardTakenAgain() throws Exception {
        ClusterTestStore store = new ClusterTestStore(1);
        AtomicBoolean sweepThrows = new AtomicBoolean(true);
        ShardHost host = new ShardHost() {
            @Override
            public void sweep(int shard) {
                if (sweepThrows.compareAndSet(true, false)) {
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
        ClusterMember m = new ClusterMember(store, new ClusterMember.Config(ClusterSettings.builder().nodeName("a")
                .advertisedAddress("http://a").lease(LEASE).renewInterval(Duration.ofSeconds(2)).drainTimeout(Duration.ofSeconds(30))
                .maxMovesPerRound(4).listener(ShardListener.NONE).build(), true, nanos::get, ShardTenure.Probe.NONE), store.shardCount(), host);
        m.start();
        try {
            m.round();
            assertEquals(null, m.tenure(0), "the tenure that could not begin was dropped");
            assertEquals(1, store.epoch(0), "taken in the store");
            m.round(); // releases the orphan (epoch 2)
            m.round(); // takes it normally (epoch 3)
            assertEquals(ShardState.ACTIVE, m.tenure(0).state());
            assertEquals(3, m.tenure(0).epoch());
        } finally {
            m.close();
        }
    }

    private TaskEventEngine manualNode(String name, ClusterTestStore store) {
        return manualNode(name, store, WorkflowStateSink.NONE);
    }

    private TaskEventEngine manualNode(String name, ClusterTestStore store, WorkflowStateSink sink) {
        TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(sink).cluster(ClusterSettings.builder()
                .nodeName(name).lease(LEASE).renewInterval(Duration.ofSeconds(2)).drainTimeout(DRAIN).manualRounds()
                .nanoClock(nanos::get).build()).build();
        engines.add(engine);
        return engine;
    }

    private static List<ClusterView.OwnedShard> owned(TaskEventEngine engine) {
        return engine.cluster().orElseThrow().owned();
    }

    /**
     * The database is away longer than the lease; a's heartbeat gets through first and finds its
     * lease had run out. For one lease (by a's clock) a takes none of b's shards; b renews
     * meanwhile and keeps them. Once the grace is over, a takes the shards of a node that has not
     * come back.
     */
    @Test
    void afterAnOutageTheFirstNodeBackLeavesTheOthersShardsToThemForALease() {
        ClusterTestStore store = new ClusterTestStore(8);
        TaskEventEngine a = manualNode("a", store);
        TaskEventEngine b = manualNode("b", store);
        for (int i = 0; i < 4; i++) {
            a.clusterMember().heartbeat();
            a.clusterMember().round();
            b.clusterMember().heartbeat();
            b.clusterMember().round();
        }
        List<ClusterView.OwnedShard> aBefore = owned(a);
        List<ClusterView.OwnedShard> bBefore = owned(b);
        assertEquals(4, aBefore.size());
        store.advance(LEASE.plusSeconds(1)); // the database was away longer than the lease
        a.clusterMember().heartbeat();       // a's heartbeat gets through first
        a.clusterMember().round();
        assertEquals(aBefore, owned(a), "a took " + (owned(a).size() - aBefore.size())
                + " of b's shards at its first round after the outage, before b's next heartbeat");
        b.clusterMember().heartbeat();
        b.clusterMember().round();
        a.clusterMember().round();
        assertEquals(aBefore, owned(a));
        assertEquals(bBefore, owned(b), "b renewed within the grace and kept its shards at their epochs");

        // b stops for good; a goes on renewing, and its grace ends a lease after it came back.
        nanos.addAndGet(Duration.ofSeconds(6).toNanos());
        store.advance(Duration.ofSeconds(6));
        a.clusterMember().heartbeat();
        a.clusterMember().round();
        assertEquals(aBefore, owned(a), "b's lease is still live");
        nanos.addAndGet(Duration.ofSeconds(5).toNanos());
        store.advance(Duration.ofSeconds(6)); // b's lease ran out; a's grace is over
        a.clusterMember().heartbeat();
        a.clusterMember().round();
        assertEquals(8, owned(a).size(), "a took the shards of the node that did not come back: " + owned(a));
    }

    /** A heartbeat that failed begins a grace too, even when the next one finds the lease still live. */
    @Test
    void aFailedHeartbeatBeginsAGraceAtTheNextRenewal() {
        ClusterTestStore store = new ClusterTestStore(2);
        TaskEventEngine a = manualNode("a", store);
        TaskEventEngine b = manualNode("b", store);
        a.clusterMember().round();
        b.clusterMember().round();
        assertEquals(1, owned(b).size());
        store.leasesDown = true;
        a.clusterMember().heartbeat(); // fails: the database is away
        store.leasesDown = false;
        store.advance(Duration.ofSeconds(9));
        a.clusterMember().heartbeat(); // a's lease was still live; b has not renewed
        store.advance(Duration.ofSeconds(2)); // b's lease runs out, a's does not
        a.clusterMember().round();
        assertEquals(1, owned(a).size(), "within the grace a takes none of b's shards");
        nanos.addAndGet(LEASE.toNanos());
        store.advance(Duration.ofSeconds(1));
        a.clusterMember().heartbeat();
        a.clusterMember().round();
        assertEquals(2, owned(a).size(), "after it, b's shard is a dead node's");
    }

    /**
     * The lease connections work while the batch pool is stuck: a write waits for a connection
     * that never comes. After a lease and a drain timeout without progress the node stops renewing its lease and,
     * once the lease ran out, ends its tenures; another node takes the shards, and the stuck
     * write, when it goes on, is fenced (answered Moved).
     */
    @Test
    void aNodeWhoseWritesMakeNoProgressStopsRenewingItsLease() throws Exception {
        ClusterTestStore store = new ClusterTestStore(2);
        TaskEventEngine a = manualNode("a", store);
        a.clusterMember().round();
        assertEquals(2, owned(a).size());
        long wf = store.workflowsIn(0, 1, 1).getFirst();
        store.insert(List.of(TaskInstance.submitted(80, wf, "t", T)));
        store.holdBeforeFenceIf = batch -> true; // the batch waits for a connection of the stuck pool
        CompletableFuture<Acknowledgement> e1 = a.submit(running("e1", wf, 80));
        assertTrue(store.heldWriteEntered.await(30, TimeUnit.SECONDS));
        a.clusterMember().heartbeat(); // a write waits: progress is watched from here

        nanos.addAndGet(STALL.toNanos() + 1);
        store.advance(Duration.ofSeconds(9));
        a.clusterMember().heartbeat(); // a lease and a drain without a write completing
        store.advance(Duration.ofSeconds(2));
        assertFalse(live(store, a), "a renewed its lease although none of its writes completed for a lease");
        assertEquals(List.of(), owned(a), "its lease ran out by its own clock: it ended its tenures");

        TaskEventEngine b = manualNode("b", store);
        b.clusterMember().round();
        assertEquals(2, owned(b).size(), "b took a's shards");
        store.releaseHeld();
        assertInstanceOf(Acknowledgement.Moved.class, e1.get(30, TimeUnit.SECONDS));
        assertEquals(0, store.find(80).orElseThrow().version(), "the stuck write was fenced");
    }

    /**
     * Re-tells read the outbox through the batch pool: while it is stuck, a shard taken stays
     * RETELLING. After a lease and a drain timeout without progress the node stops renewing its lease and takes no
     * further shard, although it is below its fair share and one is free.
     */
    @Test
    void aNodeWhoseReTellsMakeNoProgressStopsRenewingAndTakesNoMoreShards() {
        ClusterTestStore store = new ClusterTestStore(2);
        store.register("x/00000000", "http://x", LEASE);
        assertTrue(store.acquire(1, "x/00000000", 0).isPresent());
        store.outboxReadsFail = true;
        TaskEventEngine a = manualNode("a", store, e -> {});
        a.clusterMember().round();
        assertEquals(List.of(new ClusterView.OwnedShard(0, 1, ShardState.RETELLING)), owned(a));
        a.clusterMember().heartbeat(); // a re-tell waits: progress is watched from here

        nanos.addAndGet(STALL.toNanos() + 1);
        store.advance(Duration.ofSeconds(9));
        a.clusterMember().round(); // the re-tell fails again
        a.clusterMember().heartbeat(); // a lease and a drain without progress
        assertTrue(store.release(1, "x/00000000", 1)); // x gives shard 1 up and leaves
        store.leave("x/00000000");
        a.clusterMember().round();
        assertEquals(null, store.shards().get(1).ownerNode(), "a took shard 1 although it could serve none");
        store.advance(Duration.ofSeconds(2));
        assertFalse(live(store, a), "a renewed its lease although its re-tells made no progress for a lease");
    }
}
