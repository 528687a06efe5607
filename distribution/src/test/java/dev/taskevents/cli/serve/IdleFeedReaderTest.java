package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.client.FeedCursor;
import dev.taskevents.client.FeedItem;
import dev.taskevents.client.FeedReader;
import dev.taskevents.client.TaskEventsClient;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.testkit.Await;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A feed reader of the Java client on an idle feed, against a real serve: it must not poll in a
 * tight loop, whatever its wait and whether or not the server has room to park its poll. Each test
 * counts the feed reads the server makes (its metric) over {@link #WINDOW} while the reader waits:
 * a reader that spins makes thousands, one that backs off a handful; the bound of 50 is far from
 * both, so the verdict does not depend on the machine's speed.
 */
@Timeout(120)
class IdleFeedReaderTest {
    private static final String TOKEN = "client-token-0123456789";
    private static final Duration WINDOW = Duration.ofSeconds(2);
    private static final int MOST_READS = 50;
    private TaskInstanceStore store;
    private TaskEventEngine engine;
    private EventServer server;
    private final List<TaskEventsClient> clients = new ArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();

    private void start(int maxWaiters) throws Exception {
        store = Stores.open("memory:");
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(24)).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .tokens(List.of(TOKEN)).feed(new ServerSettings.FeedSettings(Duration.ofHours(24), maxWaiters,
                        Duration.ofSeconds(60), Duration.ofMillis(20))).build());
        server.start();
        store.insert(List.of(TaskInstance.submitted(1, 7, "t1", Instant.now())));
    }

    @AfterEach
    void stop() {
        clients.forEach(c -> c.close(Duration.ZERO));
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
            store.close();
        }
    }

    private TaskEventsClient client() {
        TaskEventsClient c = TaskEventsClient.builder(URI.create("http://127.0.0.1:" + server.address().getPort()))
                .token(TOKEN).build();
        clients.add(c);
        return c;
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.address().getPort() + path))
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
    }

    private long reads() throws Exception {
        HttpResponse<String> r = get("/metrics");
        for (String line : r.body().split("\n")) {
            if (line.startsWith("taskevents_feed_reads_total ")) {
                return (long) Double.parseDouble(line.substring(line.indexOf(' ') + 1).trim());
            }
        }
        throw new AssertionError("no taskevents_feed_reads_total in " + r.body());
    }

    /** The feed reads the server makes over the window, from the moment {@code start} has polled once. */
    private long readsOverTheWindow(Runnable start) throws Exception {
        long initial = reads();
        start.run();
        Await.until(() -> {
            try {
                return reads() > initial;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        long before = reads();
        Thread.sleep(WINDOW.toMillis()); // the window the reads are counted over, not a wait for an outcome
        return reads() - before;
    }

    /** The reads while one reader waits in hasNext() on an idle feed. */
    private long readsWhileWaiting(FeedReader reader) throws Exception {
        Thread t = Thread.ofPlatform().daemon().unstarted(() -> {
            try {
                var unused = reader.hasNext(); // waits until the reader is closed
            } catch (RuntimeException e) {
                // closed
            }
        });
        long during = readsOverTheWindow(t::start);
        reader.close();
        t.join(10_000);
        return during;
    }

    @Test
    void aReaderWithWaitZeroBacksOffOnAnIdleFeed() throws Exception {
        start(256);
        long during = readsWhileWaiting(client().feed(FeedCursor.LATEST, 1000, Duration.ZERO));
        assertTrue(during < MOST_READS, "wait=0: " + during + " feed reads in " + WINDOW + " by one idle reader");
    }

    @Test
    void aSubSecondWaitIsRoundedUpToASecondNotSentAsZero() throws Exception {
        start(256);
        long during = readsWhileWaiting(client().feed(FeedCursor.LATEST, 1000, Duration.ofMillis(900)));
        assertTrue(during < MOST_READS, "wait=900ms: " + during + " feed reads in " + WINDOW + " by one idle reader");
    }

    @Test
    void overTheWaiterCapTwoReadersTakeTheOnePlaceInTurnWithoutSpinning() throws Exception {
        start(1);
        TaskEventsClient c = client();
        FeedReader first = c.feed(FeedCursor.LATEST, 1000, Duration.ofSeconds(30));
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                var unused = first.hasNext(); // waits until the reader is closed
            } catch (RuntimeException e) {
                // closed
            }
        });
        Await.until(() -> server.parkedPolls() == 1);
        HttpResponse<String> over = get("/v1/state-events?after=latest&wait=1");
        assertEquals(200, over.statusCode(), "a poll over the cap takes the oldest parked poll's place: " + over.body());
        assertEquals(0, new ObjectMapper().readTree(over.body()).get("events").size(), over.body());
        long during = readsWhileWaiting(c.feed(FeedCursor.LATEST, 1000, Duration.ofSeconds(30)));
        first.close();
        t.join(10_000);
        assertTrue(during < MOST_READS, "two readers of wait=30s and --max-feed-waiters 1, each answering the"
                + " other's parked poll early: " + during + " feed reads in " + WINDOW);
    }

    @Test
    void thePublisherWithWaitZeroBacksOffOnAnIdleFeed() throws Exception {
        start(256);
        Flow.Publisher<FeedItem> p = client().feedPublisher(FeedCursor.LATEST, 1000, Duration.ZERO);
        Flow.Subscription[] sub = new Flow.Subscription[1];
        long during = readsOverTheWindow(() -> p.subscribe(new Flow.Subscriber<>() {
            @Override public void onSubscribe(Flow.Subscription s) { sub[0] = s; s.request(1); }
            @Override public void onNext(FeedItem item) { }
            @Override public void onError(Throwable t) { }
            @Override public void onComplete() { }
        }));
        sub[0].cancel();
        assertTrue(during < MOST_READS, "publisher wait=0: " + during + " feed reads in " + WINDOW);
    }
}
