package dev.taskevents.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.testkit.LoopbackPorts;
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
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The runtime image's {@code serve} on PostgreSQL, killed and stopped the hard ways. Sizes:
 * {@code -Dtaskevents.reliability.workflows} (CI: 100) and {@code -Dtaskevents.reliability.kills}
 * (CI: 4).
 */
class ReliabilityIT {
    private static final Path IMAGE = Path.of(System.getProperty("taskevents.image", "target/taskevents"));
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private static String postgres() {
        String base = System.getenv("TASKEVENTS_TEST_POSTGRES_URL");
        if (base == null) {
            if ("true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_DATABASES"))) {
                throw new IllegalStateException("TASKEVENTS_TEST_POSTGRES_URL is required");
            }
            Assumptions.abort("set TASKEVENTS_TEST_POSTGRES_URL to run the reliability tests on PostgreSQL");
        }
        return base;
    }

    /** A serve process on a port of {@link LoopbackPorts} (restarted on the same one), started and waited for. */
    private static Process startServe(String url, int port, Path dir) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(IMAGE.resolve("bin/taskevents").toAbsolutePath().toString(),
                "serve", "--store", url, "--port", String.valueOf(port), "--drain-seconds", "20")
                .directory(dir.toFile()).redirectErrorStream(true);
        builder.environment().put("PATH", "/nonexistent");
        Process process = builder.start();
        CountDownLatch listening = new CountDownLatch(1);
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = out.readLine()) != null) {
                    if (line.contains("listening on")) {
                        listening.countDown();
                    }
                }
            } catch (IOException ignored) {
                // the process died
            }
        });
        assertTrue(listening.await(60, TimeUnit.SECONDS), "serve did not start");
        return process;
    }

    private static String schemaUrl(String base, String schema) {
        return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    private static void dropSchema(String base, String schema) throws Exception {
        try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); // our own generated name
        }
    }

    /** POSTs until a 2xx (or, for registration, 409: it was created before a crash); returns the body. */
    private String postUntilAccepted(URI uri, String body, AtomicLong retries, boolean conflictIsDone)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        while (true) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("no 2xx for " + uri + " within 5 minutes of resending");
            }
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() / 100 == 2 || (conflictIsDone && response.statusCode() == 409)) {
                    return response.body();
                }
                if (response.statusCode() / 100 == 4 && response.statusCode() != 409) {
                    throw new IllegalStateException("refused: " + response.statusCode() + " " + response.body());
                }
            } catch (IOException down) {
                // the server is being killed or restarted: resend, as a worker does
            }
            retries.incrementAndGet();
            Thread.sleep(50);
        }
    }

    /** A condition to poll; may throw. */
    private interface Condition {
        boolean holds() throws Exception;
    }

    /** Waits, up to 60 s, for a condition observed from outside serve (the database, the port). */
    private static void awaitCondition(String what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("waited 60 s for " + what);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
    }

    @Test
    void killedWithSigkillAndRestartedNothingAcknowledgedIsLost() throws Exception {
        String base = postgres();
        int workflows = Integer.getInteger("taskevents.reliability.workflows", 100);
        int kills = Integer.getInteger("taskevents.reliability.kills", 4);
        int tasks = 5;
        String schema = "te_crash_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        String url = schemaUrl(base, schema);
        Path dir = TempDirs.create("taskevents-crash-");
        int port = LoopbackPorts.next();
        URI events = URI.create("http://127.0.0.1:" + port + "/v1/events");
        URI register = URI.create("http://127.0.0.1:" + port + "/v1/task-instances");
        Process[] server = {startServe(url, port, dir)};
        AtomicBoolean clientsDone = new AtomicBoolean();
        AtomicInteger killed = new AtomicInteger();
        AtomicLong retries = new AtomicLong();
        AtomicLong acks = new AtomicLong();
        AtomicLong duplicates = new AtomicLong();
        try {
            Thread killer = Thread.ofPlatform().start(() -> {
                Random random = new Random(99);
                try {
                    while (!clientsDone.get() && killed.get() < kills) {
                        Thread.sleep(300 + random.nextInt(900)); // a random point in the run
                        if (clientsDone.get()) {
                            return;
                        }
                        server[0].toHandle().destroyForcibly(); // SIGKILL
                        server[0].waitFor();
                        killed.incrementAndGet();
                        server[0] = startServe(url, port, dir);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            List<Thread> clients = new ArrayList<>();
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            for (int c = 0; c < 4; c++) {
                int first = c + 1;
                clients.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int wf = first; wf <= workflows; wf += 4) {
                            StringBuilder rows = new StringBuilder("[");
                            for (int t = 0; t < tasks; t++) {
                                rows.append(t == 0 ? "" : ",").append("{\"id\":").append(wf * 10L + t)
                                        .append(",\"workflowInstanceId\":").append(wf).append(",\"name\":\"t\"}");
                            }
                            postUntilAccepted(register, rows.append("]").toString(), retries, true);
                            for (int t = 0; t < tasks; t++) {
                                long id = wf * 10L + t;
                                for (String event : List.of(
                                        "{\"eventId\":\"r" + id + "\",\"type\":\"RUNNING\",\"workflowInstanceId\":" + wf
                                                + ",\"taskInstanceId\":" + id + ",\"eventTime\":\"2026-01-01T00:00:00Z\","
                                                + "\"host\":\"w\",\"startTime\":\"2026-01-01T00:00:00Z\"}",
                                        "{\"eventId\":\"x" + id + "\",\"type\":\"RESULT\",\"state\":\"SUCCESS\","
                                                + "\"workflowInstanceId\":" + wf + ",\"taskInstanceId\":" + id
                                                + ",\"eventTime\":\"2026-01-01T00:00:01Z\","
                                                + "\"endTime\":\"2026-01-01T00:00:01Z\"}")) {
                                    String answer = postUntilAccepted(events, event, retries, false);
                                    acks.incrementAndGet();
                                    if (answer.contains("\"DUPLICATE\"")) {
                                        duplicates.incrementAndGet();
                                    } else if (!answer.contains("\"APPLIED\"")) {
                                        errors.add(new AssertionError("unexpected answer " + answer));
                                    }
                                }
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            for (Thread client : clients) {
                client.join(TimeUnit.MINUTES.toMillis(10));
            }
            clientsDone.set(true);
            killer.join();
            assertEquals(List.of(), List.copyOf(errors));

            int wrong = 0;
            int rows = 0;
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT id, state, finish_event_id, version FROM task_instance")) {
                while (r.next()) {
                    rows++;
                    if (!r.getString(2).equals("SUCCESS") || !("x" + r.getLong(1)).equals(r.getString(3))
                            || r.getLong(4) != 2) {
                        wrong++;
                    }
                }
            }
            System.out.printf("RELIABILITY crash: workflows=%d events=%d kills=%d acks=%d resends=%d"
                    + " duplicates-absorbed=%d lost=%d%n", workflows, workflows * tasks * 2, killed.get(), acks.get(),
                    retries.get(), duplicates.get(), wrong + (workflows * tasks - rows));
            assertEquals(workflows * tasks, rows, "every registered task is in the database");
            assertEquals(0, wrong, "every acknowledged event is in the database, applied exactly once");
            assertTrue(killed.get() > 0, "the server must actually have been killed");
        } finally {
            server[0].toHandle().destroy();
            server[0].waitFor(30, TimeUnit.SECONDS);
            dropSchema(base, schema);
        }
    }

    @Test
    void sigtermUnderLoadDrainsWhatWasAcceptedAndAcknowledgesNothingElse() throws Exception {
        String base = postgres();
        String schema = "te_term_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        String url = schemaUrl(base, schema);
        Path dir = TempDirs.create("taskevents-term-");
        int port = LoopbackPorts.next();
        int tasks = 4_000;
        int held = 8; // tasks tasks+1..tasks+held: their write is held by a row lock across the signal
        Process server = startServe(url, port, dir);
        try {
            StringBuilder rows = new StringBuilder("[");
            for (int id = 1; id <= tasks + held; id++) {
                rows.append(id == 1 ? "" : ",").append("{\"id\":").append(id).append(",\"workflowInstanceId\":")
                        .append(id).append(",\"name\":\"t\"}");
            }
            HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/v1/task-instances")).POST(HttpRequest.BodyPublishers.ofString(rows.append("]").toString()))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, created.statusCode(), created.body());

            // The client's ledger: each request's answer, and whether it was sent before the signal
            // and answered after it (in flight at SIGTERM), kept apart from refusals and from
            // requests that found the server gone.
            ConcurrentLinkedQueue<Long> acknowledged = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<Long> refusedNotAccepted = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
            java.util.Map<String, AtomicLong> counts = new java.util.concurrent.ConcurrentHashMap<>();
            java.util.concurrent.atomic.AtomicBoolean signalSent = new java.util.concurrent.atomic.AtomicBoolean();
            CountDownLatch loadBuilt = new CountDownLatch(300);
            AtomicInteger next = new AtomicInteger(1);
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 16; c++) {
                clients.add(Thread.ofVirtual().start(() -> {
                    int id;
                    while ((id = next.getAndIncrement()) <= tasks) {
                        boolean sentBefore = !signalSent.get();
                        String answer;
                        try {
                            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(
                                    "http://127.0.0.1:" + port + "/v1/events")).timeout(Duration.ofSeconds(60))
                                    .POST(HttpRequest.BodyPublishers.ofString("{\"eventId\":\"d" + id + "\","
                                            + "\"type\":\"DISPATCH\",\"workflowInstanceId\":" + id + ",\"taskInstanceId\":"
                                            + id + ",\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"w\"}")).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            if (response.statusCode() == 200 && response.body().contains("\"APPLIED\"")) {
                                acknowledged.add((long) id);
                                loadBuilt.countDown();
                                answer = "applied";
                            } else if (response.statusCode() == 503) {
                                if (response.body().contains("not accepted")) {
                                    refusedNotAccepted.add((long) id);
                                }
                                answer = "503";
                            } else {
                                unexpected.add(id + ": " + response.statusCode() + " " + response.body());
                                answer = "unexpected";
                            }
                        } catch (IOException e) {
                            answer = "no-answer"; // the server closed the connection or was gone
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return;
                        }
                        boolean answeredBefore = !signalSent.get();
                        String when = !sentBefore ? "after-signal" : answeredBefore ? "before-signal" : "in-flight";
                        counts.computeIfAbsent(when + "/" + answer, k -> new AtomicLong()).incrementAndGet();
                    }
                }));
            }
            assertTrue(loadBuilt.await(120, TimeUnit.SECONDS), "300 events were not acknowledged within 120 s");
            // One request certainly in flight at the signal: its rows are locked by the test, so its
            // batch write waits in PostgreSQL (seen there) until the test lets go, which it does only
            // once serve has stopped listening (seen from outside: a connect is refused).
            Connection lock = DriverManager.getConnection(url);
            CompletableFuture<HttpResponse<String>> inFlight;
            long signalled;
            try {
                lock.setAutoCommit(false);
                long lockPid;
                try (Statement s = lock.createStatement()) {
                    s.executeQuery("SELECT id FROM task_instance WHERE id > " + tasks + " FOR UPDATE").close();
                    try (ResultSet r = s.executeQuery("SELECT pg_backend_pid()")) {
                        r.next();
                        lockPid = r.getLong(1);
                    }
                }
                StringBuilder events = new StringBuilder("[");
                for (int id = tasks + 1; id <= tasks + held; id++) {
                    events.append(id == tasks + 1 ? "" : ",").append("{\"eventId\":\"d").append(id)
                            .append("\",\"type\":\"DISPATCH\",\"workflowInstanceId\":").append(id)
                            .append(",\"taskInstanceId\":").append(id)
                            .append(",\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"held\"}");
                }
                inFlight = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
                        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(
                                events.append("]").toString())).build(), HttpResponse.BodyHandlers.ofString());
                awaitCondition("serve's write of the held rows waiting for the test's lock", () -> {
                    try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement();
                         ResultSet r = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE "
                                 + lockPid + " = ANY(pg_blocking_pids(pid))")) {
                        return r.next() && r.getLong(1) > 0;
                    }
                });
                signalSent.set(true);
                signalled = System.nanoTime();
                server.toHandle().destroy(); // SIGTERM
                awaitCondition("serve to stop listening after SIGTERM", () -> {
                    try (java.net.Socket probe = new java.net.Socket("127.0.0.1", port)) {
                        return false;
                    } catch (java.net.ConnectException refused) {
                        return true;
                    }
                });
            } finally {
                lock.rollback();
                lock.close();
            }
            HttpResponse<String> drained;
            try {
                drained = inFlight.get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException cut) {
                throw new AssertionError("the request in flight at SIGTERM got no answer: serve did not drain it", cut);
            }
            assertEquals(200, drained.statusCode(), "the request in flight at SIGTERM: " + drained.body());
            for (int id = tasks + 1; id <= tasks + held; id++) {
                assertTrue(drained.body().contains("{\"eventId\":\"d" + id + "\",\"outcome\":\"APPLIED\""),
                        "the request in flight at SIGTERM, event d" + id + ": " + drained.body());
                acknowledged.add((long) id);
            }
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "serve did not stop within its drain deadline");
            double stopSeconds = (System.nanoTime() - signalled) / 1e9;
            for (Thread client : clients) {
                client.join(TimeUnit.SECONDS.toMillis(120)); // each request has a 60 s timeout
                assertFalse(client.isAlive(), "a client is still sending 120 s after serve stopped");
            }
            int missing = 0;
            List<Long> refusedButApplied = new ArrayList<>();
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                java.util.Set<Long> dispatched = new java.util.HashSet<>();
                try (ResultSet r = s.executeQuery("SELECT id FROM task_instance WHERE state = 'DISPATCHED'")) {
                    while (r.next()) {
                        dispatched.add(r.getLong(1));
                    }
                }
                for (Long id : acknowledged) {
                    if (!dispatched.contains(id)) {
                        missing++;
                    }
                }
                for (Long id : refusedNotAccepted) {
                    if (dispatched.contains(id)) {
                        refusedButApplied.add(id);
                    }
                }
            }
            System.out.printf("RELIABILITY sigterm: acknowledged=%d (%d held across the signal) answers-by-time=%s exit=%d stopped-in=%.2fs"
                    + " acknowledged-but-missing=%d%n", acknowledged.size(), held, new java.util.TreeMap<>(counts),
                    server.exitValue(), stopSeconds, missing);
            assertEquals(List.of(), List.copyOf(unexpected), "answers other than APPLIED or 503");
            assertEquals(List.of(), refusedButApplied, "answered 503 'not accepted', yet applied");
            assertEquals(0, server.exitValue(), "accepted events drained: exit 0");
            assertEquals(0, missing, "an acknowledged event must be in the database");
        } finally {
            server.toHandle().destroyForcibly();
            dropSchema(base, schema);
        }
    }
}
