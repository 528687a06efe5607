package dev.taskevents.cli;

import static dev.taskevents.cli.ClusterWorkload.TASKS;
import static dev.taskevents.cli.ClusterWorkload.awaitCondition;
import static dev.taskevents.cli.ClusterWorkload.awaitShardsShared;
import static dev.taskevents.cli.ClusterWorkload.checkRowsAndAudit;
import static dev.taskevents.cli.ClusterWorkload.checkToldAtLeastOnce;
import static dev.taskevents.cli.ClusterWorkload.installAudit;
import static dev.taskevents.cli.ClusterWorkload.migrate;
import static dev.taskevents.cli.ClusterWorkload.takeovers;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.cli.ClusterWorkload.Node;
import dev.taskevents.cli.ClusterWorkload.Workers;
import dev.taskevents.testkit.TcpProxy;
import dev.taskevents.testkit.TempDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode under chaos: three {@code serve --cluster} processes of the runtime image on one
 * database, each through its own {@link TcpProxy}, and workers that resend until acknowledged and
 * follow 421 and MOVED to the owner. While they work, rounds of faults run, each fault triggered
 * by progress (the share of events acknowledged), never by a clock. In each round, on the three
 * oldest live nodes A, B and C:
 * <ol>
 *   <li>kill -9 node A;
 *   <li>SIGSTOP node B until, by the database's clock, its lease has expired and none of its
 *       shards is still its own; then SIGCONT: it must find itself fenced and write nothing;
 *   <li>cut every database connection of node C and refuse new ones for a lease;
 *   <li>start a new node and wait until it holds shards;
 *   <li>SIGTERM node C (a graceful leave: it drains and releases its shards);
 *   <li>start another new node, so that the next round strikes B, and the two new ones.
 * </ol>
 * Then every node left is stopped gracefully and {@link ClusterWorkload}'s oracles are checked:
 * the epoch audit, the rows, every told change in a state log, no acknowledged event lost.
 * Sizes: {@code -Dtaskevents.chaos.workflows} (CI: 60) of 4 tasks, 3 events each, and
 * {@code -Dtaskevents.chaos.rounds} (CI: 2).
 */
class ClusterChaosIT {
    private static final int LEASE_MS = 3_000;
    private static final int RENEW_MS = 500;
    private static final Pattern HOST_PORT = Pattern.compile("//([^/:?]+):(\\d+)");

    @Test
    void postgresql() throws Exception {
        String base = baseUrl("TASKEVENTS_TEST_POSTGRES_URL", "PostgreSQL");
        String schema = "te_chaos_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + schema);
        }
        try {
            run(new Database(base, port -> withPort(base, port) + (base.contains("?") ? "&" : "?")
                    + "currentSchema=" + schema, true));
        } finally {
            try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            }
        }
    }

    @Test
    void mariadb() throws Exception {
        String base = baseUrl("TASKEVENTS_TEST_MARIADB_URL", "MariaDB");
        String database = "te_chaos_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + database);
        }
        try {
            run(new Database(base, port -> withPort(base, port).replaceFirst("(//[^/]+/)[^?]*", "$1" + database),
                    false));
        } finally {
            try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + database);
            }
        }
    }

    /** The database under test: how to reach it directly, or through a proxy on {@code port}. */
    private record Database(String base, java.util.function.IntFunction<String> viaPort, boolean postgres) {
        String direct() {
            Matcher m = HOST_PORT.matcher(base);
            assertTrue(m.find(), "no host:port in " + base);
            return viaPort.apply(Integer.parseInt(m.group(2)));
        }

        String host() {
            Matcher m = HOST_PORT.matcher(base);
            assertTrue(m.find());
            return m.group(1);
        }

        int port() {
            Matcher m = HOST_PORT.matcher(base);
            assertTrue(m.find());
            return Integer.parseInt(m.group(2));
        }
    }

    private static String withPort(String url, int port) {
        return HOST_PORT.matcher(url).replaceFirst("//$1:" + port);
    }

    private static String baseUrl(String variable, String name) {
        String base = System.getenv(variable);
        if (base == null) {
            if ("true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_DATABASES"))) {
                throw new IllegalStateException(variable + " is required");
            }
            Assumptions.abort("set " + variable + " to run the cluster chaos test on " + name);
        }
        return base;
    }

    // --- the run ---

    private void run(Database db) throws Exception {
        int workflows = Integer.getInteger("taskevents.chaos.workflows", 60);
        int rounds = Integer.getInteger("taskevents.chaos.rounds", 2);
        Path dir = TempDirs.create("taskevents-chaos-");
        migrate(db.direct(), dir);
        installAudit(db.direct(), db.postgres(), workflows);

        List<Node> nodes = new CopyOnWriteArrayList<>();
        List<String> started = new ArrayList<>();
        Map<String, String> problems = new ConcurrentHashMap<>();
        Workers workers = null;
        int cut = 0;
        try {
            for (int n = 0; n < 3; n++) {
                nodes.add(startNode(db, dir, started));
            }
            awaitShardsShared(nodes);

            int total = workflows * TASKS * 3;
            workers = new Workers(nodes, workflows, total, rounds);
            CountDownLatch done = workers.start();
            for (int round = 0; round < rounds; round++) {
                cut += faultRound(db, dir, nodes, started, workers, round);
            }
            workers.admitAll();

            assertTrue(done.await(5, TimeUnit.MINUTES), "the workers did not finish: " + workers.progress() + " of " + total);
            problems.putAll(workers.problems);
            for (Node n : List.copyOf(nodes)) {
                n.signal("TERM");
                assertTrue(n.process.waitFor(60, TimeUnit.SECONDS), n.name + " did not stop");
            }
            nodes.clear();

            // --- oracles ---
            assertEquals(Map.of(), problems, "answers the workers could not accept");
            checkRowsAndAudit(db.direct(), workflows, workers);
            checkToldAtLeastOnce(db.direct(), dir, started);
            System.out.printf("RELIABILITY cluster (%s): workflows=%d events=%d rounds=%d acks=%d resends=%d"
                    + " moved-followed=%d connections-cut=%d failover-kill-to-first-ack=%s takeovers=%d%n",
                    db.postgres() ? "postgresql" : "mariadb", workflows, total, rounds, workers.progress(),
                    workers.resends.get(), workers.movedFollowed.get(), cut, workers.failoverMillis(), takeovers(db.direct()));
            assertTrue(workers.failoverMillis().stream().allMatch(millis -> millis >= 0),
                    "after a kill, an ack came for the killed node's workflows from another node: "
                            + workers.failoverMillis());
        } finally {
            if (workers != null) {
                workers.admitAll();
            }
            for (Node n : nodes) {
                n.process.destroyForcibly();
            }
            for (Node n : nodes) {
                n.process.waitFor(30, TimeUnit.SECONDS);
                n.closeProxy();
            }
        }
    }

    private Node startNode(Database db, Path dir, List<String> started) throws Exception {
        String name = "n" + (started.size() + 1);
        started.add(name);
        TcpProxy proxy = new TcpProxy(db.host(), db.port());
        return new Node(name, db.viaPort().apply(proxy.port()), proxy, dir, LEASE_MS, RENEW_MS);
    }

    /**
     * One round of faults, each triggered when the acknowledged share of the round's slice of the
     * events reaches its mark. The workers are held at most a tenth of a slice past the next mark
     * until its fault is in place, so every fault meets events in flight. The three oldest live
     * nodes are the victims, so each round strikes other nodes; the round ends with three nodes
     * live again. Returns the number of database connections cut.
     */
    private int faultRound(Database db, Path dir, List<Node> nodes, List<String> started, Workers workers, int round)
            throws Exception {
        List<Node> live = List.copyOf(nodes);
        assertEquals(3, live.size(), "three nodes live at the start of round " + round);
        Node killed = live.get(0);
        Node stopped = live.get(1);
        Node cutOff = live.get(2);

        // kill -9.
        workers.awaitMark(round, 20);
        awaitCondition(killed.name + " to hold shards", 60, () -> !killed.ownedActive().isEmpty());
        Set<Integer> shardsOfKilled = killed.ownedActive().keySet();
        workers.failoverFrom(killed.address(), shardsOfKilled, System.nanoTime());
        killed.process.destroyForcibly();
        killed.process.waitFor();
        nodes.remove(killed);
        killed.closeProxy();

        // SIGSTOP past the lease, by the database's clock, until none of its shards is its own.
        workers.awaitMark(round, 35);
        awaitCondition(stopped.name + " to hold shards", 60, () -> !stopped.ownedActive().isEmpty());
        Map<Integer, Long> shardsOfStopped = stopped.ownedActive();
        long lostBefore = stopped.cluster().get("counters").get("shardsLost").asLong();
        stopped.signal("STOP");
        nodes.remove(stopped);
        try {
            awaitCondition(stopped.name + "'s lease to expire and its shards to move", 60,
                    () -> leaseExpiredAndShardsMoved(db, stopped.nodeId));
        } finally {
            stopped.signal("CONT");
            nodes.add(stopped); // running again, and stopped at the end whatever fails from here
        }
        // Its own view: every tenure it held before the stop ended as lost (/v1/cluster shows a
        // tenure's state only at the epoch the database records, so the counters are the witness).
        awaitCondition(stopped.name + " to count the shards it lost while stopped", 30,
                () -> stopped.cluster().get("counters").get("shardsLost").asLong() - lostBefore >= shardsOfStopped.size());

        // Every database connection cut, and new ones refused, for a lease.
        workers.awaitMark(round, 50);
        cutOff.proxy.setDown(true);
        int cut = cutOff.proxy.connectionsCut();
        assertTrue(cut > 0, cutOff.name + " had database connections to cut");
        awaitDatabaseTime(db, LEASE_MS + RENEW_MS);
        cutOff.proxy.setDown(false);

        // A node joins and gets shards.
        workers.awaitMark(round, 65);
        Node joined = startNode(db, dir, started);
        nodes.add(joined);
        awaitCondition(joined.name + " to hold shards", 60, () -> !joined.ownedActive().isEmpty());

        // A graceful leave: it drains and releases its shards.
        workers.awaitMark(round, 80);
        cutOff.signal("TERM");
        assertTrue(cutOff.process.waitFor(60, TimeUnit.SECONDS), cutOff.name + " did not stop after SIGTERM");
        assertEquals(0, cutOff.process.exitValue(),
                cutOff.name + " drained and stopped cleanly: " + Files.readString(dir.resolve(cutOff.name + ".out")));
        nodes.remove(cutOff); // only once it has stopped: until then the cleanup must still stop it
        cutOff.closeProxy();

        // Back to three nodes for the next round.
        workers.awaitMark(round, 90);
        Node replacement = startNode(db, dir, started);
        nodes.add(replacement);
        awaitCondition(replacement.name + " to hold shards", 60, () -> !replacement.ownedActive().isEmpty());
        return cut;
    }

    private static boolean leaseExpiredAndShardsMoved(Database db, String nodeId) throws Exception {
        String now = db.postgres() ? "now()" : "utc_timestamp(6)";
        try (Connection c = DriverManager.getConnection(db.direct());
             PreparedStatement p = c.prepareStatement("select (select count(*) from cluster_node where node_id = ?"
                     + " and lease_expires_at > " + now + "), (select count(*) from cluster_shard where owner_node = ?)")) {
            p.setString(1, nodeId);
            p.setString(2, nodeId);
            try (ResultSet r = p.executeQuery()) {
                r.next();
                return r.getLong(1) == 0 && r.getLong(2) == 0;
            }
        }
    }

    /** Waits until the database's clock has moved on by {@code millis}. */
    private static void awaitDatabaseTime(Database db, long millis) throws Exception {
        String now = db.postgres() ? "select extract(epoch from clock_timestamp()) * 1000"
                : "select unix_timestamp(now(6)) * 1000";
        double start = dbMillis(db, now);
        awaitCondition("the database clock to pass " + millis + " ms", 60, () -> dbMillis(db, now) - start >= millis);
    }

    private static double dbMillis(Database db, String query) throws Exception {
        try (Connection c = DriverManager.getConnection(db.direct()); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(query)) {
            r.next();
            return r.getDouble(1);
        }
    }
}
