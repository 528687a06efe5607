package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.testkit.Await;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A parked poll whose client went away (a feed reader closed, a process killed) does not keep a
 * live consumer out: with {@code --max-feed-waiters 1}, a poll parks and its connection is closed;
 * a new poll on the idle feed must not be answered 503 TOO_MANY_WAITERS for the dead one's whole
 * wait (60 s here).
 */
@Timeout(120)
class DisconnectedWaiterTest {
    private TaskInstanceStore store;
    private TaskEventEngine engine;
    private EventServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
            store.close();
        }
    }

    @Test
    void aWaiterWhoseClientWentAwayDoesNotKeepALiveConsumerOverTheCap() throws Exception {
        store = Stores.open("memory:");
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .feed(new ServerSettings.FeedSettings(Duration.ofHours(1), 1, Duration.ofSeconds(60),
                        Duration.ofMillis(20))).build());
        server.start();
        int port = server.address().getPort();
        try (Socket gone = new Socket("127.0.0.1", port)) {
            OutputStream out = gone.getOutputStream();
            out.write("GET /v1/state-events?after=latest&wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Await.until(() -> server.parkedPolls() == 1);
        } // the client is gone
        HttpResponse<String> live = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + port + "/v1/state-events?after=latest&wait=1")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, live.statusCode(), "a live poll on an idle feed after the only waiter's client closed its"
                + " connection (" + server.parkedPolls() + " parked): " + live.body());
    }
}
