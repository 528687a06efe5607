package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskState;
import dev.taskevents.engine.TaskEventEngine;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** serve over real HTTP on a loopback port, with the JDK's HttpClient. */
class EventServerTest {
    private final HeldStore store = new HeldStore();
    private TaskEventEngine engine;
    private EventServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    private void start(int maxQueued, int maxBodyBytes) throws Exception {
        engine = TaskEventEngine.builder().store(store).maxQueued(maxQueued).submitTimeout(Duration.ofMillis(50))
                .build();
        server = new EventServer(engine, store, ServerSettings.local(0, maxBodyBytes));
        server.start();
    }

    @AfterEach
    void stop() {
        store.hold.countDown();
        server.stop(Duration.ZERO);
        engine.close();
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Sends {@code event} and returns once its write is inside the store and held there. */
    private CompletableFuture<HttpResponse<String>> eventRequestHeldInTheStore(String event) throws Exception {
        store.hold = new java.util.concurrent.CountDownLatch(1);
        CompletableFuture<HttpResponse<String>> response = http.sendAsync(HttpRequest.newBuilder(uri("/v1/events"))
                .POST(HttpRequest.BodyPublishers.ofString(event)).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(store.writeEntered.await(10, TimeUnit.SECONDS), "the write never reached the store");
        return response;
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    private static String running(String id, long task) {
        return """
                {"eventId":"%s","type":"RUNNING","workflowInstanceId":1,"taskInstanceId":%d,
                 "eventTime":"2026-01-01T00:00:00Z","host":"w1","startTime":"2026-01-01T00:00:00Z","processId":7}
                """.formatted(id, task);
    }

    @Test
    void registerSendEventsReadBack() throws Exception {
        start(1_000, 1 << 20);
        HttpResponse<String> created = post("/v1/task-instances",
                "[{\"id\":10,\"workflowInstanceId\":1,\"name\":\"extract\"},{\"id\":11,\"workflowInstanceId\":1,\"name\":\"load\"}]");
        assertEquals(201, created.statusCode(), created.body());
        assertEquals("{\"created\":2}", created.body());

        HttpResponse<String> again = post("/v1/task-instances", "{\"id\":10,\"workflowInstanceId\":1,\"name\":\"x\"}");
        assertEquals(409, again.statusCode());
        assertTrue(again.body().contains("[10]"), again.body());

        HttpResponse<String> acked = post("/v1/events", "[" + running("e1", 10) + "," + running("e1", 10) + ","
                + running("e2", 99) + "]");
        assertEquals(200, acked.statusCode(), acked.body());
        assertEquals("{\"acks\":[{\"eventId\":\"e1\",\"outcome\":\"APPLIED\",\"state\":\"RUNNING\",\"version\":1},"
                + "{\"eventId\":\"e1\",\"outcome\":\"DUPLICATE\",\"state\":\"RUNNING\"},"
                + "{\"eventId\":\"e2\",\"outcome\":\"REJECTED\",\"reason\":\"UNKNOWN_TASK_INSTANCE\",\"message\":"
                + "\"unknown task instance 99 (workflow instance 1): the store holds no task instance with this id\"}]}",
                acked.body());

        HttpResponse<String> task = get("/v1/task-instances/10");
        assertEquals(200, task.statusCode());
        assertTrue(task.body().contains("\"state\":\"RUNNING\"") && task.body().contains("\"processId\":7"), task.body());
        assertEquals(404, get("/v1/task-instances/12345").statusCode());
        assertEquals(400, get("/v1/task-instances/abc").statusCode());
    }

    @Test
    void everyKindOfBadInputIs400NamingTheProblemAndNothingIsPersisted() throws Exception {
        start(1_000, 1 << 20);
        post("/v1/task-instances", "{\"id\":10,\"workflowInstanceId\":1,\"name\":\"extract\"}");
        String[][] cases = {
                {"{\"eventId\":", "malformed JSON"},
                {"", "the request body is empty"},
                {"[]", "the array of events is empty"},
                {"42", "event must be a JSON object, was a number"},
                {running("e1", 10).replace("\"host\":\"w1\"", "\"host\":\"w1\",\"colour\":\"red\""),
                        "event: unknown field \"colour\""},
                {running("e1", 10).replace("\"taskInstanceId\":10", "\"taskInstanceId\":\"10\""),
                        "event: taskInstanceId must be an integer, was a string"},
                {running("e1", 10).replace("\"RUNNING\"", "\"SPRINTING\""),
                        "event: type must be one of [DISPATCH, RUNNING, DELAY, RESULT], was \"SPRINTING\""},
                {running("e1", 10).replace("\"taskInstanceId\":10", "\"taskInstanceId\":123456789012345678901234567890"),
                        "event: taskInstanceId is out of range"},
                {running("e1", 10).replace("\"taskInstanceId\":10", "\"taskInstanceId\":-4"),
                        "event: taskInstanceId must be positive, was -4"},
                {running("e1", 10).replace("\"processId\":7", "\"processId\":7.5"),
                        "event: processId must be an integer, was a number"},
                {running("e1", 10).replace(",\"host\":\"w1\"", ""), "event: host is required, was null"},
                {running("e1", 10).replace("\"eventTime\":\"2026-01-01T00:00:00Z\"", "\"eventTime\":\"yesterday\""),
                        "event: eventTime must be an ISO-8601 instant"},
                {running("e1", 10).replace("\"host\":\"w1\"", "\"host\":\"w1\",\"host\":\"w2\""),
                        "malformed JSON: Duplicate field 'host'"},
                {"[" + running("ok", 10) + "," + running("e1", 10).replace("\"RUNNING\"", "\"NOPE\"") + "]",
                        "event 1: type must be one of"},
        };
        for (String[] c : cases) {
            HttpResponse<String> response = post("/v1/events", c[0]);
            assertEquals(400, response.statusCode(), c[0] + " -> " + response.body());
            assertTrue(response.body().contains(c[1].replace("\"", "\\\"")), c[1] + " not in " + response.body());
            assertFalse(response.body().contains("at dev.") || response.body().contains("Exception"), response.body());
        }
        assertTrue(get("/v1/task-instances/10").body().contains("\"version\":0"), "nothing may have been applied");
        assertEquals(0, engine.stats().applied());
        HttpResponse<String> invalidUtf8 = http.send(HttpRequest.newBuilder(uri("/v1/events"))
                .POST(HttpRequest.BodyPublishers.ofByteArray(new byte[] {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'}))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, invalidUtf8.statusCode(), invalidUtf8.body());
    }

    @Test
    void wrongMethodsPathsAndOversizedBodies() throws Exception {
        start(1_000, 4_096);
        HttpResponse<String> wrongMethod = get("/v1/events");
        assertEquals(405, wrongMethod.statusCode());
        assertEquals("POST", wrongMethod.headers().firstValue("Allow").orElse(""));
        assertEquals(404, get("/v2/nothing").statusCode());
        HttpResponse<String> large = post("/v1/events", "[" + "x".repeat(10_000) + "]");
        assertEquals(413, large.statusCode());
        assertTrue(large.body().contains("the limit is 4096"), large.body());
        assertEquals(200, get("/healthz").statusCode(), "the server is fine afterwards");
    }

    @Test
    void overloadIsA503WithRetryAfterAndAcceptedEventsStillComplete() throws Exception {
        start(1, 1 << 20);
        post("/v1/task-instances", "[{\"id\":10,\"workflowInstanceId\":1,\"name\":\"a\"}]");
        CompletableFuture<HttpResponse<String>> first = eventRequestHeldInTheStore(running("e1", 10));
        HttpResponse<String> refused = post("/v1/events", running("e2", 10));
        assertEquals(503, refused.statusCode(), refused.body());
        assertEquals("1", refused.headers().firstValue("Retry-After").orElse(""));
        assertTrue(refused.body().contains("at capacity"), refused.body());
        store.hold.countDown();
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(200, post("/v1/events", running("e2", 10)).statusCode(), "it recovers once load drops");
    }

    @Test
    void metricsAreInPrometheusTextFormat() throws Exception {
        start(1_000, 1 << 20);
        post("/v1/task-instances", "{\"id\":10,\"workflowInstanceId\":1,\"name\":\"a\"}");
        post("/v1/events", running("e1", 10));
        // An event leaves the queue when its key's task ends, just after its answer was sent.
        dev.taskevents.testkit.Await.until(() -> {
            try {
                return get("/metrics").body().contains("\ntaskevents_queued_events 0\n");
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        HttpResponse<String> metrics = get("/metrics");
        assertEquals(200, metrics.statusCode());
        assertTrue(metrics.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
        String body = metrics.body();
        assertTrue(body.contains("taskevents_events_total{outcome=\"applied\"} 1\n"), body);
        assertTrue(body.contains("# TYPE taskevents_queued_events gauge\ntaskevents_queued_events 0\n"), body);
        assertTrue(body.contains("taskevents_ack_latency_seconds_count 1\n"), body);
        assertTrue(body.contains("taskevents_http_responses_total{code=\"200\"} "), body);
        assertTrue(body.contains("taskevents_http_responses_total{code=\"201\"} 1\n"), body);
        // The process's and the JVM's own, under the Prometheus client libraries' names.
        for (String name : List.of("process_cpu_seconds_total", "process_start_time_seconds", "process_open_fds",
                "jvm_memory_used_bytes{area=\"heap\"}", "jvm_threads_current")) {
            java.util.regex.Matcher value = java.util.regex.Pattern.compile("\n" + java.util.regex.Pattern.quote(name)
                    + " ([0-9.E]+)\n").matcher(body);
            assertTrue(value.find(), name + " in " + body);
            assertTrue(Double.parseDouble(value.group(1)) > 0, name + " " + value.group(1));
        }
        assertTrue(body.contains("# TYPE jvm_gc_collections_total counter\njvm_gc_collections_total{gc=\""), body);
        // The engine's stages, one histogram labelled by stage: the one event in each.
        for (String stage : List.of("queued", "snapshot", "batch_wait", "store_write", "completion", "total")) {
            assertTrue(body.contains("taskevents_stage_seconds_count{stage=\"" + stage + "\"} 1\n"), stage + " in " + body);
        }
    }

    @Test
    void stoppingFinishesTheRequestInFlightThenRefusesConnections() throws Exception {
        start(1_000, 1 << 20);
        post("/v1/task-instances", "{\"id\":10,\"workflowInstanceId\":1,\"name\":\"a\"}");
        CompletableFuture<HttpResponse<String>> inFlight = eventRequestHeldInTheStore(running("e1", 10));
        URI health = uri("/healthz");
        Thread stopper = Thread.ofPlatform().start(() -> server.stop(Duration.ofSeconds(20)));
        store.hold.countDown();
        HttpResponse<String> answer = inFlight.get(20, TimeUnit.SECONDS);
        assertEquals(200, answer.statusCode(), answer.body());
        stopper.join();
        assertEquals(TaskState.RUNNING, store.find(10).orElseThrow().state());
        boolean refused;
        try {
            HttpClient.newHttpClient().send(HttpRequest.newBuilder(health).GET().build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            refused = false;
        } catch (java.io.IOException e) {
            refused = true;
        }
        assertTrue(refused, "a stopped server must refuse connections");
    }
}
