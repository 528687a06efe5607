package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storecontract.Await;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Feed polls that wait for one of the few read slots do not hold the in-flight permits writers
 * need. One commit wakes every parked poll at once (256 by default, as many as the default
 * {@code --max-in-flight}); only {@link FeedReadLimits#READS_AT_ONCE} of them can read, and a poll
 * queued for a slot that already holds a permit takes it from the writers for up to a second.
 * Forced: five parked polls with maxInFlight 5 are woken through the feed's listener while reads
 * are held in the store; once four are reading and the fifth is queued for a slot, a worker's
 * event must still be taken.
 */
@Timeout(120)
class FeedReadsLeaveWritersPermitsTest {
    private final HttpClient http = HttpClient.newHttpClient();
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger inRead = new AtomicInteger();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean holdReads;
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

    private static Object field(Object owner, String name) throws Exception {
        Field f = owner.getClass().getDeclaredField(name);
        f.setAccessible(true);
        return f.get(owner);
    }

    @Test
    void pollsQueuedForAReadSlotLeaveWritersTheirPermits() throws Exception {
        memory = Stores.open("memory:");
        StateEventFeed real = memory.stateFeed().orElseThrow();
        StateEventFeed held = new StateEventFeed() {
            public long feedId() { return real.feedId(); }
            public FeedPage read(long after, int limit) {
                if (holdReads) {
                    inRead.incrementAndGet();
                    try {
                        release.await(60, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return real.read(after, limit);
            }
            public long head() { return real.head(); }
            public long prunedThrough() { return real.prunedThrough(); }
            public long prune(Duration retention, int maxEvents) { return real.prune(retention, maxEvents); }
            public void addListener(Runnable appended) { listeners.add(appended); real.addListener(appended); }
            public void removeListener(Runnable appended) { listeners.remove(appended); real.removeListener(appended); }
        };
        TaskInstanceStore store = new ForwardingTaskInstanceStore(memory) {
            @Override
            public Optional<StateEventFeed> stateFeed() {
                return Optional.of(held);
            }
        };
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build();
        int maxInFlight = FeedReadLimits.READS_AT_ONCE + 1;
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .maxInFlight(maxInFlight).build());
        server.start();
        memory.insert(List.of(TaskInstance.submitted(1, 7, "t1", Instant.now())));
        String base = "http://127.0.0.1:" + server.address().getPort();

        List<CompletableFuture<HttpResponse<String>>> polls = new ArrayList<>();
        for (int i = 0; i < maxInFlight; i++) {
            polls.add(http.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/state-events?after=latest&wait=30"))
                    .GET().build(), HttpResponse.BodyHandlers.ofString()));
        }
        Await.until(() -> server.parkedPolls() == maxInFlight);
        holdReads = true;
        listeners.forEach(Runnable::run); // a commit: every parked poll is woken and reads again
        Semaphore slots = (Semaphore) field(field(field(server, "stateEvents"), "limits"), "reads");
        Await.until(() -> inRead.get() == FeedReadLimits.READS_AT_ONCE && slots.getQueueLength() == 1);

        HttpResponse<String> sent = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/events"))
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"eventId":"r1","type":"RUNNING","workflowInstanceId":7,"taskInstanceId":1,
                         "eventTime":"2026-01-01T00:00:00Z","host":"w1","startTime":"2026-01-01T00:00:00Z"}
                        """)).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(sent.statusCode() / 100 == 2, "a worker's event while " + FeedReadLimits.READS_AT_ONCE
                + " feed reads are in the store and one more poll is queued for a read slot (maxInFlight "
                + maxInFlight + "): " + sent.statusCode() + " " + sent.body());
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> p : polls) {
            int status = p.get(30, TimeUnit.SECONDS).statusCode();
            assertTrue(status == 200 || status == 503, "a woken poll answered " + status);
        }
    }
}
