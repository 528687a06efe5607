package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.engine.TaskEventEngine;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A store outage whose exception is safe to log but whose cause is not: the JDBC store keeps the
 * driver's exception (its message holds SQL and bound values, a var pool among them) as the cause
 * of a StoreException with a safe message. serve's log, whoever writes to it (serve, the engine's
 * group committer that retries and then gives up), must hold the safe message and none of the
 * cause's text. The write fails every time, so the engine retries to the end and logs the failure.
 */
class ServeLogCauseTest {
    private static final String SECRET = "SECRET-VARPOOL-9191";

    @Test
    void aStoreOutageIsLoggedWithoutTheMessagesOfItsCauses() throws Exception {
        LogCapture log = new LogCapture();
        HeldStore store = new HeldStore();
        store.insert(List.of(TaskInstance.submitted(1, 1, "t", Instant.EPOCH)));
        store.failWritesWith = new StoreException("could not write a batch in jdbc:postgresql://db/x: the connection"
                + " failed (SQL state 08006)", new SQLException("ERROR: could not write update task_instance set"
                + " var_pool = '" + SECRET + "' where id = 1", "08006"));
        TaskEventEngine engine = TaskEventEngine.builder().store(store).build();
        EventServer server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1",
                0)).ackTimeout(Duration.ofSeconds(60)).build());
        server.start();
        try {
            HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                    "http://127.0.0.1:" + server.address().getPort() + "/v1/events")).POST(HttpRequest.BodyPublishers
                    .ofString("{\"eventId\":\"r\",\"type\":\"RESULT\",\"state\":\"SUCCESS\",\"workflowInstanceId\":1,"
                            + "\"taskInstanceId\":1,\"eventTime\":\"2026-01-01T00:00:00Z\","
                            + "\"endTime\":\"2026-01-01T00:00:00Z\",\"varPool\":\"" + SECRET + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, response.statusCode(), response.body());
            assertTrue(response.body().contains("\"NOT_APPLIED\""), response.body());
        } finally {
            server.stop(Duration.ZERO);
            engine.close();
            log.close();
        }
        List<String> lines = log.lines();
        assertTrue(lines.stream().anyMatch(l -> l.contains("failed 10 times")), "the engine gave up and logged it: "
                + lines);
        for (String line : lines) {
            assertFalse(line.contains(SECRET), "a log record holds the var pool: " + line);
        }
    }
}
