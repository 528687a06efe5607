package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

/**
 * serve in the test's JVM over a store whose state-event feed the test may replace (to hold, hook
 * or count its reads): the engine with the feed (an hour's retention), the server on a free
 * loopback port, plain HTTP calls to it, and a close that stops all three, the store included.
 */
final class ServeOnFeed implements AutoCloseable {
    final TaskInstanceStore store;
    /** The store's own feed, behind whatever the test put before it. */
    final StateEventFeed real;
    final TaskEventEngine engine;
    final EventServer server;
    private final HttpClient http = HttpClient.newHttpClient();

    private ServeOnFeed(TaskInstanceStore store, StateEventFeed real, TaskEventEngine engine, EventServer server) {
        this.store = store;
        this.real = real;
        this.engine = engine;
        this.server = server;
    }

    /** serve on a loopback port chosen by the system, with default settings. */
    static ServerSettings.Builder loopback() {
        return ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0));
    }

    /**
     * @param store the store; closed by {@link #close}
     * @param feed the feed serve reads, made from the store's own
     */
    static ServeOnFeed start(TaskInstanceStore store, UnaryOperator<StateEventFeed> feed, ServerSettings.Builder settings)
            throws IOException {
        StateEventFeed real = store.stateFeed().orElseThrow();
        StateEventFeed served = feed.apply(real);
        TaskInstanceStore wrapped = new ForwardingTaskInstanceStore(store) {
            @Override
            public Optional<StateEventFeed> stateFeed() {
                return Optional.of(served);
            }
        };
        TaskEventEngine engine = TaskEventEngine.builder().store(wrapped).stateFeed(Duration.ofHours(1)).build();
        EventServer server = new EventServer(engine, wrapped, settings.build());
        server.start();
        return new ServeOnFeed(store, real, engine, server);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.address().getPort() + path);
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    CompletableFuture<HttpResponse<String>> getAsync(String path) {
        return http.sendAsync(HttpRequest.newBuilder(uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A POST that must be answered 2xx. */
    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(r.statusCode() / 100 == 2, r.statusCode() + " " + r.body());
        return r;
    }

    /** A RUNNING event for task {@code task} of workflow {@code workflow}, which must be acknowledged. */
    void running(String eventId, long workflow, long task) throws IOException, InterruptedException {
        post("/v1/events", """
                {"eventId":"%s","type":"RUNNING","workflowInstanceId":%d,"taskInstanceId":%d,
                 "eventTime":"2026-01-01T00:00:00Z","host":"w1","startTime":"2026-01-01T00:00:00Z"}
                """.formatted(eventId, workflow, task));
    }

    /** The value of the unlabelled metric {@code name} on {@code /metrics}. */
    long metric(String name) throws IOException, InterruptedException {
        for (String line : get("/metrics").body().split("\n")) {
            if (line.startsWith(name + " ")) {
                return (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1).trim());
            }
        }
        throw new AssertionError("no metric " + name);
    }

    @Override
    public void close() {
        server.stop(Duration.ZERO);
        engine.close();
        store.close();
    }
}
