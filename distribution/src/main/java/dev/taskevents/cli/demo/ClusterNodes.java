package dev.taskevents.cli.demo;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.ClusterSettings;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.engine.executor.QueueFullException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * {@code demo --nodes N}: N engine nodes in this process, each with its own store and connection
 * pool on the demo's database, in cluster mode, as N processes would be. The simulated workers
 * send each event to the node that owns its shard, as a real worker following {@code Moved}
 * answers would: a {@code Moved} is resent to the owner it names (or, with none, to another node
 * a moment later), and an event a dead node could not take is resent by the worker itself.
 *
 * <p>{@link #kill} makes one node die as a process would: its store is closed under it
 * (connections gone, no lease renewed, nothing released), so the others take its shards over when
 * its lease runs out by the database's clock, and re-tell what it committed and may not have told.
 */
final class ClusterNodes implements AutoCloseable {
    /**
     * Short, so that a demo run shows a failover in seconds (taken over about 3 s after a kill),
     * and not so short that a busy machine's heartbeats miss it.
     */
    static final Duration LEASE = Duration.ofSeconds(3);
    static final Duration RENEW = Duration.ofMillis(500);
    private static final int MAX_HOPS = 400;

    private final List<Node> nodes = new ArrayList<>();
    private final Map<Integer, Node> owners = new ConcurrentHashMap<>();
    private final int shardCount;
    private final Executor later = CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS);
    private final AtomicLong firstAckAfterKill = new AtomicLong(-1);
    private volatile Node killed;
    private volatile Set<Integer> killedShards = Set.of();
    private volatile long killedAt;
    private volatile int killedAtPercent;

    /** One node: its store and its engine. */
    private record Node(String name, TaskInstanceStore store, TaskEventEngine engine) {}

    /**
     * Starts {@code count} nodes, each on a store from {@code stores}, telling {@code sink}.
     *
     * @throws IllegalArgumentException if a store cannot take part in cluster mode
     */
    ClusterNodes(int count, Supplier<TaskInstanceStore> stores, WorkflowStateSink sink) {
        try {
            for (int i = 1; i <= count; i++) {
                String name = "node-" + i;
                TaskInstanceStore store = stores.get();
                try {
                    TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(sink)
                            .cluster(ClusterSettings.builder().nodeName(name).advertisedAddress(name)
                                    .lease(LEASE).renewInterval(RENEW).build())
                            .build();
                    nodes.add(new Node(name, store, engine));
                } catch (RuntimeException e) {
                    store.close();
                    throw e;
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.shardCount = nodes.getFirst().engine().cluster().orElseThrow().shardCount();
    }

    /** Waits until every shard is served by some node (the first claim rounds). */
    void awaitShardsServed(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (served() < shardCount) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the " + nodes.size() + " nodes serve " + served() + " of " + shardCount
                        + " shards after " + timeout.toSeconds() + " s");
            }
            Thread.sleep(20);
        }
    }

    private long served() {
        return nodes.stream().flatMap(n -> n.engine().cluster().orElseThrow().owned().stream())
                .filter(o -> o.state() == ClusterView.ShardState.ACTIVE).map(ClusterView.OwnedShard::shard)
                .distinct().count();
    }

    /**
     * Submits to the node that owns the event's shard, following {@code Moved} answers; completes
     * with the first answer that is not a {@code Moved}, or fails as the node's submit failed.
     *
     * @throws QueueFullException if the owner's queue is full (the caller waits and resends)
     */
    CompletableFuture<Acknowledgement> submit(TaskEvent event) {
        return submit(event, 0);
    }

    private CompletableFuture<Acknowledgement> submit(TaskEvent event, int hops) {
        int shard = Shards.of(event.workflowInstanceId(), shardCount);
        Node node = owners.getOrDefault(shard, anyLive());
        CompletableFuture<Acknowledgement> answer;
        try {
            answer = node.engine().submit(event);
        } catch (RejectedExecutionException closed) {
            owners.remove(shard, node); // a killed node: ask another
            return CompletableFuture.supplyAsync(() -> null, later).thenCompose(x -> retry(event, hops));
        }
        return answer.handle((ack, failure) -> {
            if (failure != null) {
                owners.remove(shard, node);
                return CompletableFuture.<Acknowledgement>failedFuture(failure);
            }
            if (ack instanceof Acknowledgement.Moved moved) {
                Node owner = moved.ownerAddress() == null ? null : byName(moved.ownerAddress());
                if (owner != null && owner != killed) {
                    owners.put(shard, owner);
                    return retry(event, hops);
                }
                owners.remove(shard, node);
                return CompletableFuture.supplyAsync(() -> null, later).thenCompose(x -> retry(event, hops));
            }
            if (ack instanceof Acknowledgement.Applied && killed != null && node != killed
                    && killedShards.contains(shard)) {
                firstAckAfterKill.compareAndSet(-1, System.nanoTime() - killedAt);
            }
            return CompletableFuture.completedFuture(ack);
        }).thenCompose(stage -> stage);
    }

    private CompletableFuture<Acknowledgement> retry(TaskEvent event, int hops) {
        if (hops >= MAX_HOPS) {
            return CompletableFuture.failedFuture(new IllegalStateException("event " + event.eventId()
                    + " was moved " + hops + " times without finding its shard's owner"));
        }
        try {
            return submit(event, hops + 1);
        } catch (QueueFullException full) {
            return CompletableFuture.supplyAsync(() -> null, later).thenCompose(x -> retry(event, hops));
        }
    }

    private Node anyLive() {
        List<Node> live = nodes.stream().filter(n -> n != killed).toList();
        return live.get(ThreadLocalRandom.current().nextInt(live.size()));
    }

    private Node byName(String name) {
        for (Node n : nodes) {
            if (n.name().equals(name)) {
                return n;
            }
        }
        return null;
    }

    /**
     * Kills the middle node the way a process dies: its store is closed under it, so it renews no
     * lease and releases nothing; its engine is then stopped in the background without waiting.
     */
    void kill(int percentDone) {
        Node victim = nodes.get(nodes.size() / 2);
        killedShards = victim.engine().cluster().orElseThrow().owned().stream()
                .filter(o -> o.state() == ClusterView.ShardState.ACTIVE).map(ClusterView.OwnedShard::shard)
                .collect(Collectors.toUnmodifiableSet());
        killedAtPercent = percentDone;
        killedAt = System.nanoTime();
        killed = victim;
        owners.values().removeIf(n -> n == victim);
        victim.store().close();
        Thread.ofVirtual().start(() -> victim.engine().close(Duration.ZERO));
    }

    /**
     * The live engines' counters, added up. The killed node's are left out: what it answered
     * before it died is in its workers' acknowledgements, and what failed there (its store closed
     * under it) was resent, like events to a process that died ({@link #summary}).
     */
    EngineStats stats() {
        List<EngineStats> all = nodes.stream().filter(n -> n != killed).map(n -> n.engine().stats()).toList();
        return all.stream().reduce(EngineStats.builder().build(), EngineStats::plus);
    }

    /** What the run's cluster did, for the report. */
    DemoReport.ClusterRun summary() {
        long takeovers = nodes.stream().mapToLong(n -> n.engine().cluster().orElseThrow().counters().takeovers()).sum();
        return new DemoReport.ClusterRun(nodes.size(), shardCount, killed == null ? null : killed.name(), killedAtPercent,
                killedShards.size(), takeovers, firstAckAfterKill.get(),
                killed == null ? null : killed.engine().stats());
    }

    /** Stops the live nodes gracefully (each hands its shards back), then their stores. */
    @Override
    public void close() {
        for (Node n : nodes) {
            if (n != killed) {
                n.engine().close();
            }
        }
        for (Node n : nodes) {
            if (n != killed) {
                n.store().close();
            }
        }
    }
}
