package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.testkit.Await;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
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
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger inRead = new AtomicInteger();
    private final AtomicInteger mostInRead = new AtomicInteger();
    private final ConcurrentLinkedQueue<Integer> limitsRead = new ConcurrentLinkedQueue<>();
    private ServeOnFeed serve;

    /** A server whose feed reads wait for {@link #release}, counting how many are inside at once. */
    private void start(ServerSettings.Builder settings) throws Exception {
        serve = ServeOnFeed.start(Stores.open("memory:"), real -> new ForwardingStateEventFeed(real) {
            @Override
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
        }, settings);
    }

    @AfterEach
    void stop() {
        release.countDown();
        if (serve != null) {
            serve.close();
        }
    }

    private CompletableFuture<HttpResponse<String>> poll(String query) {
        return serve.getAsync("/v1/state-events?" + query);
    }

    private static ServerSettings.Builder settings() {
        return ServeOnFeed.loopback();
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
