package dev.taskevents.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.testkit.LoopbackPorts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Assumptions;

/**
 * A PostgreSQL primary and a streaming standby on this machine, made with the installed server
 * binaries on two free loopback ports and a temporary directory, for failover tests. It never
 * touches another server: its data, sockets and logs are under its own directory, which
 * {@link #close} stops and deletes.
 *
 * <p>The binaries come from {@code TASKEVENTS_TEST_POSTGRES_BIN} (default
 * {@code /usr/lib/postgresql/15/bin}). The servers run as the {@code postgres} user (through
 * {@code runuser}) when the test runs as root, else as the test's own user. Where they cannot run,
 * a test using the pair is skipped with the reason, or fails if the database tests are required
 * ({@code TASKEVENTS_TEST_REQUIRE_DATABASES=true}).
 *
 * <p>Both servers run with {@code fsync = off}: a failover here kills processes, never the
 * machine, so what a server wrote is in the page cache either way, and the test runs faster.
 * {@code synchronous} pairs run with {@code synchronous_standby_names = '*'} and
 * {@code synchronous_commit = on}: a commit returns once the standby has flushed it.
 * A {@link #failover} promotes the standby and, like Patroni's default (non-strict) synchronous
 * mode, lets the new primary commit alone until {@link #rebuildStandby} has given it a standby
 * again, which is then synchronous again.
 */
final class PostgresPair implements AutoCloseable {
    private static final Path BIN = Path.of(System.getenv().getOrDefault("TASKEVENTS_TEST_POSTGRES_BIN",
            "/usr/lib/postgresql/15/bin"));

    private final Path base;
    private final boolean synchronous;
    private final boolean asRoot;
    private final Server[] servers = new Server[2];
    private int primary;
    private String cutOffConninfo;
    private final Thread cleanup = new Thread(this::closeQuietly, "postgres-pair-cleanup");

    /** One server of the pair: its data directory and port. */
    private record Server(Path data, int port, Path log) {
    }

    /** The time a {@link #failover} took: the kill and the promotion. */
    record Failover(long killedAtNanos, long deadAtNanos, long promotedAtNanos, int newPrimaryPort) {
        long promotionMillis() {
            return TimeUnit.NANOSECONDS.toMillis(promotedAtNanos - deadAtNanos);
        }
    }

    /** Skips the calling test, or fails it where the database tests are required, if no pair can run here. */
    static void assumeAvailable() {
        String missing = null;
        if (System.getenv("TASKEVENTS_TEST_POSTGRES_URL") == null
                && !"true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_DATABASES"))) {
            Assumptions.abort("the PostgreSQL tests are off: set TASKEVENTS_TEST_POSTGRES_URL to run the failover"
                    + " test (it makes its own servers with the PostgreSQL binaries)");
        }
        if (!Files.isExecutable(BIN.resolve("initdb")) || !Files.isExecutable(BIN.resolve("pg_basebackup"))) {
            missing = "no PostgreSQL server binaries in " + BIN + " (set TASKEVENTS_TEST_POSTGRES_BIN)";
        } else if ("root".equals(System.getProperty("user.name")) && !Files.isExecutable(Path.of("/usr/sbin/runuser"))
                && !Files.isExecutable(Path.of("/sbin/runuser"))) {
            missing = "running as root without runuser, so the servers cannot run as the postgres user";
        }
        if (missing != null) {
            if ("true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_DATABASES"))) {
                throw new IllegalStateException(missing);
            }
            Assumptions.abort(missing);
        }
    }

    private PostgresPair(Path base, boolean synchronous) {
        this.base = base;
        this.synchronous = synchronous;
        this.asRoot = "root".equals(System.getProperty("user.name"));
    }

    /** Makes and starts the pair; the primary is the first server. */
    static PostgresPair start(boolean synchronous) throws Exception {
        PostgresPair pair = new PostgresPair(Files.createTempDirectory("taskevents-pgpair-"), synchronous);
        try {
            pair.make();
            return pair;
        } catch (Exception | AssertionError e) {
            pair.close();
            throw e;
        }
    }

    /** A JVM that exits before {@link #close} (a killed test run) still stops the servers: pg_ctl detached them. */
    private void closeQuietly() {
        try {
            stopAndDelete();
        } catch (Exception e) {
            System.err.println("PostgresPair: could not clean up " + base + ": " + e);
        }
    }

    private void make() throws Exception {
        Runtime.getRuntime().addShutdownHook(cleanup);
        Files.createDirectories(base.resolve("sock"));
        if (asRoot) {
            run(120, "chown", "-R", "postgres", base.toString());
        }
        int portA = LoopbackPorts.next();
        int portB = LoopbackPorts.next();
        servers[0] = new Server(base.resolve("a"), portA, base.resolve("a.log"));
        servers[1] = new Server(base.resolve("b"), portB, base.resolve("b.log"));
        Server a = servers[0];
        asServerUser(120, BIN.resolve("initdb").toString(), "-D", a.data().toString(), "-A", "trust", "-U", "postgres",
                "--no-sync");
        Files.writeString(a.data().resolve("postgresql.conf"), String.join("\n",
                "listen_addresses = '127.0.0.1'",
                "unix_socket_directories = '" + base.resolve("sock") + "'",
                "wal_level = replica",
                "max_wal_senders = 5",
                "max_connections = 100",
                "shared_buffers = 64MB",
                "fsync = off",
                "synchronous_commit = on",
                "synchronous_standby_names = '" + (synchronous ? "*" : "") + "'",
                "wal_sender_timeout = 5s",
                // A standby cut off for a while must find the WAL it missed when it comes back.
                "wal_keep_size = '256MB'",
                "wal_receiver_status_interval = 1s",
                ""), java.nio.file.StandardOpenOption.APPEND);
        startServer(a);
        primary = 0;
        makeStandby(servers[1]);
        awaitReplication(synchronous ? "sync" : "async");
    }

    /** The JDBC URL that reaches whichever server is the primary. */
    String url() {
        return "jdbc:postgresql://127.0.0.1:" + servers[0].port() + ",127.0.0.1:" + servers[1].port()
                + "/postgres?user=postgres&targetServerType=primary";
    }

    int primaryPort() {
        return servers[primary].port();
    }

    /**
     * SIGKILLs the primary's postmaster and every process it started (as a machine that died: no
     * process of it writes or sends anything after), waits until they are gone, and promotes the
     * standby. The new primary then commits alone until {@link #rebuildStandby}.
     */
    Failover failover() throws Exception {
        Server old = servers[primary];
        Server next = servers[1 - primary];
        ProcessHandle postmaster = postmaster(old).orElseThrow(() -> new AssertionError("the primary is not running"));
        // Stopped first, so that it starts no process between the listing of its children and the kill.
        run(10, "kill", "-STOP", String.valueOf(postmaster.pid()));
        long killedAt = System.nanoTime(); // a stopped postmaster accepts no connection and starts no backend
        List<ProcessHandle> processes = new ArrayList<>(postmaster.children().toList());
        processes.add(postmaster);
        processes.forEach(ProcessHandle::destroyForcibly);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (processes.stream().anyMatch(PostgresPair::running)) {
            assertTrue(System.nanoTime() < deadline, "the old primary's processes did not die");
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
        }
        long deadAt = System.nanoTime();
        asServerUser(120, BIN.resolve("pg_ctl").toString(), "-D", next.data().toString(), "-w", "-t", "60", "promote");
        long promotedAt = System.nanoTime();
        primary = 1 - primary;
        if (synchronous) {
            setSynchronousStandbys("");
        }
        return new Failover(killedAt, deadAt, promotedAt, next.port());
    }

    /**
     * Makes the old primary's server a standby of the new primary (its data replaced by a base
     * backup) and waits until it streams; a synchronous pair is synchronous again after.
     */
    void rebuildStandby() throws Exception {
        Server standby = servers[1 - primary];
        run(60, "rm", "-rf", standby.data().toString());
        makeStandby(standby);
        if (synchronous) {
            setSynchronousStandbys("*");
            awaitReplication("sync");
        }
    }

    /**
     * Cuts the standby off the primary ({@code primary_conninfo} emptied, so its WAL receiver stops
     * and does not come back) and waits until the primary streams to no one: the primary goes on
     * committing and the standby falls behind, as a lagging asynchronous replica does.
     * {@link #failover} then loses what the standby did not receive. (A stopped receiver would not
     * do: what the primary sent before its death waits in the standby's socket buffer and is read
     * after.)
     */
    void cutOffStandby() throws Exception {
        try (Connection c = connect(servers[1 - primary].port()); Statement s = c.createStatement()) {
            try (ResultSet r = s.executeQuery("show primary_conninfo")) {
                r.next();
                cutOffConninfo = r.getString(1);
            }
            s.execute("alter system set primary_conninfo = ''");
            s.execute("select pg_reload_conf()");
        }
        ClusterWorkload.awaitCondition("the primary to stream to no standby", 60, () -> {
            try (Connection c = connect(servers[primary].port()); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("select count(*) from pg_stat_replication")) {
                r.next();
                return r.getInt(1) == 0;
            }
        });
    }

    /**
     * Connects a standby {@link #cutOffStandby cut off} to the primary again and waits until it
     * streams (a synchronous pair: synchronously): commits that waited for it complete.
     */
    void reconnectStandby() throws Exception {
        try (Connection c = connect(servers[1 - primary].port()); Statement s = c.createStatement()) {
            s.execute("alter system set primary_conninfo = '" + cutOffConninfo.replace("'", "''") + "'");
            s.execute("select pg_reload_conf()");
        }
        awaitReplication(synchronous ? "sync" : "async");
    }

    /**
     * Sessions of the primary waiting for the synchronous standby to confirm the commit of a write
     * of task rows (a batch: it holds locks on {@code task_instance}; lease heartbeats do not).
     */
    int batchCommitsWaitingForTheStandby() throws Exception {
        try (Connection c = connect(servers[primary].port()); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("select count(*) from pg_stat_activity a where a.wait_event = 'SyncRep'"
                     + " and exists (select 1 from pg_locks l join pg_class t on t.oid = l.relation"
                     + " where l.pid = a.pid and t.relname = 'task_instance')")) {
            r.next();
            return r.getInt(1);
        }
    }

    private void makeStandby(Server standby) throws Exception {
        asServerUser(300, BIN.resolve("pg_basebackup").toString(), "-h", "127.0.0.1", "-p",
                String.valueOf(servers[primary].port()), "-U", "postgres", "-D", standby.data().toString(), "-R",
                "-X", "stream", "--no-sync");
        startServer(standby);
        awaitReplication(null);
    }

    private void startServer(Server server) throws Exception {
        asServerUser(120, BIN.resolve("pg_ctl").toString(), "-D", server.data().toString(), "-o",
                "-p " + server.port(), "-l", server.log().toString(), "-w", "-t", "60", "start");
    }

    private void setSynchronousStandbys(String names) throws Exception {
        try (Connection c = connect(servers[primary].port()); Statement s = c.createStatement()) {
            s.execute("alter system set synchronous_standby_names = '" + names + "'");
            s.execute("select pg_reload_conf()");
        }
    }

    /**
     * Waits until the primary streams to its standby, in {@code state} ({@code sync} or
     * {@code async}) unless that is null.
     */
    private void awaitReplication(String state) throws Exception {
        ClusterWorkload.awaitCondition("the standby to stream (" + state + ")", 120, () -> {
            try (Connection c = connect(servers[primary].port()); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("select count(*) from pg_stat_replication where state = 'streaming'"
                         + (state == null ? "" : " and sync_state = '" + state + "'"))) {
                r.next();
                return r.getInt(1) == 1;
            }
        });
    }

    /** Waits until the primary's clock has moved on by {@code millis}. */
    void awaitPrimaryClock(long millis) throws Exception {
        String now = "select extract(epoch from clock_timestamp()) * 1000";
        double start = primaryMillis(now);
        ClusterWorkload.awaitCondition("the primary's clock to pass " + millis + " ms", 60,
                () -> primaryMillis(now) - start >= millis);
    }

    private double primaryMillis(String query) throws Exception {
        try (Connection c = connect(servers[primary].port()); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(query)) {
            r.next();
            return r.getDouble(1);
        }
    }

    private static Connection connect(int port) throws Exception {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres");
    }

    private void asServerUser(int seconds, String... command) throws Exception {
        List<String> full = new ArrayList<>();
        if (asRoot) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(List.of(command));
        run(seconds, full.toArray(String[]::new));
    }

    private void run(int seconds, String... command) throws Exception {
        Path out = Files.createTempFile(base, "cmd", ".out");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish in " + seconds + " s: "
                    + Files.readString(out));
        }
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + Files.readString(out));
    }

    /** The servers' logs, for a failure message. */
    String logs() {
        StringBuilder logs = new StringBuilder();
        for (Server s : servers) {
            if (s != null && Files.exists(s.log())) {
                try {
                    String text = Files.readString(s.log());
                    logs.append("--- ").append(s.log()).append('\n')
                            .append(text, Math.max(0, text.length() - 4_000), text.length());
                } catch (IOException e) {
                    logs.append(e);
                }
            }
        }
        return logs.toString();
    }

    /**
     * The server's postmaster, if it runs: the pid in its {@code postmaster.pid}, only if that
     * process is a postmaster of this data directory (the file of a killed server stays, and its
     * pid may be another process's now, a backend of another server among them).
     */
    private static java.util.Optional<ProcessHandle> postmaster(Server server) throws IOException {
        Path pidFile = server.data().resolve("postmaster.pid");
        if (!Files.exists(pidFile)) {
            return java.util.Optional.empty();
        }
        long pid = Long.parseLong(Files.readAllLines(pidFile).getFirst().trim());
        String dataDir = server.data().toString();
        return ProcessHandle.of(pid).filter(p -> {
            try {
                String cmdline = Files.readString(Path.of("/proc", String.valueOf(pid), "cmdline"));
                return java.util.Arrays.asList(cmdline.split("\0")).contains(dataDir);
            } catch (IOException gone) {
                return false;
            }
        });
    }

    /** Alive and not a zombie (a killed process its new parent has not reaped yet is dead to us). */
    private static boolean running(ProcessHandle process) {
        if (!process.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(process.pid()), "stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException gone) {
            return false;
        }
    }

    /** Stops both servers at once (SIGKILL to each postmaster and its children) and deletes the directory. */
    @Override
    public void close() throws Exception {
        stopAndDelete();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup); // only once cleaned up: else it tries again at exit
        } catch (IllegalStateException | IllegalArgumentException exitingOrNeverAdded) {
            // the hook runs now, or was never added
        }
    }

    private void stopAndDelete() throws Exception {
        for (Server s : servers) {
            if (s == null) {
                continue;
            }
            java.util.Optional<ProcessHandle> postmaster = postmaster(s);
            if (postmaster.isPresent()) {
                List<ProcessHandle> processes = new ArrayList<>(postmaster.get().children().toList());
                processes.add(postmaster.get());
                processes.forEach(ProcessHandle::destroyForcibly);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (processes.stream().anyMatch(PostgresPair::running) && System.nanoTime() < deadline) {
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                }
            }
        }
        Process rm = new ProcessBuilder("rm", "-rf", base.toString()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(rm.waitFor(60, TimeUnit.SECONDS) && rm.exitValue() == 0, "could not delete " + base);
    }
}
