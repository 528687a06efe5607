package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Stores;
import dev.taskevents.testkit.Await;
import dev.taskevents.testkit.TempDirs;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
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
    @Test
    void aParkedPollAtALastingHoleBacksOffItsReReads() throws Exception {
        String url = "jdbc:h2:file:" + TempDirs.create("lasting-hole").resolve("db").toAbsolutePath();
        try (ServeOnFeed serve = ServeOnFeed.start(Stores.open(url), feed -> feed, ServeOnFeed.loopback())) {
            serve.post("/v1/task-instances", "[{\"id\":1,\"workflowInstanceId\":7,\"name\":\"a\"},"
                    + "{\"id\":2,\"workflowInstanceId\":8,\"name\":\"b\"},{\"id\":3,\"workflowInstanceId\":9,\"name\":\"c\"}]");
            for (int i = 1; i <= 3; i++) {
                serve.running("r" + i, 6 + i, i);
            }
            String first = new ObjectMapper().readTree(serve.get("/v1/state-events?limit=1").body()).get("next").asText();
            try (Connection c = DriverManager.getConnection(url)) {
                int deleted = c.createStatement().executeUpdate(
                        "delete from \"task_state_feed\" where \"last_position\" = 2");
                assertEquals(1, deleted);
            }
            CompletableFuture<HttpResponse<String>> poll = serve.getAsync("/v1/state-events?wait=30&after=" + first);
            Await.until(() -> serve.server.parkedPolls() == 1);
            long before = serve.metric("taskevents_feed_reads_total");
            Thread.sleep(2_000); // the window the reads are counted over, not a wait for an outcome
            long during = serve.metric("taskevents_feed_reads_total") - before;
            assertFalse(poll.isDone(), "the poll stays parked at the hole");
            assertTrue(during < 50, during + " feed reads in 2 s for one parked poll at a lasting hole");
        }
    }
}
