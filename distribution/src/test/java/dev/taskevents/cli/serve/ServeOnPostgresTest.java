package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.engine.TaskEventEngine;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * serve on a real PostgreSQL store, in process, over real HTTP (the other serve tests run on the
 * memory store, which keeps any text). PostgreSQL refuses NUL in text columns and fails the
 * whole statement, so a NUL that got past validation would fail every event committed with it.
 * The oracle is the database itself, read over plain JDBC.
 */
class ServeOnPostgresTest {
    private String base;
    private String schema;
    private TaskEventEngine engine;
    private EventServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    /** The PostgreSQL store, its writes held until the test lets them go. */
    private HeldStore store;

    @BeforeEach
    void openSchema() throws Exception {
        base = System.getenv("TASKEVENTS_TEST_POSTGRES_URL");
        if (base == null) {
            if ("true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_DATABASES"))) {
                throw new IllegalStateException("TASKEVENTS_TEST_POSTGRES_URL is required");
            }
            Assumptions.abort("set TASKEVENTS_TEST_POSTGRES_URL to run serve on PostgreSQL");
        }
        schema = "serve_pg_" + Long.toHexString(System.nanoTime()) + "_" + ProcessHandle.current().pid();
        try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + schema);
        }
        store = new HeldStore(Stores.open(base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema));
        store.hold = new CountDownLatch(1);
        engine = TaskEventEngine.builder().store(store).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .maxBodyBytes(1 << 20).ackTimeout(Duration.ofSeconds(10)).build());
        server.start();
    }

    @AfterEach
    void dropSchema() throws Exception {
        if (store != null) {
            store.hold.countDown();
        }
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
        }
        if (schema != null) {
            try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); // our own generated name
            }
        }
    }

    private CompletableFuture<HttpResponse<String>> post(String body) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort()
                + "/v1/events")).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String running(String id, long workflow, long task, String hostJson) {
        return """
                {"eventId":"%s","type":"RUNNING","workflowInstanceId":%d,"taskInstanceId":%d,
                 "eventTime":"2026-01-01T00:00:00Z","host":%s,"startTime":"2026-01-01T00:00:00Z"}"""
                .formatted(id, workflow, task, hostJson);
    }

    /** id -> "state host version", read from PostgreSQL directly. */
    private Map<Long, String> rows() throws Exception {
        Map<Long, String> rows = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT id, state, host, version FROM " + schema + ".task_instance")) {
            while (r.next()) {
                rows.put(r.getLong(1), r.getString(2) + " " + r.getString(3) + " " + r.getLong(4));
            }
        }
        return rows;
    }

    /**
     * A request holding a NUL-bearing event is refused whole with 400 naming the field, and the
     * events of other requests, queued for the same group commit while the store was held, are
     * applied and stored. A NUL that reached the engine would be written with them and fail them
     * all on PostgreSQL.
     */
    @Test
    void aNulInAnyTextFieldIs400AndTheOtherRequestsOfTheBatchAreStored() throws Exception {
        for (long task = 10; task <= 13; task++) {
            store.delegate.insert(List.of(TaskInstance.submitted(task, task - 9, "t" + task, Instant.EPOCH)));
        }
        // A's write is held in the store: what comes next queues for the next group commit.
        CompletableFuture<HttpResponse<String>> a = post(running("a", 1, 10, "\"w1\""));
        assertTrue(store.writeEntered.await(30, TimeUnit.SECONDS), "A's write never reached the store");
        CompletableFuture<HttpResponse<String>> b = post("[" + running("b-ok", 2, 11, "\"w2\"") + ","
                + running("b-nul", 3, 12, "\"w\\u0000x\"") + "]");
        CompletableFuture<HttpResponse<String>> c = post(running("c", 4, 13, "\"w4\""));
        // Both requests reach the engine before the store is let go: C's workflow is loaded, and B
        // is either refused at the edge (answered) or loaded too (then it would be in C's batch).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(store.loaded.contains(4L) && (b.isDone() || store.loaded.containsAll(Set.of(2L, 3L))))
                && System.nanoTime() < deadline) {
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
        store.hold.countDown();

        HttpResponse<String> refused = b.get(30, TimeUnit.SECONDS);
        assertEquals(400, refused.statusCode(), "a request with a NUL in a host: " + refused.body());
        assertTrue(refused.body().contains("event 1: host contains a NUL character (U+0000) at index 1"),
                refused.body());
        for (CompletableFuture<HttpResponse<String>> applied : List.of(a, c)) {
            HttpResponse<String> response = applied.get(30, TimeUnit.SECONDS);
            assertEquals(200, response.statusCode(), response.body());
            assertTrue(response.body().contains("\"outcome\":\"APPLIED\""), response.body());
        }
        assertEquals(Map.of(10L, "RUNNING w1 1", 11L, "SUBMITTED null 0", 12L, "SUBMITTED null 0",
                13L, "RUNNING w4 1"), rows(), "A and C stored; nothing of the refused request B");
    }

    /** Each text field of each kind of event: NUL is a 400 naming the field, and nothing is stored. */
    @Test
    void aNulInEachTextFieldIsRefusedNamingItAndLeavesTheRowAlone() throws Exception {
        store.hold.countDown();
        store.delegate.insert(List.of(TaskInstance.submitted(20, 5, "t20", Instant.EPOCH)));
        String running = "{\"eventId\":\"%s\",\"type\":\"RUNNING\",\"workflowInstanceId\":5,\"taskInstanceId\":20,"
                + "\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"%s\",\"startTime\":\"2026-01-01T00:00:00Z\","
                + "\"logPath\":\"%s\",\"executePath\":\"%s\",\"appIds\":\"%s\",\"varPool\":\"%s\"}";
        String result = "{\"eventId\":\"%s\",\"type\":\"RESULT\",\"state\":\"SUCCESS\",\"workflowInstanceId\":5,"
                + "\"taskInstanceId\":20,\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"%s\","
                + "\"endTime\":\"2026-01-01T00:00:00Z\",\"logPath\":\"%s\",\"executePath\":\"%s\",\"appIds\":\"%s\","
                + "\"varPool\":\"%s\"}";
        String[] fields = {"eventId", "host", "logPath", "executePath", "appIds", "varPool"};
        for (String template : List.of(running, result)) {
            for (int f = 0; f < fields.length; f++) {
                Object[] values = {"e", "w", "/log", "/exec", "app", "{}"};
                values[f] = values[f] + "\\u0000";
                HttpResponse<String> response = post(template.formatted(values)).get(30, TimeUnit.SECONDS);
                assertEquals(400, response.statusCode(), fields[f] + ": " + response.body());
                assertTrue(response.body().contains(fields[f] + " contains a NUL character (U+0000)"),
                        response.body());
            }
        }
        assertEquals(Map.of(20L, "SUBMITTED null 0"), rows());
        HttpResponse<String> clean = post(running.formatted("e", "w", "/log", "/exec", "app", "{}"))
                .get(30, TimeUnit.SECONDS);
        assertTrue(clean.body().contains("\"outcome\":\"APPLIED\""), clean.body());
        assertEquals(Map.of(20L, "RUNNING w 1"), rows(), "the same event without NUL is stored");
    }
}
