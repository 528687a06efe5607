package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.cli.Main;
import dev.taskevents.engine.TaskEventEngine;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * serve under hostile input, each case over a real connection: the answer is fixed,
 * nothing internal leaks, one request cannot lock others out, memory is bounded by bytes. The
 * cases that need a JVM of their own (a fixed heap, the connection cap as the command sets it) are in
 * {@link ForkedServeTest}.
 */
class HostileInputTest {
    private static final String TOKEN = "token-hostile-0123456789";
    private static final String SECRET_SQL = "SECRET-SQL insert into task_instance values ('SECRET-VARPOOL-777')"
            + " at jdbc:postgresql://db.internal:5432/prod?user=app&password=SECRET-PW";

    private final HeldStore store = new HeldStore();
    private final HttpClient http = HttpClient.newHttpClient();
    private TaskEventEngine engine;
    private EventServer server;

    private void start(ServerSettings.Builder settings) throws Exception {
        engine = TaskEventEngine.builder().store(store).submitTimeout(Duration.ofMillis(50)).build();
        server = new EventServer(engine, store, settings.build());
        server.start();
    }

    private void start() throws Exception {
        start(settings());
    }

    private static ServerSettings.Builder settings() {
        return ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)).tokens(List.of(TOKEN))
                .maxBodyBytes(1 << 20);
    }

    @AfterEach
    void stop() {
        store.hold.countDown();
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
        }
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).header("Authorization", "Bearer " + TOKEN)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(uri(path)).header("Authorization", "Bearer " + TOKEN).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String running(String id, long task, String startTime) {
        return """
                {"eventId":"%s","type":"RUNNING","workflowInstanceId":1,"taskInstanceId":%d,
                 "eventTime":"2026-01-01T00:00:00Z","host":"w1","startTime":"%s"}""".formatted(id, task, startTime);
    }

    private static String running(String id, long task) {
        return running(id, task, "2026-01-01T00:00:00Z");
    }

    private void task(long id) {
        store.insert(List.of(TaskInstance.submitted(id, 1, "t" + id, Instant.EPOCH)));
    }

    /** Item 1: a time PostgreSQL cannot hold fails only its own request, at the edge, naming the field. */
    @Test
    void aTimeNoStoreHoldsIsA400NamingTheFieldAndNothingOfItsBatchIsApplied() throws Exception {
        start();
        task(10);
        HttpResponse<String> far = post("/v1/events", "[" + running("ok", 10) + ","
                + running("far", 10, "+300000-01-01T00:00:00Z") + "]");
        assertEquals(400, far.statusCode(), far.body());
        assertTrue(far.body().contains("event 1: startTime must be between 1000-01-01T00:00:00Z and"
                + " 9999-12-31T23:59:59.999999Z"), far.body());
        assertEquals(400, post("/v1/events", running("old", 10, "0999-12-31T23:59:59Z")).statusCode());
        HttpResponse<String> lone = post("/v1/events", running("s", 10).replace("\"w1\"", "\"w\\udc00\""));
        assertEquals(400, lone.statusCode(), lone.body());
        assertTrue(lone.body().contains("event: host contains an unpaired surrogate (U+DC00)"), lone.body());
        assertEquals(0, store.find(10).orElseThrow().version(), "nothing of a refused request is applied");
        assertEquals(200, post("/v1/events", running("ok", 10)).statusCode());
    }

    /** Item 7: one JSON value per body; anything after it is a 400 and nothing is applied. */
    @Test
    void trailingDataIsA400AndNothingIsApplied() throws Exception {
        start();
        task(10);
        HttpResponse<String> garbage = post("/v1/task-instances", "{\"id\":2,\"workflowInstanceId\":7,\"name\":\"a\"} garbage");
        assertEquals(400, garbage.statusCode(), garbage.body());
        assertTrue(garbage.body().contains("malformed JSON"), garbage.body());
        assertEquals(404, get("/v1/task-instances/2").statusCode(), "not created");
        HttpResponse<String> two = post("/v1/events", running("a", 10) + " " + running("b", 10));
        assertEquals(400, two.statusCode(), two.body());
        assertTrue(two.body().contains("more data after the event"), two.body());
        HttpResponse<String> afterArray = post("/v1/events", "[" + running("a", 10) + "] []");
        assertEquals(400, afterArray.statusCode(), afterArray.body());
        assertEquals(0, store.find(10).orElseThrow().version(), "nothing of a refused request is applied");
    }

    /** Item 8: echoed values are cut; ids are ASCII digits and positive. */
    @Test
    void echoedValuesAreCutAndIdsAreAsciiDigits() throws Exception {
        start();
        task(1);
        HttpResponse<String> blank = post("/v1/events", running(" ".repeat(1_000_000), 1));
        assertEquals(400, blank.statusCode());
        assertTrue(blank.body().length() < 300, blank.body().length() + " characters echoed");
        HttpResponse<String> field = post("/v1/events", running("a", 1).replace("\"host\"", "\"" + "h".repeat(100_000) + "\""));
        assertEquals(400, field.statusCode());
        assertTrue(field.body().length() < 400, field.body().length() + " characters echoed");
        for (String id : new String[] {"+1", "%D9%A1", "%EF%BC%91", "0", "-1", "00", "99999999999999999999", "1.0", " 1"}) {
            HttpResponse<String> response = get("/v1/task-instances/" + id.replace(" ", "%20"));
            assertEquals(400, response.statusCode(), id + " -> " + response.body());
        }
        assertEquals(200, get("/v1/task-instances/1").statusCode());
        assertEquals(200, get("/v1/task-instances/0001").statusCode(), "leading zeros are still ASCII digits");
    }

    /** Item 3b: the var pool has its own limit, below the body's. */
    @Test
    void aVarPoolOverItsLimitIs413NamingTheField() throws Exception {
        start(settings().maxVarPoolBytes(1_000));
        task(1);
        String result = """
                {"eventId":"r","type":"RESULT","workflowInstanceId":1,"taskInstanceId":1,"state":"SUCCESS",
                 "eventTime":"2026-01-01T00:00:00Z","endTime":"2026-01-01T00:00:00Z","varPool":"%s"}""";
        HttpResponse<String> big = post("/v1/events", result.formatted("é".repeat(501))); // 1,002 bytes in UTF-8
        assertEquals(413, big.statusCode(), big.body());
        assertEquals("{\"error\":\"event: varPool is 1002 bytes (UTF-8), the limit is 1000 (serve --max-var-pool-bytes)\"}",
                big.body());
        HttpResponse<String> fits = post("/v1/events", result.formatted("é".repeat(500)));
        assertEquals(200, fits.statusCode(), fits.body());
    }

    /** Item 4: clients that send a head and stall hold no permit; health and real work go on. */
    @Test
    void stalledBodiesAtTheInFlightCapLockNobodyOut() throws Exception {
        int maxInFlight = 256;
        start(settings().maxInFlight(maxInFlight).bodyReadTimeout(Duration.ofSeconds(60)));
        task(10);
        List<Socket> stalled = new ArrayList<>();
        try {
            for (int i = 0; i < maxInFlight; i++) {
                Socket socket = new Socket("127.0.0.1", server.address().getPort());
                socket.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN
                        + "\r\nContent-Length: 1000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                stalled.add(socket);
            }
            long waitUntil = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (server.readingBodies() < maxInFlight && System.nanoTime() < waitUntil) {
                Thread.sleep(10); // waits for the server to have every head: the assertions below do not depend on it
            }
            assertEquals(maxInFlight, server.readingBodies(), "every stalled request is waiting for its body");
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(uri("/healthz")).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), health.body());
            HttpResponse<String> work = post("/v1/events", running("e1", 10));
            assertEquals(200, work.statusCode(), work.body());
            assertTrue(work.body().contains("APPLIED"), work.body());
            HttpResponse<String> metrics = get("/metrics");
            assertTrue(metrics.body().contains("taskevents_request_bodies_reading " + maxInFlight + "\n"), metrics.body());
        } finally {
            for (Socket socket : stalled) {
                socket.close();
            }
        }
    }

    /** Item 8: a body that never arrives (not one that trickles: ServeSecurityTest) gets 408. */
    @Test
    void aBodyThatNeverArrivesGets408() throws Exception {
        start(settings().bodyReadTimeout(Duration.ofSeconds(1)));
        try (Socket socket = new Socket("127.0.0.1", server.address().getPort())) {
            socket.setSoTimeout(30_000);
            socket.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN
                    + "\r\nContent-Length: 100\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            String status = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine();
            assertTrue(status != null && status.startsWith("HTTP/1.1 408 "), String.valueOf(status));
        }
    }

    /** Item 8: HEAD /healthz works; HEAD elsewhere is a quiet 405 (no warning lines). */
    @Test
    void headRequestsAreAnsweredQuietly() throws Exception {
        LogCapture log = new LogCapture();
        try {
            start();
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(uri("/healthz"))
                    .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode());
            assertEquals("", health.body());
            HttpResponse<String> events = http.send(HttpRequest.newBuilder(uri("/v1/events"))
                    .header("Authorization", "Bearer " + TOKEN).method("HEAD", HttpRequest.BodyPublishers.noBody())
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(405, events.statusCode());
            assertEquals("POST", events.headers().firstValue("Allow").orElse(""));
            HttpResponse<String> post = post("/healthz", "{}");
            assertEquals(405, post.statusCode());
            assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
        } finally {
            log.close();
        }
        assertTrue(log.records().stream().noneMatch(r -> r.getLevel().intValue() >= java.util.logging.Level.WARNING.intValue()),
                () -> log.lines().toString());
    }

    /** Item 2: a store's message (SQL, values, a URL) reaches neither a client nor the log. */
    @Test
    void storeErrorsReachNeitherClientsNorTheLog() throws Exception {
        LogCapture log = new LogCapture();
        List<String> answers = new ArrayList<>();
        try {
            store.failWith = new StoreException(SECRET_SQL, new SQLException(SECRET_SQL, "08006"));
            start();
            HttpResponse<String> insert = post("/v1/task-instances", "{\"id\":1,\"workflowInstanceId\":1,\"name\":\"a\"}");
            HttpResponse<String> find = get("/v1/task-instances/1");
            store.failWith = new IllegalStateException(SECRET_SQL);
            HttpResponse<String> broken = get("/v1/task-instances/1");
            for (HttpResponse<String> response : List.of(insert, find, broken)) {
                assertEquals(503, response.statusCode(), response.body());
                assertTrue(response.body().matches("\\{\"error\":\"the store is unavailable \\(error [0-9a-f]{8}\\); retry\"}"),
                        response.body());
                answers.add(response.body());
            }
        } finally {
            log.close();
        }
        List<String> lines = log.lines();
        for (String answer : answers) {
            String id = answer.replaceAll(".*error ([0-9a-f]{8}).*", "$1");
            assertTrue(lines.stream().anyMatch(line -> line.contains(id)), "the log has error " + id + ": " + lines);
        }
        assertTrue(lines.stream().anyMatch(line -> line.contains("StoreException <- java.sql.SQLException (SQL state 08006)")),
                lines.toString());
        for (String line : lines) {
            assertFalse(line.contains("SECRET") || line.contains("jdbc:") || line.contains("insert into"), line);
        }
    }

    /** Item 3a: a body is streamed element by element; its parse holds a small multiple of it. */
    @Test
    void parsingHoldsASmallMultipleOfTheBody() throws Exception {
        JsonCodec codec = new JsonCodec(1 << 20);
        int bodyBytes = 16 * 1024 * 1024;
        // [{},{},...]: refused at its first element, having allocated next to nothing.
        byte[] empties = ("[" + "{},".repeat(bodyBytes / 3 - 1) + "{}]").getBytes(StandardCharsets.US_ASCII);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assertThrows(BadRequest.class, () -> codec.events(new ByteArrayInputStream("[{},{}]".getBytes(StandardCharsets.US_ASCII))));
        long before = threads.getCurrentThreadAllocatedBytes(); // after a warm-up: class loading is not the parse
        BadRequest refused = assertThrows(BadRequest.class, () -> codec.events(new ByteArrayInputStream(empties)));
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(refused.getMessage().startsWith("event 0: "), refused.getMessage());
        assertTrue(allocated < 1 << 20, allocated + " bytes allocated to refuse a 16 MiB [{},{},...]");

        // The worst case that parses: the smallest valid events, as many as fit.
        String one = "{\"eventId\":\"e\",\"type\":\"DISPATCH\",\"workflowInstanceId\":1,\"taskInstanceId\":1,"
                + "\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"w\"},";
        StringBuilder events = new StringBuilder(bodyBytes).append('[');
        while (events.length() + one.length() < bodyBytes) {
            events.append(one);
        }
        events.setCharAt(events.length() - 1, ']');
        byte[] body = events.toString().getBytes(StandardCharsets.US_ASCII);
        events = null;
        long baseline = usedAfterGc();
        List<TaskEvent> parsed = codec.events(new ByteArrayInputStream(body));
        long retained = usedAfterGc() - baseline;
        double multiple = (double) retained / body.length;
        System.out.printf("RELIABILITY serve-parse-memory: body=%d bytes events=%d retained=%d bytes multiple=%.2f"
                + " empty-objects-allocated=%d bytes%n", body.length, parsed.size(), retained, multiple, allocated);
        assertTrue(multiple < 3.0, "the parsed events hold " + multiple + " x the body");
    }

    /**
     * Item 6: making and running a server sets no system property. Jetty's own version class
     * records its build in {@code jetty.git.hash} when it is first loaded; that one is Jetty's.
     */
    @Test
    void runningEventServerChangesNoSystemProperty() throws Exception {
        Properties before = (Properties) System.getProperties().clone();
        Class.forName(EventServer.class.getName(), true, EventServer.class.getClassLoader());
        start();
        assertEquals(200, http.send(HttpRequest.newBuilder(uri("/healthz")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode());
        Properties after = (Properties) System.getProperties().clone();
        after.remove("jetty.git.hash");
        before.remove("jetty.git.hash");
        assertEquals(before, after);
    }

    /** Item 8: tokens over plain HTTP beyond loopback need --allow-insecure-http; a bad --bind is one line. */
    @Test
    void tokensOverPlainHttpBeyondLoopbackAndAnUnresolvableBindAreRefusedInOneLine() {
        IllegalArgumentException plain = assertThrows(IllegalArgumentException.class, () -> ServerSettings.builder(
                new InetSocketAddress("0.0.0.0", 0)).tokens(List.of(TOKEN)).build());
        assertTrue(plain.getMessage().startsWith("refusing to take bearer tokens over plain HTTP on 0.0.0.0"),
                plain.getMessage());
        ServerSettings.builder(new InetSocketAddress("0.0.0.0", 0)).tokens(List.of(TOKEN)).allowInsecureHttp(true).build();

        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Main.run(new String[] {"serve", "--store", "memory:", "--bind", "nonexistent.invalid", "--port", "0"},
                new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, exit, message);
        assertTrue(message.startsWith("taskevents: cannot listen on nonexistent.invalid: the name does not resolve"),
                message);
        assertEquals(1, message.lines().count(), message);
    }

    private static long usedAfterGc() throws InterruptedException {
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return used;
    }
}
