package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storecontract.Await;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Where a poll starts when it gives no cursor (the oldest retained event) or {@code latest}: read
 * from the store like the page itself, so with the same answers to its failures, and with the
 * cleaner free to prune between the two reads.
 */
class FeedStartPositionTest {
    private final HttpClient http = HttpClient.newHttpClient();
    private TaskInstanceStore memory;
    private TaskEventEngine engine;
    private EventServer server;
    private LongSupplier prunedThrough;
    private LongSupplier head;
    /**
     * Set: the next read once the feed has an event first lets the cleaner delete every event there
     * is, then counts down {@link #pruned}.
     */
    private final AtomicBoolean pruneBeforeNextRead = new AtomicBoolean();
    private final CountDownLatch pruned = new CountDownLatch(1);

    private void start() throws Exception {
        memory = Stores.open("memory:");
        StateEventFeed real = memory.stateFeed().orElseThrow();
        prunedThrough = real::prunedThrough;
        head = real::head;
        StateEventFeed hooked = new StateEventFeed() {
            public long feedId() { return real.feedId(); }
            public FeedPage read(long after, int limit) {
                if (real.head() > 0 && pruneBeforeNextRead.getAndSet(false)) {
                    long last = real.head();
                    try {
                        // The store's clock must move past the last commit for retention ZERO to take it.
                        Await.until(() -> real.prune(Duration.ZERO, 1_000) >= last);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    pruned.countDown();
                }
                return real.read(after, limit);
            }
            public long head() { return head.getAsLong(); }
            public long prunedThrough() { return prunedThrough.getAsLong(); }
            public long prune(Duration retention, int maxEvents) { return real.prune(retention, maxEvents); }
            public void addListener(Runnable appended) { real.addListener(appended); }
            public void removeListener(Runnable appended) { real.removeListener(appended); }
        };
        TaskInstanceStore store = new ForwardingTaskInstanceStore(memory) {
            @Override
            public Optional<StateEventFeed> stateFeed() {
                return Optional.of(hooked);
            }
        };
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)).build());
        server.start();
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
            memory.close();
        }
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort() + path))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private void post(String path, String body) throws Exception {
        http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private void running(String eventId, long task) throws Exception {
        post("/v1/events", """
                {"eventId":"%s","type":"RUNNING","workflowInstanceId":7,"taskInstanceId":%d,
                 "eventTime":"2026-01-01T00:00:00Z","host":"w1","startTime":"2026-01-01T00:00:00Z"}
                """.formatted(eventId, task));
    }

    /** The store down while a poll without a cursor (or with latest) resolves its start: 503 like every other read. */
    @Test
    void aStoreFailureResolvingOldestOrLatestIs503WithRetryAfter() throws Exception {
        start();
        prunedThrough = () -> { throw new StoreException("the database is down (test)"); };
        head = () -> { throw new StoreException("the database is down (test)"); };
        HttpResponse<String> oldest = get("/v1/state-events");
        HttpResponse<String> latest = get("/v1/state-events?after=latest");
        for (HttpResponse<String> r : List.of(oldest, latest)) {
            assertEquals(503, r.statusCode(), r.body());
            assertEquals("1", r.headers().firstValue("Retry-After").orElse(""), r.body());
            assertTrue(r.body().contains("\"code\":\"STORE_UNAVAILABLE\""), r.body());
        }
    }

    /**
     * The cleaner pruning between the endpoint's read of the pruned position (the start of a poll
     * with no cursor) and its read of the rows: the poll asked for the oldest retained event and
     * lost nothing, so it gets the events from the new oldest, not 410 CURSOR_EXPIRED.
     */
    @Test
    void aPollFromTheOldestIsNever410WhenTheCleanerRunsBetweenItsTwoReads() throws Exception {
        start();
        post("/v1/task-instances", "[{\"id\":1,\"workflowInstanceId\":7,\"name\":\"t1\"},"
                + "{\"id\":2,\"workflowInstanceId\":7,\"name\":\"t2\"}]");
        running("r1", 1);
        running("r2", 2);
        StateEventFeed real = memory.stateFeed().orElseThrow();
        prunedThrough = () -> {
            long through = real.prunedThrough();
            real.prune(Duration.ZERO, 1); // the cleaner's chunk, between the two reads
            return through;
        };
        HttpResponse<String> oldest = get("/v1/state-events");
        assertEquals(200, oldest.statusCode(), oldest.body());
        assertTrue(oldest.body().contains("\"eventId\":\"r2\""), oldest.body());
        assertFalse(oldest.body().contains("\"eventId\":\"r1\""), oldest.body());
    }

    /**
     * A parked poll from the oldest, woken by a commit whose event the cleaner deletes before the
     * woken read: it goes on from the new oldest and is answered with the next event, not 410.
     */
    @Test
    void aParkedPollFromTheOldestGoesOnFromTheNewOldestWhenItsStartIsPruned() throws Exception {
        start();
        post("/v1/task-instances", "[{\"id\":1,\"workflowInstanceId\":7,\"name\":\"t1\"},"
                + "{\"id\":2,\"workflowInstanceId\":7,\"name\":\"t2\"}]");
        CompletableFuture<HttpResponse<String>> poll = http.sendAsync(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + server.address().getPort() + "/v1/state-events?wait=60")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        Await.until(() -> server.parkedPolls() == 1);
        pruneBeforeNextRead.set(true);
        running("r1", 1); // wakes the poll; its read finds r1 deleted
        assertTrue(pruned.await(30, TimeUnit.SECONDS));
        running("r2", 2);
        HttpResponse<String> answer = poll.get(30, TimeUnit.SECONDS);
        assertEquals(200, answer.statusCode(), answer.body());
        assertTrue(answer.body().contains("\"eventId\":\"r2\""), answer.body());
    }
}
