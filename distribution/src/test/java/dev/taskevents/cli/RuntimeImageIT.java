package dev.taskevents.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.testkit.TempDirs;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The built runtime image, run as a user runs it: {@code bin/taskevents} with PATH pointing
 * nowhere and no JAVA_HOME, so that only the image's own java can run it.
 */
class RuntimeImageIT {
    private static final Path IMAGE = Path.of(System.getProperty("taskevents.image", "target/taskevents"));

    record Run(int exit, String out, String err) {}

    private static ProcessBuilder command(Path dir, String... args) {
        List<String> command = new java.util.ArrayList<>();
        command.add(IMAGE.resolve("bin/taskevents").toAbsolutePath().toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile());
        builder.environment().clear();
        builder.environment().put("PATH", "/nonexistent");
        builder.environment().put("HOME", dir.toString());
        return builder;
    }

    private static Run run(Path dir, String... args) throws Exception {
        return collect(command(dir, args).start());
    }

    private static Run collect(Process process) throws Exception {
        // Both streams at once: a command that fills one pipe while the other is read first would
        // block on its write, and never end.
        var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return process.getErrorStream().readAllBytes();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }, runnable -> Thread.ofVirtual().start(runnable));
        var out = process.getInputStream().readAllBytes();
        assertTrue(process.waitFor(5, TimeUnit.MINUTES), "the command did not finish");
        return new Run(process.exitValue(), new String(out, StandardCharsets.UTF_8),
                new String(err.get(1, TimeUnit.MINUTES), StandardCharsets.UTF_8));
    }

    @Test
    void demoOnEmbeddedH2VerifiesEveryTask() throws Exception {
        Path dir = TempDirs.create("taskevents-demo-");
        Run run = run(dir, "demo", "--workflows", "200");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("on jdbc:h2:file:./taskevents-data/taskevents"), run.out());
        assertTrue(run.out().contains("200 of 200 finished"), run.out());
        assertTrue(run.out().contains("verification    OK: all "), run.out());
        assertTrue(Files.isDirectory(dir.resolve("taskevents-data")), "the H2 file lives under ./taskevents-data");
        // A second run on the same database: new ids, verified again.
        Run again = run(dir, "demo", "--workflows", "50");
        assertEquals(0, again.exit(), again.out() + again.err());
    }

    /**
     * The main job in cluster mode: three nodes on the demo's H2 file, one killed when 40% of the
     * workflows have finished; the others take its shards over, re-tell what it may not have told,
     * and every task still ends as its worker reported.
     */
    @Test
    void demoWithThreeNodesSurvivesAKilledNode() throws Exception {
        Path dir = TempDirs.create("taskevents-demo-nodes-");
        Run run = run(dir, "demo", "--nodes", "3", "--workflows", "300");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("300 of 300 finished"), run.out());
        java.util.regex.Matcher cluster = java.util.regex.Pattern.compile(
                "cluster {9}3 nodes, 256 shards; node-2 killed at \\d+% \\(it served (\\d+) shards\\)").matcher(run.out());
        assertTrue(cluster.find(), run.out());
        assertTrue(Integer.parseInt(cluster.group(1)) > 0, "the killed node served shards: " + run.out());
        assertTrue(run.out().matches("(?s).*failover \\d+\\.\\d\\d s \\(kill to the first ack by another node.*"), run.out());
        assertTrue(run.out().contains("verification    OK: all "), run.out());
    }

    /**
     * The main job on the service path: serve in the image's process, the simulation through the
     * client, the driver advanced only from the feed. Every change the engine applied (all but the
     * DISPATCHes, one per task) is read from the feed exactly once; a second run on the same
     * database starts at the feed's head and reads none of the first run's changes.
     */
    @Test
    void demoViaServeVerifiesEveryTaskAndReadsEachChangeOnceFromTheFeed() throws Exception {
        Path dir = TempDirs.create("taskevents-demo-via-");
        for (int workflows : new int[] {200, 50}) {
            Run run = run(dir, "demo", "--via-serve", "--workflows", String.valueOf(workflows));
            assertEquals(0, run.exit(), run.out() + run.err());
            assertTrue(run.out().contains(workflows + " of " + workflows + " finished"), run.out());
            assertTrue(run.out().contains("verification    OK: all "), run.out());
            java.util.regex.Matcher service = java.util.regex.Pattern.compile("service path {4}serve at"
                    + " http://127\\.0\\.0\\.1:\\d+ \\(in this process, bearer token\\), through the Java client\\R {18}"
                    + "the driver read ([\\d,]+) state events from the feed; the client resent [\\d,]+ events").matcher(run.out());
            assertTrue(service.find(), run.out());
            java.util.regex.Matcher applied = java.util.regex.Pattern.compile("applied ([\\d,]+)").matcher(run.out());
            java.util.regex.Matcher tasks = java.util.regex.Pattern.compile("OK: all ([\\d,]+) task instances")
                    .matcher(run.out());
            assertTrue(applied.find() && tasks.find(), run.out());
            assertEquals(number(applied.group(1)) - number(tasks.group(1)), number(service.group(1)),
                    "every applied change but the DISPATCHes, once: " + run.out());
        }
    }

    private static long number(String text) {
        return Long.parseLong(text.replace(",", ""));
    }

    @Test
    void demoViaServeIsOneNode() throws Exception {
        Run run = run(TempDirs.create("taskevents-demo-via-nodes-"), "demo", "--via-serve", "--nodes", "2");
        assertEquals(2, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("demo: --via-serve runs one serve and does not combine with --nodes 2"), run.err());
    }

    @Test
    void demoNodesNeedASharedStore() throws Exception {
        Run run = run(TempDirs.create("taskevents-demo-mem-"), "demo", "--nodes", "2", "--store", "memory:");
        assertEquals(2, run.exit(), run.out() + run.err());
        assertTrue(run.err().contains("demo: --nodes 2 needs a store the nodes share and that fences writes"), run.err());
    }

    @Test
    void demoOnPostgreSql() throws Exception {
        String base = System.getenv("TASKEVENTS_TEST_POSTGRES_URL");
        if (base == null) {
            if ("true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_DATABASES"))) {
                throw new IllegalStateException("TASKEVENTS_TEST_POSTGRES_URL is required");
            }
            Assumptions.abort("set TASKEVENTS_TEST_POSTGRES_URL to run the demo on PostgreSQL");
        }
        // Flyway creates the missing schema named by currentSchema.
        String schema = "te_demo_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        String url = base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
        Path dir = TempDirs.create("taskevents-demo-pg-");
        try {
            Run run = run(dir, "demo", "--store", url, "--workflows", "300");
            assertEquals(0, run.exit(), run.out() + run.err());
            assertTrue(run.out().contains("300 of 300 finished"), run.out());
            assertTrue(run.out().contains("verification    OK"), run.out());
            Run migrate = run(dir, "migrate", "--store", url);
            assertEquals(0, migrate.exit(), migrate.out() + migrate.err());
            assertTrue(migrate.out().contains("is at version 4"), migrate.out());
        } finally {
            try (java.sql.Connection c = java.sql.DriverManager.getConnection(base);
                 java.sql.Statement statement = c.createStatement()) {
                statement.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); // our own generated name
            }
        }
    }

    /**
     * jOOQ's logo, its tip of the day and its "Version mismatch" warning (its open-source edition
     * knows only the newest server releases) never reach an operator: not from {@code migrate},
     * {@code demo} or {@code serve}, on H2 always and on PostgreSQL and MariaDB when configured.
     */
    @Test
    void commandsPrintNoJooqBannerTipOrVersionWarning() throws Exception {
        Path dir = TempDirs.create("taskevents-quiet-");
        assertNoJooqChatter(dir, "jdbc:h2:file:" + dir.resolve("store").toAbsolutePath());
        String postgres = System.getenv("TASKEVENTS_TEST_POSTGRES_URL");
        if (postgres != null) {
            String schema = "te_quiet_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
            try {
                assertNoJooqChatter(dir, postgres + (postgres.contains("?") ? "&" : "?") + "currentSchema=" + schema);
            } finally {
                sql(postgres, "DROP SCHEMA IF EXISTS " + schema + " CASCADE"); // our own generated name
            }
        }
        String mariadb = System.getenv("TASKEVENTS_TEST_MARIADB_URL");
        if (mariadb != null) {
            String database = "te_quiet_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
            sql(mariadb, "CREATE DATABASE " + database);
            try {
                assertNoJooqChatter(dir, mariadb.replaceFirst("(//[^/]+/)[^?]*", "$1" + database));
            } finally {
                sql(mariadb, "DROP DATABASE IF EXISTS " + database);
            }
        }
    }

    private static void assertNoJooqChatter(Path dir, String url) throws Exception {
        Run migrate = run(dir, "migrate", "--store", url);
        assertEquals(0, migrate.exit(), migrate.out() + migrate.err());
        assertQuiet(url, migrate);
        Run demo = run(dir, "demo", "--store", url, "--workflows", "20");
        assertEquals(0, demo.exit(), demo.out() + demo.err());
        assertQuiet(url, demo);

        Process serve = command(dir, "serve", "--store", url, "--port", "0").redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(serve.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder startup = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null && !line.contains("listening on")) {
            startup.append(line).append('\n');
        }
        serve.toHandle().destroy(); // SIGTERM at once after the listening line: it drains and exits 0 all the same
        assertTrue(serve.waitFor(60, TimeUnit.SECONDS));
        String rest = readRest(out);
        assertEquals(0, serve.exitValue(), startup + rest);
        assertQuiet(url, new Run(0, startup + rest, ""));
    }

    private static void assertQuiet(String url, Run run) {
        String all = run.out() + run.err();
        for (String chatter : List.of("jOOQ", "Version mismatch", "tip of the day", "Thank you for using")) {
            assertFalse(all.contains(chatter), "on " + url + ": " + chatter + " in\n" + all);
        }
    }

    private static void sql(String url, String statement) throws java.sql.SQLException {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url);
             java.sql.Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }

    /**
     * A host links only the driver of the database it uses: the command runs from a module path
     * that holds one database's driver and Flyway module, and a store of another kind is refused
     * in one line that names the artifact to add.
     */
    @Test
    void aHostNeedsOnlyTheDriverOfItsDatabase() throws Exception {
        Path dir = TempDirs.create("taskevents-drivers-");
        List<String> others = List.of("postgresql-", "flyway-database-postgresql-", "flyway-database-cockroachdb-",
                "mariadb-java-client-", "mysql-connector-j-", "protobuf-java-", "flyway-mysql-", "h2-");
        Path h2Only = modulePath(dir.resolve("h2-only"), others, "h2-");
        Run migrated = runOn(h2Only, dir, "migrate", "--store", "jdbc:h2:file:" + dir.resolve("store").toAbsolutePath());
        assertEquals(0, migrated.exit(), migrated.out() + migrated.err());
        assertTrue(migrated.out().contains("is at version 4"), migrated.out());

        Run noDriver = runOn(h2Only, dir, "migrate", "--store", "jdbc:postgresql://127.0.0.1:1/x?user=u");
        assertEquals(1, noDriver.exit(), noDriver.out() + noDriver.err());
        assertEquals("taskevents: no JDBC driver for jdbc:postgresql: URLs: add org.postgresql:postgresql"
                + " (module org.postgresql.jdbc) to the module path", noDriver.err().strip());
        Run noMariaDb = runOn(h2Only, dir, "migrate", "--store", "jdbc:mariadb://127.0.0.1:1/x");
        assertTrue(noMariaDb.err().contains("add org.mariadb.jdbc:mariadb-java-client"), noMariaDb.err());

        Path driverWithoutFlyway = modulePath(dir.resolve("pg-driver-only"), others, "postgresql-");
        Run noFlyway = runOn(driverWithoutFlyway, dir, "migrate", "--store", "jdbc:postgresql://127.0.0.1:1/x?user=u");
        assertEquals(1, noFlyway.exit(), noFlyway.out() + noFlyway.err());
        assertTrue(noFlyway.err().strip().endsWith("add org.flywaydb:flyway-database-postgresql to the module path"),
                noFlyway.err());

        String postgres = System.getenv("TASKEVENTS_TEST_POSTGRES_URL");
        if (postgres != null) {
            Path postgresOnly = modulePath(dir.resolve("pg-only"), others, "postgresql-",
                    "flyway-database-postgresql-", "flyway-database-cockroachdb-");
            String schema = "te_drivers_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
            try {
                Run demo = runOn(postgresOnly, dir, "demo", "--store",
                        postgres + (postgres.contains("?") ? "&" : "?") + "currentSchema=" + schema, "--workflows", "20");
                assertEquals(0, demo.exit(), demo.out() + demo.err());
                assertTrue(demo.out().contains("verification    OK"), demo.out());
            } finally {
                sql(postgres, "DROP SCHEMA IF EXISTS " + schema + " CASCADE"); // our own generated name
            }
        }
    }

    /** The image's app/ jars into {@code into}, without those starting with one of {@code drop} unless kept. */
    private static Path modulePath(Path into, List<String> drop, String... keep) throws IOException {
        Files.createDirectories(into);
        try (var jars = Files.list(IMAGE.resolve("app"))) {
            for (Path jar : jars.toList()) {
                String name = jar.getFileName().toString();
                boolean kept = java.util.Arrays.stream(keep).anyMatch(name::startsWith);
                if (kept || drop.stream().noneMatch(name::startsWith)) {
                    Files.copy(jar, into.resolve(name));
                }
            }
        }
        return into;
    }

    private static Run runOn(Path modulePath, Path dir, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(IMAGE.resolve("bin/java").toAbsolutePath().toString(),
                "--module-path", modulePath.toString(), "-m", "dev.taskevents.cli/dev.taskevents.cli.Main"));
        command.addAll(List.of(args));
        return collect(new ProcessBuilder(command).directory(dir.toFile()).start());
    }

    @Test
    void errorsAreOneLineWithoutAStackTrace() throws Exception {
        Path dir = TempDirs.create("taskevents-errors-");
        Run unreachable = run(dir, "demo", "--store", "jdbc:postgresql://127.0.0.1:1/x?user=u");
        assertEquals(1, unreachable.exit());
        assertTrue(unreachable.err().startsWith("taskevents: cannot connect to jdbc:postgresql://127.0.0.1:1/x"),
                unreachable.err());
        assertEquals(1, unreachable.err().strip().lines().count(), unreachable.err());
        assertFalse(unreachable.err().contains("\tat "), unreachable.err());

        Run unknown = run(dir, "launch");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().startsWith("taskevents unknown command \"launch\""), unknown.err());

        Run badOption = run(dir, "demo", "--workflows", "many");
        assertEquals(2, badOption.exit());
        assertTrue(badOption.err().contains("--workflows must be a whole number, was \"many\""), badOption.err());

        Run badUrl = run(dir, "demo", "--store", "cassandra://x");
        assertEquals(1, badUrl.exit());
        assertTrue(badUrl.err().contains("no storage provider serves the URL \"cassandra://x\""), badUrl.err());

        Run noStore = run(dir, "serve", "--port", "0");
        assertEquals(2, noStore.exit(), noStore.out() + noStore.err());
        assertTrue(noStore.err().startsWith("taskevents serve: --store URL is required"), noStore.err());
        assertEquals(1, noStore.err().strip().lines().count(), noStore.err());

        Run openToAll = run(dir, "serve", "--store", "memory:", "--bind", "0.0.0.0", "--port", "0");
        assertEquals(1, openToAll.exit(), openToAll.out() + openToAll.err());
        assertTrue(openToAll.err().startsWith("taskevents: refusing to listen on 0.0.0.0 without authentication"),
                openToAll.err());

        for (String command : List.of("demo", "serve", "migrate")) {
            Run help = run(dir, command, "--help");
            assertEquals(0, help.exit());
            assertTrue(help.out().startsWith("Usage: taskevents " + command), help.out());
        }
        Run version = run(dir, "--version");
        assertEquals(0, version.exit(), version.err());
        assertTrue(version.out().strip().matches("taskevents \\d+\\.\\d+\\.\\d+\\S*"), version.out());
    }

    @Test
    void serveAnswersOverHttpAndSigtermDrainsThenExitsZero() throws Exception {
        Path dir = TempDirs.create("taskevents-serve-");
        Process process = command(dir, "serve", "--store", "memory:", "--port", "0").redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        String first = out.readLine();
        Matcher m = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+) ").matcher(first == null ? "" : first);
        assertTrue(m.find(), "startup line: " + first);
        String base = "http://127.0.0.1:" + m.group(1);
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/task-instances"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":5,\"workflowInstanceId\":1,\"name\":\"t\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, created.statusCode(), created.body());
        HttpResponse<String> acked = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/events"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"eventId\":\"d5\",\"type\":\"DISPATCH\","
                        + "\"workflowInstanceId\":1,\"taskInstanceId\":5,\"eventTime\":\"2026-01-01T00:00:00Z\","
                        + "\"host\":\"w1\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, acked.statusCode(), acked.body());
        assertTrue(acked.body().contains("\"outcome\":\"APPLIED\""), acked.body());
        process.toHandle().destroy(); // SIGTERM (Process.destroy would also close our end of its output)
        assertTrue(process.waitFor(60, TimeUnit.SECONDS));
        String rest = readRest(out);
        assertEquals(0, process.exitValue(), rest);
        assertTrue(rest.contains("stopped cleanly"), rest);
    }

    @Test
    void aPortInUseIsOneClearLine() throws Exception {
        try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Run run = run(TempDirs.create("taskevents-port-"), "serve", "--store", "memory:", "--port",
                    String.valueOf(socket.getLocalPort()));
            assertEquals(1, run.exit(), run.out() + run.err());
            assertTrue(run.err().startsWith("taskevents: cannot listen on 127.0.0.1:" + socket.getLocalPort()), run.err());
            assertFalse(run.err().contains("\tat "), run.err());
        }
    }

    private static String readRest(BufferedReader reader) throws IOException {
        StringBuilder text = new StringBuilder();
        String line;
        while ((line = reader.readLine()) != null) {
            text.append(line).append('\n');
        }
        return text.toString();
    }
}
