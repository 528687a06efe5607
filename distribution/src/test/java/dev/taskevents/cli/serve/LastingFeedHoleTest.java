package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storecontract.Await;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A hole that lasts (a feed row deleted by hand): a parked poll that stops at it is re-read without
 * a wake, since no commit may come, but less and less often while the hole lasts, not every 2 ms.
 * The feed reads the server makes over a window of 2 s are counted: about ten when backing off,
 * hundreds at a fixed 2 ms; the bound of 50 is far from both.
 */
@Timeout(120)
class LastingFeedHoleTest {
    private final HttpClient http = HttpClient.newHttpClient();
    private EventServer server;

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort() + path))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private void post(String path, String body) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort()
                + path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(r.statusCode() / 100 == 2, r.body());
    }

    private long reads() throws Exception {
        for (String line : get("/metrics").body().split("\n")) {
            if (line.startsWith("taskevents_feed_reads_total ")) {
                return (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1).trim());
            }
        }
        throw new AssertionError("no metric");
    }

    @Test
    void aParkedPollAtALastingHoleBacksOffItsReReads() throws Exception {
        String url = "jdbc:h2:file:" + Files.createTempDirectory("lasting-hole").resolve("db").toAbsolutePath();
        try (TaskInstanceStore store = Stores.open(url);
             TaskEventEngine engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build()) {
            server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)).build());
            server.start();
            try {
                post("/v1/task-instances", "[{\"id\":1,\"workflowInstanceId\":7,\"name\":\"a\"},"
                        + "{\"id\":2,\"workflowInstanceId\":8,\"name\":\"b\"},{\"id\":3,\"workflowInstanceId\":9,\"name\":\"c\"}]");
                for (int i = 1; i <= 3; i++) {
                    post("/v1/events", """
                            {"eventId":"r%d","type":"RUNNING","workflowInstanceId":%d,"taskInstanceId":%d,
                             "eventTime":"2026-01-01T00:00:00Z","host":"w1","startTime":"2026-01-01T00:00:00Z"}
                            """.formatted(i, 6 + i, i));
                }
                String first = new ObjectMapper().readTree(get("/v1/state-events?limit=1").body()).get("next").asText();
                try (Connection c = DriverManager.getConnection(url)) {
                    int deleted = c.createStatement().executeUpdate(
                            "delete from \"task_state_feed\" where \"last_position\" = 2");
                    assertEquals(1, deleted);
                }
                CompletableFuture<HttpResponse<String>> poll = http.sendAsync(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + server.address().getPort() + "/v1/state-events?wait=30&after=" + first))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                Await.until(() -> server.parkedPolls() == 1);
                long before = reads();
                Thread.sleep(2_000); // the window the reads are counted over, not a wait for an outcome
                long during = reads() - before;
                assertFalse(poll.isDone(), "the poll stays parked at the hole");
                assertTrue(during < 50, during + " feed reads in 2 s for one parked poll at a lasting hole");
            } finally {
                server.stop(Duration.ZERO);
            }
        }
    }
}
