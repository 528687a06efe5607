package dev.taskevents.benchmarks;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.ClusterSettings;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;
import org.jooq.impl.DSL;

/**
 * The whole path on a real database: the engine with the JDBC store, events acknowledged after
 * commit. Each run gets a new schema (PostgreSQL), database (MariaDB) or file (H2).
 */
final class EndToEndBenchmark {
    static final int TASKS_PER_WORKFLOW = 5;

    /** A database to run on. */
    record Target(String name, String baseUrl) {
        String freshUrl() throws Exception {
            String id = "bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
            if (baseUrl.startsWith("jdbc:h2:")) {
                return "jdbc:h2:file:" + Files.createTempDirectory("taskevents-bench").resolve("db");
            }
            try (Connection c = DriverManager.getConnection(baseUrl)) {
                if (baseUrl.startsWith("jdbc:postgresql:")) {
                    DSL.using(c).createSchema(id).execute();
                    return baseUrl + (baseUrl.contains("?") ? "&" : "?") + "currentSchema=" + id;
                }
                DSL.using(c).createDatabase(id).execute();
                return baseUrl.replaceFirst("(jdbc:[a-z]+://[^/]+/)[^?]*", "$1" + id);
            }
        }

        void drop(String url) throws Exception {
            if (baseUrl.startsWith("jdbc:h2:")) {
                // the run's store is closed by now: its directory goes, files and all
                Path dir = Path.of(url.substring("jdbc:h2:file:".length())).getParent();
                try (Stream<Path> files = Files.walk(dir)) {
                    for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(f);
                    }
                }
                return;
            }
            try (Connection c = DriverManager.getConnection(baseUrl)) {
                if (baseUrl.startsWith("jdbc:postgresql:")) {
                    DSL.using(c).dropSchemaIfExists(url.substring(url.lastIndexOf('=') + 1)).cascade().execute();
                } else {
                    String db = url.replaceFirst("jdbc:[a-z]+://[^/]+/([^?]*).*", "$1");
                    DSL.using(c).dropDatabaseIfExists(db).execute();
                }
            }
        }
    }

    /**
     * @param p99Cached the p99 of the events after each workflow's first one: those whose snapshot
     *     is already cached (the first event of a workflow also waits for its snapshot load)
     */
    record Result(String mode, double eventsPerSecond, double p50, double p99, double max, double p99Cached,
                  double rowsPerBatch) {}

    /**
     * Closed loop: 2 threads submit RUNNING then RESULT for every task as fast as backpressure
     * lets them. Latency here is mostly time queued behind a full engine.
     */
    static Result maxThroughput(Target target, String mode, int maxCommitBatch, int workflows) throws Exception {
        return run(target, mode, maxCommitBatch, workflows, 0, true, 0);
    }

    /**
     * {@link #maxThroughput} with or without a state sink: with one, every change is also recorded
     * in the outbox in its batch's transaction and removed once told; without, nothing is.
     */
    static Result maxThroughput(Target target, String mode, int maxCommitBatch, int workflows, boolean sink)
            throws Exception {
        return run(target, mode, maxCommitBatch, workflows, 0, sink, 0);
    }

    /**
     * {@link #maxThroughput} (with a sink) in cluster mode on {@code nodes} engine nodes, each with
     * its own store and pool on the one database, each event sent to the node serving its shard.
     * Sending starts once every shard is served and each node holds its fair share.
     */
    static Result maxThroughputInCluster(Target target, String mode, int workflows, int nodes) throws Exception {
        return run(target, mode, 1_000, workflows, 0, true, nodes);
    }

    /** Open loop at a fixed {@code rate}; latency from each event's intended send time to its ack. */
    static Result atRate(Target target, String mode, int maxCommitBatch, int workflows, double rate) throws Exception {
        return run(target, mode, maxCommitBatch, workflows, rate, true, 0);
    }

    /** Cluster nodes: engines on stores of their own, and which node serves which shard. */
    private record Nodes(List<TaskInstanceStore> stores, List<TaskEventEngine> engines, TaskEventEngine[] byShard)
            implements AutoCloseable {
        static Nodes start(String url, int count, int maxCommitBatch, WorkflowStateSink sink) throws Exception {
            List<TaskInstanceStore> stores = new ArrayList<>();
            List<TaskEventEngine> engines = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url));
                stores.add(store);
                engines.add(TaskEventEngine.builder().store(store).maxCommitBatch(maxCommitBatch).stateSink(sink)
                        .maxQueued(20_000).submitTimeout(Duration.ofMinutes(5))
                        .cluster(ClusterSettings.builder().nodeName("bench-" + i).lease(Duration.ofSeconds(5))
                                .renewInterval(Duration.ofMillis(500)).build())
                        .build());
            }
            int shardCount = engines.getFirst().cluster().orElseThrow().shardCount();
            TaskEventEngine[] byShard = new TaskEventEngine[shardCount];
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (true) {
                Arrays.fill(byShard, null);
                boolean fair = true;
                for (TaskEventEngine engine : engines) {
                    List<ClusterView.OwnedShard> active = engine.cluster().orElseThrow().owned().stream()
                            .filter(o -> o.state() == ClusterView.ShardState.ACTIVE).toList();
                    fair &= active.size() >= shardCount / count;
                    active.forEach(o -> byShard[o.shard()] = engine);
                }
                if (fair && Arrays.stream(byShard).allMatch(Objects::nonNull)) {
                    return new Nodes(stores, engines, byShard);
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the " + count + " nodes did not share the shards within 120 s");
                }
                Thread.sleep(50);
            }
        }

        TaskEventEngine nodeFor(long workflowInstanceId) {
            return byShard[Shards.of(workflowInstanceId, byShard.length)];
        }

        EngineStats stats() {
            long rows = 0;
            long batches = 0;
            for (TaskEventEngine engine : engines) {
                rows += engine.stats().rowsWritten();
                batches += engine.stats().batches();
            }
            return EngineStats.builder().batches(batches).rowsWritten(rows).build();
        }

        @Override
        public void close() {
            engines.forEach(TaskEventEngine::close);
            stores.forEach(TaskInstanceStore::close);
        }
    }

    /**
     * Inserts {@code workflows} x {@link #TASKS_PER_WORKFLOW} submitted task instances (task id
     * {@code wf * 10 + t}) and returns their events in sending order: task by task, RUNNING then
     * RESULT, each over every workflow; so event {@code ((t * 2 + (RESULT ? 1 : 0)) * workflows + wf - 1)}
     * is task {@code t} of workflow {@code wf}, and the first {@code workflows} are each workflow's first.
     */
    static TaskEvent[] workload(TaskInstanceStore store, int workflows) {
        Instant now = Instant.now();
        List<TaskInstance> rows = new ArrayList<>();
        for (int wf = 1; wf <= workflows; wf++) {
            for (int t = 0; t < TASKS_PER_WORKFLOW; t++) {
                rows.add(TaskInstance.submitted(wf * 10L + t, wf, "t" + t, now));
            }
            if (rows.size() >= 5_000) {
                store.insert(rows);
                rows.clear();
            }
        }
        if (!rows.isEmpty()) {
            store.insert(rows);
        }
        TaskEvent[] all = new TaskEvent[workflows * TASKS_PER_WORKFLOW * 2];
        int n = 0;
        for (int t = 0; t < TASKS_PER_WORKFLOW; t++) {
            for (TaskEventType type : List.of(TaskEventType.RUNNING, TaskEventType.RESULT)) {
                for (int wf = 1; wf <= workflows; wf++) {
                    long id = wf * 10L + t;
                    all[n++] = type == TaskEventType.RUNNING
                            ? TaskEvent.builder("r" + id, type, wf, id).eventTime(now).host("w1").startTime(now)
                                    .processId(42).build()
                            : TaskEvent.builder("x" + id, type, wf, id).eventTime(now).state(TaskState.SUCCESS)
                                    .endTime(now).varPool("{}").build();
                }
            }
        }
        return all;
    }

    /** The index in {@link #workload}'s array of the event of {@code taskInstanceId} of that type. */
    static int slotOf(long taskInstanceId, TaskEventType type, int workflows) {
        long wf = taskInstanceId / 10;
        int t = (int) (taskInstanceId % 10);
        return (int) ((t * 2L + (type == TaskEventType.RESULT ? 1 : 0)) * workflows + wf - 1);
    }

    private static Result run(Target target, String mode, int maxCommitBatch, int workflows, double rate,
                              boolean withSink, int clusterNodes) throws Exception {
        String url = target.freshUrl();
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            TaskEvent[] all = workload(store, workflows);
            int events = all.length;
            long[] latency = new long[events];
            CompletableFuture<?>[] acks = new CompletableFuture<?>[events];
            EngineStats stats;
            long elapsed;
            LongAdder told = new LongAdder();
            WorkflowStateSink sink = withSink ? event -> told.increment() : WorkflowStateSink.NONE;
            try (TaskEventEngine single = clusterNodes > 0 ? null : TaskEventEngine.builder().store(store)
                    .maxCommitBatch(maxCommitBatch).stateSink(sink).maxQueued(20_000)
                    .submitTimeout(Duration.ofMinutes(5)).build();
                 Nodes nodes = clusterNodes > 0 ? Nodes.start(url, clusterNodes, maxCommitBatch, sink) : null) {
                // told counts from here: a cluster's nodes tell nothing before (they re-tell an empty outbox).
                long start = System.nanoTime() + 10_000_000;
                Senders.run(all, rate, start, (slot, intended) -> {
                    TaskEventEngine engine = single != null ? single : nodes.nodeFor(all[slot].workflowInstanceId());
                    acks[slot] = engine.submit(all[slot]).thenAccept((Acknowledgement a) -> {
                        if (!(a instanceof Acknowledgement.Applied)) {
                            throw new IllegalStateException("expected Applied, got " + a);
                        }
                        latency[slot] = System.nanoTime() - intended;
                    });
                });
                CompletableFuture.allOf(acks).get(10, TimeUnit.MINUTES);
                elapsed = System.nanoTime() - start;
                stats = single != null ? single.stats() : nodes.stats();
            }
            if (withSink && told.sum() < events) {
                throw new IllegalStateException("the sink heard " + told.sum() + " of " + events + " changes");
            }
            // Events are ordered task by task, so the first `workflows` events are each workflow's first.
            long[] cached = Arrays.copyOfRange(latency, workflows, events);
            Arrays.sort(cached);
            Arrays.sort(latency);
            return new Result(mode, events / (elapsed / 1e9), Stats.percentileMillis(latency, 0.5),
                    Stats.percentileMillis(latency, 0.99), latency[events - 1] / 1e6,
                    Stats.percentileMillis(cached, 0.99), (double) stats.rowsWritten() / stats.batches());
        } finally {
            target.drop(url);
        }
    }
}
