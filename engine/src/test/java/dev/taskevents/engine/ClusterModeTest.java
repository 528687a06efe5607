package dev.taskevents.engine;

import static dev.taskevents.engine.ClusterFixtures.LEASE;
import static dev.taskevents.engine.ClusterFixtures.T;
import static dev.taskevents.engine.ClusterFixtures.background;
import static dev.taskevents.engine.ClusterFixtures.member;
import static dev.taskevents.engine.ClusterFixtures.owned;
import static dev.taskevents.engine.ClusterFixtures.result;
import static dev.taskevents.engine.ClusterFixtures.running;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.ClusterView.ShardState;
import dev.taskevents.engine.cluster.ClusterMember;
import dev.taskevents.engine.cluster.ShardTenure;
import dev.taskevents.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode in the engine (docs/plans/cluster-mode §5), over
 * {@link ClusterTestStore}: a memory store that fences like a database and judges leases by a
 * clock the test advances. Claim rounds and heartbeats run by hand ({@link ClusterMember#round}),
 * never by time; interleavings are forced with held writes, a blocking sink and the tenure probe.
 */
class ClusterModeTest {

    private final List<TaskEventEngine> engines = new ArrayList<>();
    private final List<ClusterTestStore> stores = new ArrayList<>();
    private final AtomicLong nanos = new AtomicLong();
    private final AtomicLong nextTask = new AtomicLong(1_000);

    @AfterEach
    void tearDown() {
        for (TaskEventEngine e : engines) {
            e.close(Duration.ofSeconds(10));
        }
        stores.forEach(ClusterTestStore::close);
    }

    private ClusterTestStore store(int shards) {
        ClusterTestStore store = new ClusterTestStore(shards);
        stores.add(store);
        return store;
    }

    private TaskEventEngine node(String name, ClusterTestStore store, WorkflowStateSink sink,
                                 Consumer<ClusterSettings.Builder> tweak) {
        ClusterSettings.Builder settings = ClusterSettings.builder().nodeName(name).advertisedAddress("http://" + name)
                .lease(LEASE).renewInterval(Duration.ofSeconds(2)).drainTimeout(Duration.ofSeconds(30))
                .manualRounds().nanoClock(nanos::get);
        tweak.accept(settings);
        TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(sink).cluster(settings.build())
                .clock(Clock.fixed(T, ZoneOffset.UTC)).build();
        engines.add(engine);
        return engine;
    }

    private TaskEventEngine node(String name, ClusterTestStore store) {
        return node(name, store, e -> {}, s -> {});
    }

    private static ClusterView view(TaskEventEngine engine) {
        return engine.cluster().orElseThrow();
    }

    /** A new SUBMITTED task of {@code workflow}; returns its id. */
    private long task(ClusterTestStore store, long workflow) {
        long id = nextTask.incrementAndGet();
        store.insert(List.of(TaskInstance.submitted(id, workflow, "t" + id, T)));
        return id;
    }

    private static Acknowledgement ack(CompletableFuture<Acknowledgement> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    // ---- step 6: tenures, the fence, FENCED -> Moved ----

    @Test
    void anEventOfAShardThisNodeDoesNotHoldIsAnsweredMovedAtOnceWithTheOwnersAddress() throws Exception {
        ClusterTestStore store = store(2);
        store.register("other/00000000", "http://other", LEASE);
        assertTrue(store.acquire(0, "other/00000000", 0).isPresent());
        TaskEventEngine a = node("a", store);
        member(a).round(); // two live nodes, one shard each: takes shard 1
        assertEquals(List.of(1), owned(a));

        long wf = store.workflowsIn(0, 1, 1).getFirst();
        long task = task(store, wf);
        CompletableFuture<Acknowledgement> answer = a.submit(running("e1", wf, task));
        assertTrue(answer.isDone(), "answered at once, not queued");
        assertEquals(new Acknowledgement.Moved("e1", 0, "http://other"), answer.get());
        assertFalse(store.loads.contains(wf), "nothing of the workflow was read");
        assertEquals(0, store.find(task).orElseThrow().version(), "nothing written");
        assertEquals(1, view(a).counters().movedAnswers());
    }

    @Test
    void aFencedRowIsAnsweredMovedWhileTheOtherRowsOfItsBatchAreApplied() throws Exception {
        ClusterTestStore store = store(2);
        TaskEventEngine a = TaskEventEngine.builder().store(store).commitConcurrency(1)
                .clock(Clock.fixed(T, ZoneOffset.UTC))
                .cluster(ClusterSettings.builder().nodeName("a").lease(LEASE).renewInterval(Duration.ofSeconds(2))
                        .manualRounds().nanoClock(nanos::get).build())
                .build();
        engines.add(a);
        member(a).round();
        assertEquals(List.of(0, 1), owned(a));
        List<Long> wfs1 = store.workflowsIn(1, 2, 1);
        long wf0 = store.workflowsIn(0, 1, 1).getFirst();
        long t0 = task(store, wf0);
        long t1a = task(store, wfs1.get(0));
        long t1b = task(store, wfs1.get(1));

        // Another node takes shard 0 behind a's back: a's lease ran out by the store's clock,
        // but a has not run a round since (its own monotonic deadline still admits).
        store.advance(LEASE.plusSeconds(1));
        store.register("b/00000000", "http://b", LEASE);
        assertTrue(store.acquire(0, "b/00000000", 1).isPresent());

        // One batch in flight (held), so that the next two rows gather into one batch.
        store.holdWritesIf = batch -> batch.updates().stream().anyMatch(u -> u.row().id() == t1a);
        CompletableFuture<Acknowledgement> first = a.submit(running("e1a", wfs1.get(0), t1a));
        assertTrue(store.heldWriteEntered.await(30, TimeUnit.SECONDS));
        CompletableFuture<Acknowledgement> fenced = a.submit(running("e0", wf0, t0));
        CompletableFuture<Acknowledgement> applied = a.submit(running("e1b", wfs1.get(1), t1b));
        Await.until(() -> a.stats().pendingWrites() == 2);
        store.releaseHeld();

        assertInstanceOf(Acknowledgement.Applied.class, ack(first));
        assertEquals(new Acknowledgement.Moved("e0", 0, null), ack(fenced));
        assertInstanceOf(Acknowledgement.Applied.class, ack(applied));
        assertTrue(store.batches.stream().anyMatch(b -> b.updates().size() == 2
                && b.updates().stream().anyMatch(u -> u.row().id() == t0)), "the two rows shared one batch");
        assertEquals(0, store.find(t0).orElseThrow().version(), "the fenced row was not written");
        assertEquals(1, store.find(t1b).orElseThrow().version());
        assertEquals(List.of(1), owned(a), "shard 0 is lost");
        assertEquals(1, view(a).counters().shardsLost());
        assertEquals(1, view(a).counters().fencedRows());
        // The next event of shard 0 is answered Moved at once.
        assertInstanceOf(Acknowledgement.Moved.class, ack(a.submit(running("e0again", wf0, t0))));
    }

    @Test
    void aRowFencedAfterTheNodeTookItsShardAgainIsDecidedAgainUnderTheNewEpoch() throws Exception {
        ClusterTestStore store = store(2);
        TaskEventEngine a = TaskEventEngine.builder().store(store).commitConcurrency(1)
                .clock(Clock.fixed(T, ZoneOffset.UTC))
                .cluster(ClusterSettings.builder().nodeName("a").lease(LEASE).renewInterval(Duration.ofSeconds(2))
                        .manualRounds().nanoClock(nanos::get).build())
                .build();
        engines.add(a);
        member(a).round();
        List<Long> wfs0 = store.workflowsIn(0, 2, 1);
        long wf1 = store.workflowsIn(1, 1, 1).getFirst();
        long x = task(store, wfs0.get(0));
        long y = task(store, wfs0.get(1));
        long z = task(store, wf1);

        // A batch of shard 1 waits (for a connection, say); x's row gathers behind it at epoch 1.
        store.holdBeforeFenceIf = batch -> batch.updates().stream().anyMatch(u -> u.row().id() == z);
        CompletableFuture<Acknowledgement> first = a.submit(running("z", wf1, z));
        assertTrue(store.heldWriteEntered.await(30, TimeUnit.SECONDS));
        CompletableFuture<Acknowledgement> old = a.submit(running("x", wfs0.get(0), x));
        Await.until(() -> a.stats().pendingWrites() == 1);

        // Meanwhile shard 0 went to b and came back free; a's round loses epoch 1 and takes epoch 4.
        store.advance(LEASE.plusSeconds(1));
        store.register("b/00000000", "http://b", LEASE);
        assertTrue(store.acquire(0, "b/00000000", 1).isPresent());
        assertTrue(store.release(0, "b/00000000", 2));
        store.leave("b/00000000");
        member(a).heartbeat();
        member(a).round();
        assertEquals(List.of(new ClusterView.OwnedShard(0, 4, ShardState.ACTIVE),
                new ClusterView.OwnedShard(1, 1, ShardState.ACTIVE)), view(a).owned());
        CompletableFuture<Acknowledgement> current = a.submit(running("y", wfs0.get(1), y));
        Await.until(() -> a.stats().pendingWrites() == 2);
        store.releaseHeld();

        assertInstanceOf(Acknowledgement.Applied.class, ack(first));
        Acknowledgement.Applied again = assertInstanceOf(Acknowledgement.Applied.class, ack(old),
                "fenced at epoch 1, decided again at epoch 4");
        assertEquals(1, again.task().version());
        assertInstanceOf(Acknowledgement.Applied.class, ack(current));
        assertEquals(1, view(a).counters().fencedRows());
        assertEquals(1, view(a).counters().shardsLost(), "lost once, in the round; the fence lost nothing more");
        assertTrue(store.batches.stream().flatMap(b -> b.updates().stream().filter(u -> u.row().id() == x)
                .map(u -> b.fence().epochs().get(0))).allMatch(e -> e == 4), "x never reached the store at epoch 1");
    }

    @Test
    void theSnapshotsOfALostShardAreDroppedAndItsNextTenureReadsTheStoreAgain() throws Exception {
        ClusterTestStore store = store(2);
        TaskEventEngine a = node("a", store);
        member(a).round();
        long wf = store.workflowsIn(0, 1, 1).getFirst();
        long task = task(store, wf);
        long other = task(store, wf);
        assertInstanceOf(Acknowledgement.Applied.class, ack(a.submit(running("e1", wf, task))));
        assertEquals(1, store.loads.stream().filter(id -> id == wf).count());

        // b takes shard 0 after a's lease ran out; a learns it at its next round.
        store.advance(LEASE.plusSeconds(1));
        store.register("b/00000000", "http://b", LEASE);
        assertTrue(store.acquire(0, "b/00000000", 1).isPresent());
        member(a).heartbeat();
        member(a).round();
        assertEquals(List.of(1), owned(a));
        assertEquals(new Acknowledgement.Moved("e2", 0, "http://b"), ack(a.submit(running("e2", wf, other))));

        // b gives it up; a takes it again (epoch 4) and must not answer from its old snapshot.
        assertTrue(store.release(0, "b/00000000", 2));
        store.leave("b/00000000");
        member(a).round();
        assertEquals(List.of(0, 1), owned(a));
        assertEquals(4, view(a).owned().getFirst().epoch());
        assertInstanceOf(Acknowledgement.Applied.class, ack(a.submit(running("e3", wf, other))));
        assertEquals(2, store.loads.stream().filter(id -> id == wf).count(), "the store was read again");
    }

    @Test
    void eventsParkedWhileTheShardIsRetellingRunInArrivalOrderOnceItIsActive() throws Exception {
        ClusterTestStore store = store(1);
        long wf = 7;
        long task = task(store, wf);
        // An entry the previous owner committed and did not tell.
        store.delegate.write(new dev.taskevents.api.spi.WriteBatch(List.of(new dev.taskevents.api.spi.RowUpdate(
                new TaskInstance(task, wf, "t" + task, TaskState.DISPATCHED, "w0", null, null, 0, null, T, null, null,
                        null, "old", 1, T), 0, null))));
        long task2 = task(store, wf);
        store.delegate.write(new dev.taskevents.api.spi.WriteBatch(List.of(new dev.taskevents.api.spi.RowUpdate(
                new TaskInstance(task2, wf, "t" + task2, TaskState.DISPATCHED, "w0", null, null, 0, null, T, null, null,
                        null, "old2", 1, T), 0,
                new StateEvent(wf, task2, TaskEventType.RUNNING, TaskState.DISPATCHED, "old2", 1, T)))));
        AtomicBoolean sinkFails = new AtomicBoolean(true);
        ConcurrentLinkedQueue<String> told = new ConcurrentLinkedQueue<>();
        TaskEventEngine a = node("a", store, e -> {
            if (sinkFails.get()) {
                throw new IllegalStateException("sink down");
            }
            told.add(e.eventId());
        }, s -> {});
        member(a).round();
        assertEquals(List.of(new ClusterView.OwnedShard(0, 1, ShardState.RETELLING)), view(a).owned(),
                "the sink refused the re-tell: the shard stays RETELLING");

        CompletableFuture<Acknowledgement> run = a.submit(running("r", wf, task));
        CompletableFuture<Acknowledgement> finish = a.submit(result("f", wf, task));
        Await.until(() -> member(a).tenure(0).parkedCount() == 1);
        assertFalse(run.isDone());
        assertFalse(finish.isDone());

        sinkFails.set(false);
        member(a).round();
        Acknowledgement.Applied r = assertInstanceOf(Acknowledgement.Applied.class, ack(run));
        Acknowledgement.Applied f = assertInstanceOf(Acknowledgement.Applied.class, ack(finish));
        assertEquals(2, r.task().version());
        assertEquals(TaskState.SUCCESS, f.task().state());
        assertEquals(3, f.task().version(), "the RESULT ran after the RUNNING");
        assertEquals(List.of("old2", "r", "f"), List.copyOf(told));
        assertEquals(ShardState.ACTIVE, view(a).owned().getFirst().state());
    }

    // ---- step 7: ClusterMember rounds ----

    @Test
    void oneNodeTakesEveryShard() {
        ClusterTestStore store = store(8);
        TaskEventEngine a = node("a", store);
        member(a).round();
        ClusterView v = view(a);
        assertEquals(8, v.owned().size());
        v.owned().forEach(o -> {
            assertEquals(1, o.epoch());
            assertEquals(ShardState.ACTIVE, o.state());
        });
        assertEquals(8, v.counters().takeovers());
        assertEquals(8, v.shardMap().size());
        assertTrue(v.nodeId().matches("a/[0-9a-f]{8}"), v.nodeId());
    }

    @Test
    void twoNodesConvergeToHalfEach() {
        ClusterTestStore store = store(8);
        TaskEventEngine a = node("a", store);
        member(a).round();
        TaskEventEngine b = node("b", store);
        member(b).round(); // nothing free yet
        assertEquals(List.of(), owned(b));
        member(a).round(); // b is below its share: a gives up its surplus
        assertEquals(4, owned(a).size());
        member(b).round();
        assertEquals(4, owned(a).size());
        assertEquals(4, owned(b).size());
        List<Integer> all = new ArrayList<>(owned(a));
        all.addAll(owned(b));
        assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7), all.stream().sorted().toList());
        for (int s : owned(b)) {
            assertEquals(3, store.epoch(s), "taken (1), released (2), taken (3)");
        }
        assertEquals(4, view(a).counters().releases());
        // Further rounds change nothing.
        member(a).round();
        member(b).round();
        assertEquals(4, owned(a).size());
        assertEquals(4, owned(b).size());
    }

    @Test
    void aThirdNodeJoiningTakesItsShareWhileClientsFollowMovedAndNoEventFails() throws Exception {
        ClusterTestStore store = store(6);
        Map<String, TaskEventEngine> byAddress = new HashMap<>();
        TaskEventEngine a = node("a", store);
        TaskEventEngine b = node("b", store);
        byAddress.put("http://a", a);
        byAddress.put("http://b", b);
        member(a).round();
        member(b).round();
        member(a).round();
        member(b).round();
        assertEquals(3, owned(a).size());
        assertEquals(3, owned(b).size());
        long[] before = new long[6];
        for (int s = 0; s < 6; s++) {
            before[s] = store.epoch(s);
        }

        // Clients: one task per workflow; RUNNING before the third node joins, RESULT while the
        // shards move, each resent to the owner a Moved names (or to each node in turn while no
        // owner is known).
        List<Long> workflows = new ArrayList<>();
        List<Long> tasks = new ArrayList<>();
        for (long wf = 1; wf <= 60; wf++) {
            workflows.add(wf);
            tasks.add(task(store, wf));
        }
        List<TaskEventEngine> nodes = new ArrayList<>(List.of(a, b));
        for (int i = 0; i < workflows.size(); i++) {
            deliver(running("r" + i, workflows.get(i), tasks.get(i)), nodes, byAddress);
        }
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicInteger delivered = new AtomicInteger();
        Thread client = background("client", () -> {
            for (int i = 0; i < workflows.size(); i++) {
                try {
                    deliver(result("f" + i, workflows.get(i), tasks.get(i)), nodes, byAddress);
                    delivered.incrementAndGet();
                } catch (Throwable t) {
                    errors.add(t);
                }
            }
        });
        TaskEventEngine c = node("c", store);
        byAddress.put("http://c", c);
        synchronized (nodes) {
            nodes.add(c);
        }
        member(c).round();
        member(a).round();
        member(b).round();
        member(c).round();
        client.join(60_000);
        assertFalse(client.isAlive());
        assertEquals(List.of(), List.copyOf(errors));
        assertEquals(60, delivered.get());
        assertEquals(2, owned(a).size());
        assertEquals(2, owned(b).size());
        assertEquals(2, owned(c).size());
        for (int s : owned(c)) {
            assertEquals(before[s] + 2, store.epoch(s), "released (+1) and taken (+1)");
        }
        for (int s = 0; s < 6; s++) {
            if (!owned(c).contains(s)) {
                assertEquals(before[s], store.epoch(s), "a shard that stayed kept its epoch");
            }
        }
        for (long t : tasks) {
            assertEquals(TaskState.SUCCESS, store.find(t).orElseThrow().state());
        }
    }

    /** Sends {@code e} until it is answered other than Moved; fails on an error answer. */
    private static Acknowledgement deliver(TaskEvent e, List<TaskEventEngine> nodes, Map<String, TaskEventEngine> byAddress)
            throws Exception {
        TaskEventEngine target;
        synchronized (nodes) {
            target = nodes.getFirst();
        }
        for (int attempt = 0; attempt < 10_000; attempt++) {
            Acknowledgement answer = target.submit(e).get(30, TimeUnit.SECONDS);
            if (!(answer instanceof Acknowledgement.Moved moved)) {
                assertTrue(answer.delivered(), answer.toString());
                return answer;
            }
            if (moved.ownerAddress() != null) {
                target = byAddress.get(moved.ownerAddress());
            } else {
                synchronized (nodes) {
                    target = nodes.get(attempt % nodes.size());
                }
                Thread.sleep(1);
            }
        }
        throw new AssertionError("event " + e.eventId() + " never found its shard's owner");
    }

    @Test
    void aDrainWaitsForAWriteInFlightBeforeReleasing() throws Exception {
        ClusterTestStore store = store(2);
        TaskEventEngine a = node("a", store);
        member(a).round();
        long wf = store.workflowsIn(1, 1, 1).getFirst(); // shard 1: the surplus a gives up first
        long task = task(store, wf);
        store.holdWritesIf = batch -> true;
        CompletableFuture<Acknowledgement> inFlight = a.submit(running("e1", wf, task));
        assertTrue(store.heldWriteEntered.await(30, TimeUnit.SECONDS));

        node("b", store);
        Thread round = background("round", () -> member(a).round());
        // Either the drain waits (correct) or the release has begun (it did not wait).
        Await.until(() -> round.getState() == Thread.State.TIMED_WAITING || store.releasesBegun.get() > 0);
        assertEquals(ShardState.DRAINING, member(a).tenure(1).state());
        assertEquals(0, store.releasesBegun.get(), "no release while an event of the shard is in flight");

        store.releaseHeld();
        Acknowledgement.Applied applied = assertInstanceOf(Acknowledgement.Applied.class, ack(inFlight));
        assertEquals(1, applied.task().version());
        round.join(30_000);
        assertEquals(List.of(0), owned(a));
        assertEquals(2, store.epoch(1), "taken (1), then released (2) after its write");
    }

    @Test
    void anEventCountedBeforeTheDrainIsWaitedForThenParkedAndAnsweredMoved() throws Exception {
        CountDownLatch counted = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        AtomicBoolean armed = new AtomicBoolean(false);
        ClusterTestStore store = store(2);
        TaskEventEngine a = node("a", store, e -> {}, s -> s.probe(new ShardTenure.Probe() {
            @Override
            public void counted(int shard) {
                if (shard == 1 && armed.compareAndSet(true, false)) {
                    counted.countDown();
                    try {
                        proceed.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }));
        member(a).round();
        long wf = store.workflowsIn(1, 1, 1).getFirst();
        long task = task(store, wf);
        armed.set(true);
        CompletableFuture<Acknowledgement> event = a.submit(running("e1", wf, task));
        assertTrue(counted.await(30, TimeUnit.SECONDS)); // counted in, state not read yet

        node("b", store);
        Thread round = background("round", () -> member(a).round());
        Await.until(() -> round.getState() == Thread.State.TIMED_WAITING || store.releasesBegun.get() > 0);
        assertEquals(0, store.releasesBegun.get(), "the drain waits for the event it counted");

        proceed.countDown(); // the event now reads DRAINING: it parks, and the drain goes on
        assertEquals(new Acknowledgement.Moved("e1", 1, null), ack(event));
        round.join(30_000);
        assertEquals(0, store.find(task).orElseThrow().version(), "nothing written");
        assertEquals(2, store.epoch(1));
        assertTrue(store.batches.isEmpty());
    }

    @Test
    void aHeartbeatThatFindsTheNodeGoneLosesEveryShardAndTheNodeRegistersAnew() throws Exception {
        ClusterTestStore store = store(4);
        ConcurrentLinkedQueue<Integer> lost = new ConcurrentLinkedQueue<>();
        TaskEventEngine a = node("a", store, e -> {}, s -> s.listener(new ShardListener() {
            @Override
            public void lost(int shard, long epoch) {
                lost.add(shard);
            }
        }));
        member(a).round();
        String firstId = view(a).nodeId();
        store.forgetNode(firstId);
        member(a).heartbeat();
        assertTrue(member(a).awaitListenerCalls(Duration.ofSeconds(30)));

        ClusterView v = view(a);
        assertEquals(List.of(), v.owned());
        assertEquals(4, v.counters().shardsLost());
        assertEquals(1, v.counters().heartbeatFailures());
        assertEquals(List.of(0, 1, 2, 3), lost.stream().sorted().toList());
        assertNotEquals(firstId, v.nodeId());
        long wf = store.workflowsIn(2, 1, 1).getFirst();
        assertInstanceOf(Acknowledgement.Moved.class, ack(a.submit(running("e", wf, task(store, wf)))));

        // The old id owns them and is not live: the new id takes them as a dead node's.
        member(a).round();
        assertEquals(4, owned(a).size());
        view(a).owned().forEach(o -> assertEquals(2, o.epoch()));
    }

    @Test
    void aNodeWhoseHeartbeatsFailPastTheLeaseStopsAdmittingEvents() throws Exception {
        ClusterTestStore store = store(1);
        TaskEventEngine a = node("a", store);
        member(a).round();
        long task = task(store, 5);
        store.leasesDown = true;
        member(a).heartbeat();
        assertEquals(1, view(a).counters().heartbeatFailures());
        nanos.addAndGet(LEASE.toNanos() + 1);
        ExecutionException refused = assertThrows(ExecutionException.class,
                () -> a.submit(running("e", 5, task)).get(30, TimeUnit.SECONDS));
        assertInstanceOf(StoreException.class, refused.getCause());
        assertTrue(refused.getCause().getMessage().contains("has not renewed its lease"), refused.getCause().getMessage());

        store.leasesDown = false;
        member(a).heartbeat();
        assertInstanceOf(Acknowledgement.Applied.class, ack(a.submit(running("e", 5, task))));
    }

    // ---- step 8: the per-shard re-tell ----

    @Test
    void entriesTheDeadOwnerNeverToldAreToldByTheNewOwnerBeforeItAppliesAnyEventOfTheirWorkflows() throws Exception {
        ClusterTestStore store = store(2);
        // Node a commits changes and tells nobody (its sink is down), then dies (no more heartbeats).
        TaskEventEngine a = node("a", store, e -> {
            throw new IllegalStateException("a's sink is down");
        }, s -> {});
        member(a).round();
        long wf0 = store.workflowsIn(0, 1, 1).getFirst();
        long wf1 = store.workflowsIn(1, 1, 1).getFirst();
        long t0 = task(store, wf0);
        long t1 = task(store, wf1);
        assertInstanceOf(Acknowledgement.Applied.class, ack(a.submit(running("a0", wf0, t0))));
        assertInstanceOf(Acknowledgement.Applied.class, ack(a.submit(running("a1", wf1, t1))));
        assertEquals(2, store.pendingStateEvents(10).size(), "committed, untold");
        store.advance(LEASE.plusSeconds(1)); // a's lease runs out

        CountDownLatch sinkEntered = new CountDownLatch(1);
        CountDownLatch sinkGo = new CountDownLatch(1);
        ConcurrentLinkedQueue<String> told = new ConcurrentLinkedQueue<>();
        TaskEventEngine b = node("b", store, e -> {
            sinkEntered.countDown();
            try {
                sinkGo.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
            told.add(e.eventId());
        }, s -> s.listener(new ShardListener() {
            @Override
            public void acquired(int shard, long epoch) {
                told.add("acquired " + shard + "@" + epoch);
            }
        }));
        Thread round = background("round", () -> member(b).round());
        assertTrue(sinkEntered.await(30, TimeUnit.SECONDS));
        assertEquals(ShardState.RETELLING, member(b).tenure(0).state());
        CompletableFuture<Acknowledgement> waits = b.submit(result("b0", wf0, t0));
        Await.until(() -> member(b).tenure(0).parkedCount() == 1);
        assertFalse(waits.isDone());
        assertEquals(1, store.find(t0).orElseThrow().version(), "b applied nothing while re-telling");

        sinkGo.countDown();
        round.join(30_000);
        assertEquals(2, assertInstanceOf(Acknowledgement.Applied.class, ack(waits)).task().version());
        assertEquals(List.of("acquired 0@2", "acquired 1@2", "a0", "a1", "b0"), List.copyOf(told),
                "the listener first, then a's changes, each once, then b's");
        assertEquals(List.of(), store.pendingStateEvents(10).stream()
                .filter(e -> !e.eventId().equals("b0")).toList(), "the re-told entries were removed");
        assertEquals(2, owned(b).size());
    }

    @Test
    void aRoundReapsNodesDeadForAnHourThatOwnNothingOnceAMinute() {
        ClusterTestStore store = store(2);
        store.register("old/00000000", null, Duration.ofSeconds(1));
        store.advance(Duration.ofHours(2));
        TaskEventEngine a = node("a", store);
        member(a).round();
        assertTrue(store.registered("old/00000000"), "not before a minute has passed");
        nanos.addAndGet(Duration.ofSeconds(61).toNanos());
        member(a).round();
        assertFalse(store.registered("old/00000000"));
        assertTrue(store.registered(view(a).nodeId()));
    }

    @Test
    void aGracefulCloseDrainsAndReleasesEveryShardAndEndsTheLease() throws Exception {
        ClusterTestStore store = store(4);
        ConcurrentLinkedQueue<Integer> released = new ConcurrentLinkedQueue<>();
        TaskEventEngine a = node("a", store, e -> {}, s -> s.listener(new ShardListener() {
            @Override
            public void released(int shard, long epoch) {
                released.add(shard);
            }
        }));
        member(a).round();
        long wf = store.workflowsIn(3, 1, 1).getFirst();
        long task = task(store, wf);
        store.holdWritesIf = batch -> true;
        CompletableFuture<Acknowledgement> inFlight = a.submit(running("e", wf, task));
        assertTrue(store.heldWriteEntered.await(30, TimeUnit.SECONDS));
        String id = view(a).nodeId();
        Thread closer = background("close", () -> a.close(Duration.ofSeconds(30)));
        Await.until(() -> member(a).tenure(3) != null && member(a).tenure(3).state() == ShardState.DRAINING);
        store.releaseHeld();
        assertInstanceOf(Acknowledgement.Applied.class, ack(inFlight), "the write in flight finished first");
        closer.join(30_000);
        assertFalse(closer.isAlive());
        assertEquals(List.of(0, 1, 2, 3), released.stream().sorted().toList());
        for (ShardLeases.ShardInfo s : store.shards()) {
            assertNull(s.ownerNode());
            assertEquals(2, s.epoch());
        }
        assertTrue(store.liveNodes().stream().noneMatch(n -> n.nodeId().equals(id)), "the lease ended");
        // Another node takes them at once, without waiting for a's lease.
        TaskEventEngine b = node("b", store);
        member(b).round();
        assertEquals(4, owned(b).size());
    }

    // ---- settings ----

    @Test
    void aStoreThatCannotFenceIsRefusedWithTheReasonAndWhatToUse() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TaskEventEngine.builder()
                .storeUrl("memory:").cluster(ClusterSettings.builder().nodeName("a").build()).build());
        assertEquals("cluster mode needs a store shared by every node and able to fence writes; the store memory:"
                + " cannot (it lives in one process). Use a jdbc: URL (PostgreSQL, MySQL/MariaDB, H2)", e.getMessage());
        try (TaskInstanceStore memory = Stores.open("memory:")) {
            IllegalArgumentException given = assertThrows(IllegalArgumentException.class, () -> TaskEventEngine.builder()
                    .store(memory).cluster(ClusterSettings.builder().nodeName("a").build()).build());
            assertEquals("cluster mode needs a store shared by every node and able to fence writes; this store"
                    + " cannot (its cluster() is empty). Use a jdbc: URL (PostgreSQL, MySQL/MariaDB, H2)",
                    given.getMessage());
        }
    }

    @Test
    void settingsRefuseARenewIntervalNotWellBelowTheLease() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ClusterSettings.builder()
                .lease(Duration.ofSeconds(6)).renewInterval(Duration.ofSeconds(2)).build());
        assertTrue(e.getMessage().contains("renewInterval must be below a third of the lease"), e.getMessage());
        ClusterSettings d = ClusterSettings.builder().nodeName("n").build();
        assertEquals(Duration.ofSeconds(10), d.lease());
        assertEquals(Duration.ofSeconds(2), d.renewInterval());
        assertEquals(Duration.ofSeconds(5), d.drainTimeout());
        assertNull(d.advertisedAddress());
    }

    @Test
    void outsideClusterModeThereIsNoClusterView() {
        try (TaskEventEngine plain = TaskEventEngine.builder().storeUrl("memory:").build()) {
            assertTrue(plain.cluster().isEmpty());
        }
    }
}
