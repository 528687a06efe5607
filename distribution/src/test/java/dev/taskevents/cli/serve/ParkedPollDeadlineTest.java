package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
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
    private final HttpClient http = HttpClient.newHttpClient();
    private final CountDownLatch release = new CountDownLatch(1);
    private final CountDownLatch headHeld = new CountDownLatch(1);
    private volatile boolean holdHead;
    private TaskInstanceStore memory;
    private TaskEventEngine engine;
    private EventServer server;

    @AfterEach
    void stop() {
        release.countDown();
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
            memory.close();
        }
    }

    @Test
    void aParkedPollIsAnsweredAtItsDeadlineWhileAHeadReadHangs() throws Exception {
        memory = Stores.open("memory:");
        StateEventFeed real = memory.stateFeed().orElseThrow();
        StateEventFeed hanging = new StateEventFeed() {
            public long feedId() { return real.feedId(); }
            public FeedPage read(long after, int limit) { return real.read(after, limit); }
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
            public long prunedThrough() { return real.prunedThrough(); }
            public long prune(Duration retention, int maxEvents) { return real.prune(retention, maxEvents); }
            public void addListener(Runnable appended) { real.addListener(appended); }
            public void removeListener(Runnable appended) { real.removeListener(appended); }
        };
        TaskInstanceStore store = new ForwardingTaskInstanceStore(memory) {
            @Override
            public Optional<StateEventFeed> stateFeed() {
                return Optional.of(hanging);
            }
        };
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)).build());
        server.start();

        String after = new FeedCursor(real.feedId(), real.head()).encode();
        holdHead = true; // from now on a head read hangs, as in a store that stopped answering
        CompletableFuture<HttpResponse<String>> poll = http.sendAsync(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + server.address().getPort() + "/v1/state-events?wait=1&after=" + after)).GET()
                .build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(headHeld.await(30, TimeUnit.SECONDS), "the head is read while the poll is parked");
        HttpResponse<String> answer;
        try {
            answer = poll.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("a poll of wait=1 was not answered within 30 s while the head poll's read of the"
                    + " head hung (" + server.parkedPolls() + " parked): its deadline waits for the store", e);
        }
        assertEquals(200, answer.statusCode(), answer.body());
    }
}
