package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.testkit.Await;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import dev.taskevents.testkit.TempDirs;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code GET /v1/state-events} over real HTTP (docs/plans/state-feed §3.1, §6). */
class StateEventsEndpointTest {
    private static final String TOKEN = "feed-token-0123456789";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final java.time.Instant T = java.time.Instant.parse("2026-01-01T00:00:00Z");
    private final HttpClient http = HttpClient.newHttpClient();
    private TaskInstanceStore store;
    private TaskEventEngine engine;
    private EventServer server;
    private String token;

    private void start(TaskInstanceStore store, ServerSettings.Builder settings) throws Exception {
        this.store = store;
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build();
        server = new EventServer(engine, store, settings.build());
        server.start();
    }

    private void start() throws Exception {
        start(Stores.open("memory:"), ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)));
    }

    private void stopServer() {
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
            server = null;
        }
    }

    @AfterEach
    void stop() {
        stopServer();
        if (store != null) {
            store.close();
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort() + path));
        return token == null ? b : b.header("Authorization", "Bearer " + token);
    }

    private HttpResponse<String> post(String path, String body) throws Exception {
        return http.send(request(path).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private CompletableFuture<HttpResponse<String>> getAsync(String path) {
        return http.sendAsync(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode body(HttpResponse<String> response) throws Exception {
        return JSON.readTree(response.body());
    }

    private void createTasks(long... ids) throws Exception {
        StringBuilder body = new StringBuilder("[");
        for (long id : ids) {
            body.append(body.length() > 1 ? "," : "").append("{\"id\":").append(id)
                    .append(",\"workflowInstanceId\":7,\"name\":\"t").append(id).append("\"}");
        }
        assertEquals(201, post("/v1/task-instances", body.append("]").toString()).statusCode());
    }

    private void running(String eventId, long task) throws Exception {
        HttpResponse<String> acked = post("/v1/events", """
                {"eventId":"%s","type":"RUNNING","workflowInstanceId":7,"taskInstanceId":%d,
                 "eventTime":"2026-01-01T00:00:00Z","host":"w1","startTime":"2026-01-01T00:00:00Z"}
                """.formatted(eventId, task));
        assertEquals(200, acked.statusCode(), acked.body());
        assertTrue(acked.body().contains("APPLIED"), acked.body());
    }

    private static List<String> eventIds(JsonNode page) {
        List<String> ids = new ArrayList<>();
        page.get("events").forEach(e -> ids.add(e.get("eventId").asText()));
        return ids;
    }

    @Test
    void pagesCarryEachEventWithItsCursorAndTheNextCursor() throws Exception {
        start();
        createTasks(71, 72, 73);
        running("r71", 71);
        running("r72", 72);
        running("r73", 73);
        HttpResponse<String> first = get("/v1/state-events?limit=2");
        assertEquals(200, first.statusCode(), first.body());
        JsonNode page = body(first);
        assertEquals(List.of("r71", "r72"), eventIds(page));
        JsonNode e = page.get("events").get(0);
        assertEquals(7, e.get("workflowInstanceId").asLong());
        assertEquals(71, e.get("taskInstanceId").asLong());
        assertEquals("RUNNING", e.get("eventType").asText());
        assertEquals("RUNNING", e.get("state").asText());
        assertEquals(1, e.get("version").asLong());
        assertEquals(store.find(71).orElseThrow().updatedAt().toString(), e.get("committedAt").asText());
        assertTrue(e.get("cursor").asText().startsWith("te1.") && e.get("cursor").asText().length() == 26);
        assertEquals(page.get("events").get(1).get("cursor").asText(), page.get("next").asText());
        assertEquals(1, page.get("behind").asLong());
        JsonNode rest = body(get("/v1/state-events?after=" + page.get("next").asText()));
        assertEquals(List.of("r73"), eventIds(rest));
        assertEquals(0, rest.get("behind").asLong());
        // A per-event cursor resumes mid-page; the last next gives an empty page with the same next.
        assertEquals(List.of("r72", "r73"), eventIds(body(get("/v1/state-events?after=" + e.get("cursor").asText()))));
        JsonNode empty = body(get("/v1/state-events?after=" + rest.get("next").asText()));
        assertEquals(List.of(), eventIds(empty));
        assertEquals(rest.get("next").asText(), empty.get("next").asText());
        // latest: from the head, history skipped.
        assertEquals(List.of(), eventIds(body(get("/v1/state-events?after=latest"))));
    }

    @Test
    void aLongPollIsAnsweredAtOnceWhenEventsAreThere() throws Exception {
        start();
        createTasks(1);
        running("r1", 1);
        // wait=60: if it parked, no commit would come to answer it within the 30 s bound.
        HttpResponse<String> r = getAsync("/v1/state-events?wait=60").get(30, TimeUnit.SECONDS);
        assertEquals(List.of("r1"), eventIds(body(r)));
        assertEquals(0, server.parkedPolls());
    }

    @Test
    void aParkedPollIsWokenByACommit() throws Exception {
        start();
        createTasks(1, 2);
        running("r1", 1);
        String next = body(get("/v1/state-events")).get("next").asText();
        CompletableFuture<HttpResponse<String>> poll = getAsync("/v1/state-events?wait=60&after=" + next);
        Await.until(() -> server.parkedPolls() == 1); // parked, holding no thread
        assertFalse(poll.isDone());
        running("r2", 2);
        HttpResponse<String> woken = poll.get(30, TimeUnit.SECONDS);
        assertEquals(200, woken.statusCode());
        assertEquals(List.of("r2"), eventIds(body(woken))); // a deadline answer would be empty
        assertEquals(0, server.parkedPolls());
    }

    /**
     * A commit through another store handle on the same database (another serve or engine node):
     * it calls no listener of serve's handle, so only the head poll can wake the parked poll.
     */
    @Test
    void aParkedPollIsWokenByAnotherWritersCommitThroughTheHeadPoll() throws Exception {
        String url = "jdbc:h2:file:" + TempDirs.create("feed-headpoll").resolve("db").toAbsolutePath();
        start(Stores.open(url), ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)));
        createTasks(1);
        CompletableFuture<HttpResponse<String>> poll = getAsync("/v1/state-events?wait=60&after=latest");
        Await.until(() -> server.parkedPolls() == 1);
        try (TaskInstanceStore otherHandle = Stores.open(url);
             TaskEventEngine other = TaskEventEngine.builder().store(otherHandle).stateFeed(Duration.ofHours(1)).build()) {
            other.submit(TaskEvent.builder("other-r1", TaskEventType.RUNNING, 7, 1).eventTime(T).host("w9").startTime(T)
                    .build()).get(30, TimeUnit.SECONDS);
        }
        assertEquals(List.of("other-r1"), eventIds(body(poll.get(30, TimeUnit.SECONDS))));
    }

    @Test
    void waitIsCappedAtTheServersMaximum() throws Exception {
        start(Stores.open("memory:"), ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .feed(new ServerSettings.FeedSettings(Duration.ofHours(1), 256, Duration.ofSeconds(1),
                        Duration.ofMillis(20))));
        String latest = body(get("/v1/state-events?after=latest")).get("next").asText();
        // An hour asked, one second given: answered (empty) well inside the 30 s bound.
        HttpResponse<String> r = getAsync("/v1/state-events?wait=3600&after=" + latest).get(30, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertEquals(List.of(), eventIds(body(r)));
        assertEquals(latest, body(r).get("next").asText());
    }

    @Test
    void malformedInputIs400NamingIt() throws Exception {
        start();
        String[][] cases = {
                {"/v1/state-events?after=nonsense", "BAD_CURSOR", "after must be a cursor this service issued"},
                {"/v1/state-events?after=te1.AAAAAAAAAAAAAAAAAAAAA", "BAD_CURSOR", "after must be a cursor"},
                {"/v1/state-events?after=te1.AAAAAAAAAAAAAAAAAAAAAAAA", "BAD_CURSOR", "after must be a cursor"},
                {"/v1/state-events?after=te1.AAAAAAAAAAAAAAAAAAAA%21%21", "BAD_CURSOR", "after must be a cursor"},
                {"/v1/state-events?limit=0", "BAD_REQUEST", "limit must be from 1 to 10000, was 0"},
                {"/v1/state-events?limit=10001", "BAD_REQUEST", "limit must be from 1 to 10000, was 10001"},
                {"/v1/state-events?limit=ten", "BAD_REQUEST", "limit must be a whole number from 1 to 10000, was \"ten\""},
                {"/v1/state-events?wait=-1", "BAD_REQUEST", "wait must be a whole number"},
                {"/v1/state-events?colour=red", "BAD_REQUEST", "unknown query parameter \"colour\""},
                {"/v1/state-events?limit=1&limit=2", "BAD_REQUEST", "query parameter limit is given twice"},
        };
        for (String[] c : cases) {
            HttpResponse<String> r = get(c[0]);
            assertEquals(400, r.statusCode(), c[0] + ": " + r.body());
            assertEquals(c[1], body(r).get("code").asText(), c[0]);
            assertTrue(body(r).get("error").asText().startsWith(c[2]), c[0] + ": " + r.body());
        }
        HttpResponse<String> post = post("/v1/state-events", "");
        assertEquals(405, post.statusCode());
        assertEquals("GET", post.headers().firstValue("Allow").orElse(""));
    }

    @Test
    void expiredForeignAndAheadCursorsAre410WithWhatToDo() throws Exception {
        start();
        createTasks(1, 2);
        running("r1", 1);
        String start = body(get("/v1/state-events?limit=1")).get("events").get(0).get("cursor").asText();
        running("r2", 2);
        StateEventFeed feed = store.stateFeed().orElseThrow();
        String zero = new FeedCursor(feed.feedId(), 0).encode();
        Await.until(() -> feed.prune(Duration.ZERO, 1) >= 1);
        HttpResponse<String> expired = get("/v1/state-events?after=" + zero);
        assertEquals(410, expired.statusCode(), expired.body());
        JsonNode e = body(expired);
        assertEquals("CURSOR_EXPIRED", e.get("code").asText());
        assertEquals(start, e.get("oldest").asText());
        assertEquals("the cursor is older than the feed's retention (24h): the events after it were deleted. Resume"
                + " from the oldest retained event (after=" + start + ") and resynchronise task states from"
                + " GET /v1/task-instances/{id}", e.get("error").asText());
        // Resuming from oldest works.
        assertEquals(List.of("r2"), eventIds(body(get("/v1/state-events?after=" + e.get("oldest").asText()))));
        HttpResponse<String> foreign = get("/v1/state-events?after=" + new FeedCursor(feed.feedId() ^ 1, 1).encode());
        assertEquals(410, foreign.statusCode());
        assertEquals("OTHER_FEED", body(foreign).get("code").asText());
        assertTrue(body(foreign).get("error").asText().startsWith("the cursor belongs to another feed"));
        HttpResponse<String> ahead = get("/v1/state-events?after=" + new FeedCursor(feed.feedId(), 99).encode());
        assertEquals(410, ahead.statusCode());
        assertEquals("AHEAD", body(ahead).get("code").asText());
        assertTrue(body(ahead).get("error").asText().startsWith("the cursor is ahead of the feed (position 99,"
                + " the feed's last is 2)"), body(ahead).get("error").asText());
    }

    @Test
    void theFeedNeedsATokenLikeTheOtherEndpoints() throws Exception {
        start(Stores.open("memory:"), ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .tokens(List.of(TOKEN)));
        HttpResponse<String> refused = get("/v1/state-events");
        assertEquals(401, refused.statusCode());
        assertEquals("{\"error\":\"unauthorized\"}", refused.body());
        token = "wrong-token-0123456789";
        assertEquals(401, get("/v1/state-events?wait=60").statusCode());
        assertEquals(0, server.parkedPolls());
        token = TOKEN;
        assertEquals(200, get("/v1/state-events").statusCode());
    }

    @Test
    void stoppingAnswersParkedPolls503() throws Exception {
        start();
        CompletableFuture<HttpResponse<String>> poll = getAsync("/v1/state-events?wait=60&after=latest");
        Await.until(() -> server.parkedPolls() == 1);
        server.stop(Duration.ZERO);
        HttpResponse<String> r = poll.get(30, TimeUnit.SECONDS);
        assertEquals(503, r.statusCode());
        assertEquals("SERVER_STOPPING", body(r).get("code").asText());
        engine.close();
        server = null;
    }

    /** The store failing under a read: 503 with Retry-After; the same cursor works once it is back. */
    @Test
    void aFailingStoreIs503AndTheSameCursorResumes() throws Exception {
        TaskInstanceStore memory = Stores.open("memory:");
        StateEventFeed real = memory.stateFeed().orElseThrow();
        boolean[] down = {false};
        StateEventFeed failing = new StateEventFeed() {
            @Override public long feedId() { return real.feedId(); }
            @Override public FeedPage read(long after, int limit) {
                if (down[0]) {
                    throw new StoreException("the database is down (test)");
                }
                return real.read(after, limit);
            }
            @Override public long head() { return real.head(); }
            @Override public long prunedThrough() { return real.prunedThrough(); }
            @Override public long prune(Duration retention, int maxEvents) { return real.prune(retention, maxEvents); }
            @Override public void addListener(Runnable appended) { real.addListener(appended); }
            @Override public void removeListener(Runnable appended) { real.removeListener(appended); }
        };
        start(new ForwardingTaskInstanceStore(memory) {
            @Override
            public Optional<StateEventFeed> stateFeed() {
                return Optional.of(failing);
            }
        }, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)));
        createTasks(1, 2);
        running("r1", 1);
        String next = body(get("/v1/state-events")).get("next").asText();
        running("r2", 2);
        down[0] = true;
        HttpResponse<String> failed = get("/v1/state-events?after=" + next);
        assertEquals(503, failed.statusCode());
        assertEquals("1", failed.headers().firstValue("Retry-After").orElse(""));
        assertEquals("STORE_UNAVAILABLE", body(failed).get("code").asText());
        down[0] = false;
        assertEquals(List.of("r2"), eventIds(body(get("/v1/state-events?after=" + next))));
    }

    /** serve on an H2 file: stopped, started again on the same database, a stored cursor resumes. */
    @Test
    void aCursorSurvivesARestartOfServe() throws Exception {
        String url = "jdbc:h2:file:" + TempDirs.create("feed-restart").resolve("db").toAbsolutePath();
        start(Stores.open(url), ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)));
        createTasks(1, 2);
        running("r1", 1);
        String cursor = body(get("/v1/state-events")).get("next").asText();
        stopServer();
        store.close();
        start(Stores.open(url), ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)));
        running("r2", 2);
        assertEquals(List.of("r2"), eventIds(body(get("/v1/state-events?after=" + cursor))));
    }
}
