package dev.taskevents.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Shards;
import dev.taskevents.testkit.LoopbackPorts;
import dev.taskevents.testkit.TcpProxy;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * What the tests of {@code serve --cluster} under faults share: nodes (serve processes of the
 * runtime image), workers that resend each event until it is acknowledged and follow 421 and MOVED
 * to the owner, and the oracles, all checked from outside the nodes over plain JDBC:
 * <ul>
 *   <li>the epoch audit ({@link #installAudit}): a trigger on {@code task_instance} records, for
 *       every row version written, the epoch the write carried ({@code written_epoch}) and the
 *       shard's epoch in the database at that moment (the writer holds the shard row's lock, so it
 *       is the epoch at the commit); every version must have been written under the current epoch,
 *       and each version 1..3 of each task exactly once;
 *   <li>every row holds what its worker reported (RESULT SUCCESS, its RESULT's id, version 3);
 *   <li>every committed change that is told (RUNNING, RESULT) is in the union of the nodes'
 *       {@code --state-log} files at least once;
 *   <li>no acknowledged event is lost: each APPLIED answer's version is in the audit.
 * </ul>
 * Workflows have {@link #TASKS} tasks of 3 events each (DISPATCH, RUNNING, RESULT).
 */
final class ClusterWorkload {
    static final Path IMAGE = Path.of(System.getProperty("taskevents.image", "target/taskevents"));
    static final int SHARDS = 32;
    static final int TASKS = 4;
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private ClusterWorkload() {
    }

    static final class Node {
        final String name;
        final TcpProxy proxy;
        final int port;
        final Path stateLog;
        final Process process;
        final String nodeId;

        /** {@code store} is the URL serve is given; {@code proxy}, if not null, is the one it leads through. */
        Node(String name, String store, TcpProxy proxy, Path dir, int leaseMs, int renewMs) throws Exception {
            this.name = name;
            this.proxy = proxy;
            this.port = LoopbackPorts.next();
            this.stateLog = dir.resolve(name + ".jsonl");
            ProcessBuilder builder = new ProcessBuilder(IMAGE.resolve("bin/taskevents").toAbsolutePath().toString(),
                    "serve", "--store", store, "--port", String.valueOf(port),
                    "--cluster", "--node-name", name, "--lease-ms", String.valueOf(leaseMs),
                    "--renew-ms", String.valueOf(renewMs), "--state-log", stateLog.toString(),
                    "--drain-seconds", "20")
                    .directory(dir.toFile()).redirectErrorStream(true)
                    .redirectOutput(dir.resolve(name + ".out").toFile());
            builder.environment().put("PATH", "/nonexistent");
            this.process = builder.start();
            try {
                Path out = dir.resolve(name + ".out");
                awaitCondition(name + " to listen", 60,
                        () -> Files.exists(out) && Files.readString(out).contains("listening on"));
                this.nodeId = cluster().get("self").asText();
            } catch (Exception | AssertionError e) { // not yet in the test's list of nodes: stop it here
                process.destroyForcibly();
                closeProxy();
                throw e;
            }
        }

        void closeProxy() throws IOException {
            if (proxy != null) {
                proxy.close();
            }
        }

        URI uri(String path) {
            return URI.create("http://127.0.0.1:" + port + path);
        }

        String address() {
            return "http://127.0.0.1:" + port;
        }

        /**
         * The node's {@code /v1/cluster}. Under the full load of the long run (1,000 workflows) the
         * workers' requests hold every in-flight permit, and the node answers 503 with Retry-After
         * like any request; that is asked again, as a client does, for up to a minute.
         */
        JsonNode cluster() throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
            while (true) {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri("/v1/cluster"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 503 || System.nanoTime() > deadline) {
                    assertEquals(200, r.statusCode(), r.body());
                    return JSON.readTree(r.body());
                }
                Thread.sleep(Math.min(1_000, 1_000L * Long.parseLong(r.headers().firstValue("Retry-After").orElse("1"))));
            }
        }

        /** The shards this node serves now, with the epoch it holds each at. */
        Map<Integer, Long> ownedActive() throws Exception {
            Map<Integer, Long> owned = new HashMap<>();
            for (JsonNode shard : cluster().get("shards")) {
                if ("ACTIVE".equals(shard.path("state").asText(null))) {
                    owned.put(shard.get("shard").asInt(), shard.get("epoch").asLong());
                }
            }
            return owned;
        }

        void signal(String signal) throws Exception {
            Process kill = new ProcessBuilder("kill", "-" + signal, String.valueOf(process.pid())).start();
            assertEquals(0, kill.waitFor(), "kill -" + signal + " " + name);
        }
    }

    /** Waits until every node serves some shards and together they serve all of them. */
    static void awaitShardsShared(List<Node> nodes) throws Exception {
        awaitCondition(nodes.size() + " nodes to share the shards", 60, () -> {
            int held = 0;
            for (Node n : nodes) {
                int mine = n.ownedActive().size();
                if (mine == 0) {
                    return false;
                }
                held += mine;
            }
            return held == SHARDS;
        });
    }

    static void migrate(String url, Path dir) throws Exception {
        Process migrate = new ProcessBuilder(IMAGE.resolve("bin/taskevents").toAbsolutePath().toString(), "migrate",
                "--store", url, "--shards", String.valueOf(SHARDS)).directory(dir.toFile())
                .redirectErrorStream(true).redirectOutput(dir.resolve("migrate.out").toFile()).start();
        assertTrue(migrate.waitFor(120, TimeUnit.SECONDS), "migrate did not finish");
        assertEquals(0, migrate.exitValue(), Files.readString(dir.resolve("migrate.out")));
    }

    /**
     * The audit, made by the test over plain JDBC, never by the store: each workflow's shard (by
     * {@link Shards#of}), and a trigger that records every row version with the epoch it was
     * written under and the shard's epoch at that moment.
     */
    static void installAudit(String url, boolean postgres, int workflows) throws Exception {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute("create table chaos_workflow_shard (workflow_instance_id bigint primary key, shard_id int not null)");
            s.execute("create table chaos_audit (id bigint not null, version bigint not null, state varchar(16) not null,"
                    + " written_epoch bigint null, current_epoch bigint null)");
            try (PreparedStatement p = c.prepareStatement("insert into chaos_workflow_shard values (?, ?)")) {
                for (int w = 1; w <= workflows; w++) {
                    p.setLong(1, w);
                    p.setInt(2, Shards.of(w, SHARDS));
                    p.addBatch();
                }
                p.executeBatch();
            }
            String record = "insert into chaos_audit (id, version, state, written_epoch, current_epoch)"
                    + " select new.id, new.version, new.state, new.written_epoch, s.epoch from cluster_shard s"
                    + " join chaos_workflow_shard w on w.shard_id = s.shard_id"
                    + " where w.workflow_instance_id = new.workflow_instance_id";
            if (postgres) {
                s.execute("create function chaos_audit_row() returns trigger language plpgsql as $$ begin "
                        + record + "; return new; end $$");
                s.execute("create trigger chaos_audit_t after update on task_instance for each row"
                        + " execute function chaos_audit_row()");
            } else {
                s.execute("create trigger chaos_audit_t after update on task_instance for each row " + record);
            }
        }
    }

    static long takeovers(String url) throws Exception {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select coalesce(sum(epoch), 0) from cluster_shard")) {
            r.next();
            return r.getLong(1);
        }
    }

    static void checkRowsAndAudit(String url, int workflows, Workers workers) throws Exception {
        List<String> wrong = new ArrayList<>();
        Map<Long, Map<Long, Integer>> audited = new HashMap<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("select id, version, written_epoch, current_epoch from chaos_audit")) {
                while (r.next()) {
                    long id = r.getLong(1);
                    long version = r.getLong(2);
                    long written = r.getLong(3);
                    boolean writtenNull = r.wasNull();
                    long current = r.getLong(4);
                    if (writtenNull || written != current) {
                        wrong.add("task " + id + " version " + version + " was written under epoch "
                                + (writtenNull ? "none" : written) + " while the shard's epoch was " + current);
                    }
                    audited.computeIfAbsent(id, k -> new HashMap<>()).merge(version, 1, Integer::sum);
                }
            }
            int rows = 0;
            try (ResultSet r = s.executeQuery("select id, state, finish_event_id, version from task_instance")) {
                while (r.next()) {
                    rows++;
                    long id = r.getLong(1);
                    if (!"SUCCESS".equals(r.getString(2)) || !("x" + id).equals(r.getString(3)) || r.getLong(4) != 3) {
                        wrong.add("task " + id + " is " + r.getString(2) + " by " + r.getString(3) + " at version "
                                + r.getLong(4) + "; its worker reported SUCCESS by x" + id + " (version 3)");
                    }
                    Map<Long, Integer> versions = audited.getOrDefault(id, Map.of());
                    for (long v = 1; v <= 3; v++) {
                        if (versions.getOrDefault(v, 0) != 1) {
                            wrong.add("task " + id + " version " + v + " was written " + versions.getOrDefault(v, 0)
                                    + " times");
                        }
                    }
                }
            }
            assertEquals(workflows * TASKS, rows, "every registered task is in the database");
        }
        workers.applied.forEach((eventId, version) -> {
            long id = Long.parseLong(eventId.substring(1));
            if (audited.getOrDefault(id, Map.of()).getOrDefault(version, 0) != 1) {
                wrong.add("event " + eventId + " was acknowledged APPLIED at version " + version + ", which is not in the database");
            }
        });
        assertEquals(List.of(), wrong.stream().limit(30).toList());
    }

    /** Every told change (versions 2 and 3: RUNNING and RESULT) is in some node's state log. */
    static void checkToldAtLeastOnce(String url, Path dir, List<String> names) throws Exception {
        Set<String> told = new HashSet<>();
        long lines = 0;
        for (String name : names) {
            Path log = dir.resolve(name + ".jsonl");
            if (!Files.exists(log)) {
                continue;
            }
            for (String line : Files.readAllLines(log)) {
                JsonNode event;
                try {
                    event = JSON.readTree(line);
                } catch (IOException cutByAKill) {
                    continue; // the last line of a killed node may be cut: its change is re-told
                }
                lines++;
                told.add(event.get("taskInstanceId").asLong() + "@" + event.get("version").asLong());
            }
        }
        List<String> untold = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select id, version from chaos_audit where version >= 2")) {
            while (r.next()) {
                if (!told.contains(r.getLong(1) + "@" + r.getLong(2))) {
                    untold.add("task " + r.getLong(1) + " version " + r.getLong(2));
                }
            }
        }
        System.out.printf("RELIABILITY cluster state logs: %d lines, %d distinct changes%n", lines, told.size());
        assertEquals(List.of(), untold.stream().limit(30).toList(), "committed changes never told");
    }

    /**
     * Workers that resend each event until it is acknowledged, following 421 and MOVED to the owner
     * and trying the next node on connection errors and 503. The events of one workflow are sent
     * one after another (DISPATCH, RUNNING, RESULT per task), as a worker sends them.
     */
    static final class Workers {
        final List<Node> nodes;
        final int workflows;
        final AtomicLong acknowledged = new AtomicLong();
        final AtomicLong resends = new AtomicLong();
        final AtomicLong movedFollowed = new AtomicLong();
        final Map<String, Long> applied = new ConcurrentHashMap<>();
        /** When each APPLIED answer came ({@link System#nanoTime}). */
        final Map<String, Long> appliedAt = new ConcurrentHashMap<>();
        final Map<String, String> problems = new ConcurrentHashMap<>();
        final Map<Integer, String> owners = new ConcurrentHashMap<>();
        final List<Failover> failovers = new CopyOnWriteArrayList<>();
        final long total;
        final int rounds;
        final long margin;
        final Object gate = new Object();
        volatile long ceiling;

        /** A kill: the node's address and shards, and the time from the kill to another node's first ack for them. */
        record Failover(String address, Set<Integer> shards, long killedAt, AtomicLong nanos) {
        }

        Workers(List<Node> nodes, int workflows, long total, int rounds) {
            this.nodes = nodes;
            this.workflows = workflows;
            this.total = total;
            this.rounds = rounds;
            this.margin = Math.max(1, total / rounds / 10);
            this.ceiling = mark(0, 20) + margin;
        }

        long progress() {
            return acknowledged.get();
        }

        List<Long> failoverMillis() {
            return failovers.stream().map(f -> f.nanos().get() < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(f.nanos().get()))
                    .toList();
        }

        void failoverFrom(String address, Set<Integer> shards, long at) {
            failovers.add(new Failover(address, Set.copyOf(shards), at, new AtomicLong(-1)));
        }

        private long mark(int round, int percent) {
            return total * (round * 100L + percent) / (100L * rounds);
        }

        /**
         * Lets the workers go on to a tenth of a slice past the mark, and waits until the mark is
         * acknowledged.
         */
        void awaitMark(int round, int percent) throws Exception {
            long events = mark(round, percent);
            raiseCeiling(events + margin);
            awaitCondition(events + " acknowledged events", 300, () -> acknowledged.get() >= events);
        }

        /** Lets the workers go on to a tenth of a slice past the mark, without waiting for it. */
        void admitTo(int round, int percent) {
            raiseCeiling(mark(round, percent) + margin);
        }

        void admitAll() {
            raiseCeiling(Long.MAX_VALUE);
        }

        private void raiseCeiling(long to) {
            synchronized (gate) {
                ceiling = Math.max(ceiling, to);
                gate.notifyAll();
            }
        }

        /** Holds a worker before a new event while the acknowledged count is at the ceiling. */
        private void admit() throws InterruptedException {
            synchronized (gate) {
                while (acknowledged.get() >= ceiling) {
                    gate.wait();
                }
            }
        }

        CountDownLatch start() {
            CountDownLatch done = new CountDownLatch(workflows);
            for (int w = 1; w <= workflows; w++) {
                long workflow = w;
                Thread.ofVirtual().start(() -> {
                    try {
                        runWorkflow(workflow);
                    } catch (Throwable e) {
                        problems.put("workflow " + workflow, e.toString());
                    } finally {
                        done.countDown();
                    }
                });
            }
            return done;
        }

        private void runWorkflow(long workflow) throws Exception {
            StringBuilder rows = new StringBuilder("[");
            for (int t = 0; t < TASKS; t++) {
                rows.append(t == 0 ? "" : ",").append("{\"id\":").append(workflow * 10 + t)
                        .append(",\"workflowInstanceId\":").append(workflow).append(",\"name\":\"t\"}");
            }
            createTasks(rows.append("]").toString());
            for (int t = 0; t < TASKS; t++) {
                long id = workflow * 10 + t;
                String common = ",\"workflowInstanceId\":" + workflow + ",\"taskInstanceId\":" + id
                        + ",\"eventTime\":\"2026-01-01T00:00:00Z\"";
                send(workflow, "d" + id, "{\"eventId\":\"d" + id + "\",\"type\":\"DISPATCH\",\"host\":\"w\"" + common + "}");
                send(workflow, "r" + id, "{\"eventId\":\"r" + id + "\",\"type\":\"RUNNING\",\"host\":\"w\","
                        + "\"startTime\":\"2026-01-01T00:00:00Z\"" + common + "}");
                send(workflow, "x" + id, "{\"eventId\":\"x" + id + "\",\"type\":\"RESULT\",\"state\":\"SUCCESS\","
                        + "\"endTime\":\"2026-01-01T00:00:01Z\"" + common + "}");
            }
        }

        private void createTasks(String body) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (System.nanoTime() < deadline) {
                Node node = anyNode();
                try {
                    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(node.uri("/v1/task-instances"))
                            .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 201 || r.statusCode() == 409) {
                        return; // 409: created by an earlier attempt whose answer was lost
                    }
                } catch (IOException down) {
                    // the node is down or stopped: another one
                }
                resends.incrementAndGet();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
            throw new AssertionError("tasks not created within 5 minutes: " + body);
        }

        private Node anyNode() {
            List<Node> live = List.copyOf(nodes);
            return live.get(ThreadLocalRandom.current().nextInt(live.size()));
        }

        private Node nodeAt(String address) {
            if (address != null) {
                for (Node n : nodes) {
                    if (n.address().equals(address)) {
                        return n;
                    }
                }
            }
            return anyNode();
        }

        private void send(long workflow, String eventId, String body) throws Exception {
            admit();
            int shard = Shards.of(workflow, SHARDS);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (System.nanoTime() < deadline) {
                Node node = nodeAt(owners.get(shard));
                try {
                    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(node.uri("/v1/events"))
                            .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 421) {
                        movedFollowed.incrementAndGet();
                        follow(shard, JSON.readTree(r.body()).get("moved").get(0).get("owner"));
                    } else if (r.statusCode() == 200) {
                        JsonNode ack = JSON.readTree(r.body()).get("acks").get(0);
                        String outcome = ack.get("outcome").asText();
                        switch (outcome) {
                            case "APPLIED" -> {
                                applied.put(eventId, ack.get("version").asLong());
                                appliedAt.put(eventId, System.nanoTime());
                                for (Failover f : failovers) {
                                    if (!node.address().equals(f.address()) && f.shards().contains(shard)) {
                                        f.nanos().compareAndSet(-1, System.nanoTime() - f.killedAt());
                                    }
                                }
                                acknowledged.incrementAndGet();
                                return;
                            }
                            case "DUPLICATE", "STALE" -> {
                                acknowledged.incrementAndGet();
                                return;
                            }
                            case "MOVED" -> {
                                movedFollowed.incrementAndGet();
                                follow(shard, ack.get("owner"));
                            }
                            default -> {
                                problems.put(eventId, r.body());
                                return;
                            }
                        }
                    } else if (r.statusCode() != 503) {
                        problems.put(eventId, r.statusCode() + " " + r.body());
                        return;
                    } else {
                        owners.remove(shard);
                    }
                } catch (IOException down) {
                    owners.remove(shard); // the node died or stopped: ask another
                }
                resends.incrementAndGet();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
            }
            throw new AssertionError("event " + eventId + " not acknowledged within 5 minutes");
        }

        private void follow(int shard, JsonNode owner) {
            if (owner == null || owner.isNull()) {
                owners.remove(shard);
            } else {
                owners.put(shard, owner.asText());
            }
        }
    }

    interface Condition {
        boolean holds() throws Exception;
    }

    static void awaitCondition(String what, int seconds, Condition condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("waited " + seconds + " s for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
        }
    }
}
