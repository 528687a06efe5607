package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The feed's last row deleted by hand (the head counts a position no row holds): a read after the
 * row before it finds nothing and no hole, with the head past the cursor. A parked poll there must
 * not be woken again and again by the register-then-check of its own parking, each wake a read:
 * the reads one poll of wait=1 costs are counted from its start to its answer, a handful when it
 * waits, thousands when it re-reads in a loop; the bound of 50 is far from both.
 */
@Timeout(120)
class MissingLastFeedRowTest {
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
    void aParkedPollBeforeAMissingLastRowDoesNotReReadInALoop() throws Exception {
        String url = "jdbc:h2:file:" + Files.createTempDirectory("missing-last-row").resolve("db").toAbsolutePath();
        try (TaskInstanceStore store = Stores.open(url);
             TaskEventEngine engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build()) {
            server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)).build());
            server.start();
            try {
                post("/v1/task-instances", "[{\"id\":1,\"workflowInstanceId\":7,\"name\":\"a\"},"
                        + "{\"id\":2,\"workflowInstanceId\":8,\"name\":\"b\"}]");
                for (int i = 1; i <= 2; i++) {
                    post("/v1/events", """
                            {"eventId":"r%d","type":"RUNNING","workflowInstanceId":%d,"taskInstanceId":%d,
                             "eventTime":"2026-01-01T00:00:00Z","host":"w1","startTime":"2026-01-01T00:00:00Z"}
                            """.formatted(i, 6 + i, i));
                }
                String first = new ObjectMapper().readTree(get("/v1/state-events?limit=1").body()).get("next").asText();
                try (Connection c = DriverManager.getConnection(url)) {
                    assertEquals(1, c.createStatement().executeUpdate(
                            "delete from \"task_state_feed\" where \"last_position\" = 2"));
                }
                long before = reads();
                HttpResponse<String> poll = get("/v1/state-events?wait=1&after=" + first);
                long during = reads() - before;
                assertEquals(200, poll.statusCode(), poll.body());
                assertEquals(0, new ObjectMapper().readTree(poll.body()).get("events").size(), poll.body());
                assertTrue(during < 50, during + " feed reads for one poll of wait=1 parked before a missing last"
                        + " feed row (the head is past its cursor, no row and no hole after it)");
            } finally {
                server.stop(Duration.ZERO);
            }
        }
    }
}
