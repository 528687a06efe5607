package dev.taskevents.client;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A 503 TOO_MANY_WAITERS is an answer, not an outage: it does not count towards giveUpAfter,
 * whatever its Retry-After (serve sends 1 s) and however short the bound. The stub answers the
 * first poll so, then serves the page.
 */
@Timeout(60)
class FeedWaiterCapTest {
    private StubServe stub;
    private TaskEventsClient client;

    @AfterEach
    void close() throws Exception {
        if (client != null) {
            client.close();
        }
        if (stub != null) {
            stub.close();
        }
    }

    @Test
    void aServerFullOfWaitersIsNotAnOutageEvenWhenRetryAfterExceedsGiveUpAfter() throws Exception {
        stub = StubServe.start();
        stub.publish(1, 11, "e1", 1);
        stub.thenFeed(StubServe.status(503, "1", "{\"error\":\"too many waiting polls\",\"code\":\"TOO_MANY_WAITERS\"}"));
        client = TaskEventsClient.builder(stub.uri).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                .giveUpAfter(Duration.ofMillis(500)).build();
        try (FeedReader feed = client.feed(FeedCursor.OLDEST, 10, Duration.ofSeconds(30))) {
            String first;
            try {
                first = feed.next().event().eventId();
            } catch (ServerUnavailableException e) {
                throw new AssertionError("one 503 TOO_MANY_WAITERS with Retry-After: 1 made a reader with giveUpAfter"
                        + " 500 ms give up: " + e.getMessage(), e);
            }
            assertEquals("e1", first);
        }
        assertEquals(2, stub.feedRequests().size(), "the 503, then the page: " + stub.feedRequests());
    }
}
