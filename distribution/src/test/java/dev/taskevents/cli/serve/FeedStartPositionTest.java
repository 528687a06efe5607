package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.testkit.Await;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
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
    private ServeOnFeed serve;
    private LongSupplier prunedThrough;
    private LongSupplier head;
    /**
     * Set: the next read once the feed has an event first lets the cleaner delete every event there
     * is, then counts down {@link #pruned}.
     */
    private final AtomicBoolean pruneBeforeNextRead = new AtomicBoolean();
    private final CountDownLatch pruned = new CountDownLatch(1);

    private void start() throws Exception {
        serve = ServeOnFeed.start(Stores.open("memory:"), real -> {
            prunedThrough = real::prunedThrough;
            head = real::head;
            return new ForwardingStateEventFeed(real) {
                @Override
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

                @Override
                public long head() {
                    return head.getAsLong();
                }

                @Override
                public long prunedThrough() {
                    return prunedThrough.getAsLong();
                }
            };
        }, ServeOnFeed.loopback());
    }

    @AfterEach
    void stop() {
        if (serve != null) {
            serve.close();
        }
    }

    /** The store down while a poll without a cursor (or with latest) resolves its start: 503 like every other read. */
    @Test
    void aStoreFailureResolvingOldestOrLatestIs503WithRetryAfter() throws Exception {
        start();
        prunedThrough = () -> { throw new StoreException("the database is down (test)"); };
        head = () -> { throw new StoreException("the database is down (test)"); };
        HttpResponse<String> oldest = serve.get("/v1/state-events");
        HttpResponse<String> latest = serve.get("/v1/state-events?after=latest");
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
        serve.post("/v1/task-instances", "[{\"id\":1,\"workflowInstanceId\":7,\"name\":\"t1\"},"
                + "{\"id\":2,\"workflowInstanceId\":7,\"name\":\"t2\"}]");
        serve.running("r1", 7, 1);
        serve.running("r2", 7, 2);
        StateEventFeed real = serve.real;
        prunedThrough = () -> {
            long through = real.prunedThrough();
            real.prune(Duration.ZERO, 1); // the cleaner's chunk, between the two reads
            return through;
        };
        HttpResponse<String> oldest = serve.get("/v1/state-events");
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
        serve.post("/v1/task-instances", "[{\"id\":1,\"workflowInstanceId\":7,\"name\":\"t1\"},"
                + "{\"id\":2,\"workflowInstanceId\":7,\"name\":\"t2\"}]");
        CompletableFuture<HttpResponse<String>> poll = serve.getAsync("/v1/state-events?wait=60");
        Await.until(() -> serve.server.parkedPolls() == 1);
        pruneBeforeNextRead.set(true);
        serve.running("r1", 7, 1); // wakes the poll; its read finds r1 deleted
        assertTrue(pruned.await(30, TimeUnit.SECONDS));
        serve.running("r2", 7, 2);
        HttpResponse<String> answer = poll.get(30, TimeUnit.SECONDS);
        assertEquals(200, answer.statusCode(), answer.body());
        assertTrue(answer.body().contains("\"eventId\":\"r2\""), answer.body());
    }
}
