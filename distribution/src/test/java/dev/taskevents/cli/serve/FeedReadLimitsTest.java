package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storecontract.Await;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Feed reads count against the server's limits like requests with bodies: {@code maxInFlight},
 * the byte budget ({@code maxBufferedBytes}) and a few read slots, so that many large polls at once
 * cannot hold a page each in memory and a store connection each. Reads are held inside the store
 * by a latch, so the polls that come meanwhile meet full limits.
 */
@Timeout(120)
class FeedReadLimitsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger inRead = new AtomicInteger();
    private final AtomicInteger mostInRead = new AtomicInteger();
    private final ConcurrentLinkedQueue<Integer> limitsRead = new ConcurrentLinkedQueue<>();
    private TaskInstanceStore memory;
    private TaskEventEngine engine;
    private EventServer server;

    /** A server whose feed reads wait for {@link #release}, counting how many are inside at once. */
    private void start(ServerSettings.Builder settings) throws Exception {
        memory = Stores.open("memory:");
        StateEventFeed real = memory.stateFeed().orElseThrow();
        StateEventFeed held = new StateEventFeed() {
            public long feedId() { return real.feedId(); }
            public FeedPage read(long after, int limit) {
                limitsRead.add(limit);
                mostInRead.accumulateAndGet(inRead.incrementAndGet(), Math::max);
                try {
                    release.await(60, TimeUnit.SECONDS);
                    return real.read(after, limit);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                } finally {
                    inRead.decrementAndGet();
                }
            }
            public long head() { return real.head(); }
            public long prunedThrough() { return real.prunedThrough(); }
            public long prune(Duration retention, int maxEvents) { return real.prune(retention, maxEvents); }
            public void addListener(Runnable appended) { real.addListener(appended); }
            public void removeListener(Runnable appended) { real.removeListener(appended); }
        };
        TaskInstanceStore store = new ForwardingTaskInstanceStore(memory) {
            @Override
            public Optional<StateEventFeed> stateFeed() {
                return Optional.of(held);
            }
        };
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build();
        server = new EventServer(engine, store, settings.build());
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
            memory.close();
        }
    }

    private CompletableFuture<HttpResponse<String>> poll(String query) {
        return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort()
                + "/v1/state-events?" + query)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static ServerSettings.Builder settings() {
        return ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0));
    }

    private static void assertBusy(HttpResponse<String> r) throws Exception {
        assertEquals(503, r.statusCode(), r.body());
        assertEquals("SERVER_BUSY", JSON.readTree(r.body()).get("code").asText(), r.body());
        assertEquals("1", r.headers().firstValue("Retry-After").orElse(""), r.body());
    }

    @Test
    void feedReadsTakeInFlightPermitsAndPollsOverThemAre503WithRetryAfter() throws Exception {
        start(settings().maxInFlight(2));
        List<CompletableFuture<HttpResponse<String>>> held = List.of(poll("limit=100"), poll("limit=100"));
        Await.until(() -> inRead.get() == 2);
        List<CompletableFuture<HttpResponse<String>>> more = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            more.add(poll("limit=100"));
        }
        // Either the three are refused, or (without the bound) they reach the store too.
        Await.until(() -> inRead.get() == 5 || more.stream().allMatch(CompletableFuture::isDone));
        assertEquals(2, mostInRead.get(), "feed reads in the store at once with maxInFlight 2");
        for (CompletableFuture<HttpResponse<String>> r : more) {
            assertBusy(r.get(30, TimeUnit.SECONDS));
        }
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> r : held) {
            assertEquals(200, r.get(30, TimeUnit.SECONDS).statusCode());
        }
        // The permits came back: a poll now is served.
        assertEquals(200, poll("limit=10").get(30, TimeUnit.SECONDS).statusCode());
    }

    @Test
    void aPageIsCutToTheByteBudgetAndAPollFindingNoneFreeIs503() throws Exception {
        int budget = 150 * FeedReadLimits.BYTES_PER_EVENT;
        start(settings().maxBodyBytes(64 * 1024).maxBufferedBytes(budget));
        CompletableFuture<HttpResponse<String>> first = poll("limit=10000");
        Await.until(() -> inRead.get() == 1);
        assertEquals(List.of(150), List.copyOf(limitsRead), "the limit the store was asked for under a budget of"
                + " 150 events' bytes");
        // The whole budget is held by the first read: another finds none free, within its wait.
        assertBusy(poll("limit=10").get(30, TimeUnit.SECONDS));
        assertEquals(1, mostInRead.get());
        release.countDown();
        assertEquals(200, first.get(30, TimeUnit.SECONDS).statusCode());
        assertEquals(200, poll("limit=10").get(30, TimeUnit.SECONDS).statusCode());
    }

    @Test
    void atMostAFewReadsAreInTheStoreAtOnceWhateverMaxInFlightAllows() throws Exception {
        start(settings().maxInFlight(256));
        List<CompletableFuture<HttpResponse<String>>> polls = new ArrayList<>();
        for (int i = 0; i < FeedReadLimits.READS_AT_ONCE + 2; i++) {
            polls.add(poll("limit=10"));
        }
        Await.until(() -> inRead.get() == FeedReadLimits.READS_AT_ONCE);
        // The two over the read slots wait for one (a second at most), then are refused.
        Await.until(() -> inRead.get() > FeedReadLimits.READS_AT_ONCE
                || polls.stream().filter(CompletableFuture::isDone).count() == 2);
        assertEquals(FeedReadLimits.READS_AT_ONCE, mostInRead.get(), "feed reads in the store at once");
        int busy = 0;
        for (CompletableFuture<HttpResponse<String>> p : polls) {
            if (p.isDone()) {
                assertBusy(p.get());
                busy++;
            }
        }
        assertEquals(2, busy);
        release.countDown();
        for (CompletableFuture<HttpResponse<String>> p : polls) {
            assertTrue(p.get(30, TimeUnit.SECONDS).statusCode() / 100 != 4);
        }
    }
}
