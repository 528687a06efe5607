package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Stores;
import dev.taskevents.testkit.TempDirs;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
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
    @Test
    void aParkedPollBeforeAMissingLastRowDoesNotReReadInALoop() throws Exception {
        String url = "jdbc:h2:file:" + TempDirs.create("missing-last-row").resolve("db").toAbsolutePath();
        try (ServeOnFeed serve = ServeOnFeed.start(Stores.open(url), feed -> feed, ServeOnFeed.loopback())) {
            serve.post("/v1/task-instances", "[{\"id\":1,\"workflowInstanceId\":7,\"name\":\"a\"},"
                    + "{\"id\":2,\"workflowInstanceId\":8,\"name\":\"b\"}]");
            for (int i = 1; i <= 2; i++) {
                serve.running("r" + i, 6 + i, i);
            }
            String first = new ObjectMapper().readTree(serve.get("/v1/state-events?limit=1").body()).get("next").asText();
            try (Connection c = DriverManager.getConnection(url)) {
                assertEquals(1, c.createStatement().executeUpdate(
                        "delete from \"task_state_feed\" where \"last_position\" = 2"));
            }
            long before = serve.metric("taskevents_feed_reads_total");
            HttpResponse<String> poll = serve.get("/v1/state-events?wait=1&after=" + first);
            long during = serve.metric("taskevents_feed_reads_total") - before;
            assertEquals(200, poll.statusCode(), poll.body());
            assertEquals(0, new ObjectMapper().readTree(poll.body()).get("events").size(), poll.body());
            assertTrue(during < 50, during + " feed reads for one poll of wait=1 parked before a missing last"
                    + " feed row (the head is past its cursor, no row and no hole after it)");
        }
    }
}
