package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.StateEventFeed;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A parked poll is answered at its deadline whatever the store does with the head poll's read:
 * a store that hangs (a lock wait, a connection pool drained, a database that stopped answering)
 * holds that read, and the poll's deadline must not wait for it. Every head read is held by a
 * latch (the poll starts from a cursor, so its own start needs none; its parking's check of the
 * head is held too, on its handler thread); the head poll runs every 20 ms while the poll is
 * parked. The poll (wait=1) must be answered within 30 s, a bound that only detects a hang.
 */
@Timeout(120)
class ParkedPollDeadlineTest {
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch headHeld = new CountDownLatch(1);
    private volatile boolean holdHead;
    private ServeOnFeed serve;

    @AfterEach
    void stop() {
        release.countDown();
        if (serve != null) {
            serve.close();
        }
    }

    @Test
    void aParkedPollIsAnsweredAtItsDeadlineWhileAHeadReadHangs() throws Exception {
        serve = ServeOnFeed.start(Stores.open("memory:"), real -> new ForwardingStateEventFeed(real) {
            @Override
            public long head() {
                if (holdHead) {
                    headHeld.countDown();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return real.head();
            }
        }, ServeOnFeed.loopback());
        StateEventFeed real = serve.real;

        String after = new FeedCursor(real.feedId(), real.head()).encode();
        holdHead = true; // from now on a head read hangs, as in a store that stopped answering
        CompletableFuture<HttpResponse<String>> poll = serve.getAsync("/v1/state-events?wait=1&after=" + after);
        assertTrue(headHeld.await(30, TimeUnit.SECONDS), "the head is read while the poll is parked");
        HttpResponse<String> answer;
        try {
            answer = poll.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("a poll of wait=1 was not answered within 30 s while the head poll's read of the"
                    + " head hung (" + serve.server.parkedPolls() + " parked): its deadline waits for the store", e);
        }
        assertEquals(200, answer.statusCode(), answer.body());
    }
}
