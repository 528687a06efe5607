package dev.taskevents.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class FeedTest {
    private final List<AutoCloseable> closing = new java.util.ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        closing.add(c);
        return c;
    }

    private TaskEventsClient client(URI node) {
        return closeLater(TaskEventsClient.builder(node).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).build());
    }

    private static StateEvent event(long workflow, long task, String id, long version) {
        return new StateEvent(workflow, task, TaskEventType.RESULT, TaskState.SUCCESS, id, version,
                Instant.parse("2026-11-27T09:00:00.123456Z"));
    }

    @Test
    void theReaderPagesLongPollsAndResumesFromAStoredCursor() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.publish(7, 71, "e1", 1);
        stub.publish(7, 72, "e2", 1);
        stub.publish(8, 81, "e3", 1);
        TaskEventsClient client = client(stub.uri);
        FeedReader feed = closeLater(client.feed(FeedCursor.OLDEST, 2, Duration.ofSeconds(30)));
        assertEquals(new FeedItem(event(7, 71, "e1", 1), FeedCursor.parse("c1")), feed.next());
        assertEquals(new FeedItem(event(7, 72, "e2", 1), FeedCursor.parse("c2")), feed.next());
        String stored = feed.cursor().toString();
        assertEquals(new FeedItem(event(8, 81, "e3", 1), FeedCursor.parse("c3")), feed.next());

        // Nothing after c3: the next poll parks at the server until an event is published.
        CountDownLatch parked = stub.nextParked();
        CompletableFuture<FeedItem> waiting = CompletableFuture.supplyAsync(feed::next);
        assertTrue(parked.await(30, TimeUnit.SECONDS), "the poll is parked");
        assertFalse(waiting.isDone());
        stub.publish(8, 81, "e4", 2);
        assertEquals(new FeedItem(event(8, 81, "e4", 2), FeedCursor.parse("c4")), waiting.get(30, TimeUnit.SECONDS));
        List<String> queries = stub.feedRequests().stream().map(StubServe.Request::query).toList();
        assertEquals(List.of("limit=2&wait=30", "after=c2&limit=2&wait=30", "after=c3&limit=2&wait=30"), queries);

        // Another reader, resumed from the cursor stored after e2, goes on with e3.
        FeedReader resumed = closeLater(client.feed(FeedCursor.parse(stored), 10, Duration.ZERO));
        assertEquals("e3", resumed.next().event().eventId());
        assertEquals("e4", resumed.next().event().eventId());
        assertEquals(FeedCursor.parse("c4"), resumed.cursor());
    }

    @Test
    void aRestartOfTheServerIsInvisibleToTheReader() throws Exception {
        StubServe first = StubServe.start();
        first.publish(1, 11, "e1", 1);
        int port = first.uri.getPort();
        TaskEventsClient client = client(first.uri);
        FeedReader feed = closeLater(client.feed(FeedCursor.OLDEST, 10, Duration.ZERO));
        assertEquals("e1", feed.next().event().eventId());
        first.close();
        CompletableFuture<FeedItem> next = CompletableFuture.supplyAsync(feed::next);
        StubServe second = closeLater(StubServe.start(port, null)); // the same feed, read from the database
        second.publish(1, 11, "e1", 1);
        second.publish(1, 11, "e2", 2);
        assertEquals(new FeedItem(event(1, 11, "e2", 2), FeedCursor.parse("c2")), next.get(30, TimeUnit.SECONDS));
        assertEquals("after=c1&limit=10&wait=0", second.feedRequests().getFirst().query());
    }

    @Test
    void aSubSecondWaitIsSentRoundedUpToWholeSecondsNotAsZero() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.publish(1, 11, "e1", 1);
        stub.publish(1, 11, "e2", 2);
        TaskEventsClient client = client(stub.uri);
        for (Duration wait : List.of(Duration.ofMillis(900), Duration.ofMillis(1_001), Duration.ofSeconds(3))) {
            assertEquals("e1", closeLater(client.feed(FeedCursor.OLDEST, 10, wait)).next().event().eventId());
        }
        assertEquals(List.of("limit=10&wait=1", "limit=10&wait=2", "limit=10&wait=3"),
                stub.feedRequests().stream().map(StubServe.Request::query).toList());
    }

    /**
     * A server that holds as many parked polls as it may answers 503 TOO_MANY_WAITERS: the reader
     * polls again after Retry-After, and since the server did answer, however long that lasts it
     * is not the outage that giveUpAfter bounds.
     */
    @Test
    void aServerFullOfWaitersIsPolledAgainAndIsNotAnOutage() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.publish(1, 11, "e1", 1);
        StubServe.Script full = StubServe.status(503, "0", "{\"error\":\"too many waiting polls\","
                + "\"code\":\"TOO_MANY_WAITERS\"}");
        stub.thenFeed((s, exchange, events) -> {
            try {
                Thread.sleep(1_500); // longer than giveUpAfter: the condition under test, not a wait for an outcome
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            full.answer(s, exchange, events);
        }).thenFeed(full);
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).backoff(Duration.ofMillis(1),
                Duration.ofMillis(5)).giveUpAfter(Duration.ofSeconds(1)).build());
        FeedReader feed = closeLater(client.feed(FeedCursor.OLDEST, 10, Duration.ofSeconds(30)));
        assertEquals("e1", feed.next().event().eventId());
        assertEquals(3, stub.feedRequests().size(), "two 503s, then the page");
    }

    @Test
    void anExpiredCursorGivesTheOldestAndWhatToDo() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        for (int i = 1; i <= 6; i++) {
            stub.publish(1, 11, "e" + i, i);
        }
        stub.prunedThrough(5);
        FeedReader feed = closeLater(client(stub.uri).feed(FeedCursor.parse("c2"), 10, Duration.ZERO));
        CursorExpiredException e = assertThrows(CursorExpiredException.class, feed::hasNext);
        assertEquals(FeedCursor.parse("c5"), e.oldest());
        assertTrue(e.getMessage().contains("c2"), e.getMessage());
        assertTrue(e.getMessage().contains("the cursor is older than the feed's retention (24h)"), e.getMessage());
        assertTrue(e.getMessage().contains("resume with oldest()"), e.getMessage());
        assertTrue(e.getMessage().contains("resynchronise"), e.getMessage());
        assertEquals(1, stub.feedRequests().size(), "not retried");
    }

    @Test
    void aCursorTheServerDidNotIssueIsInvalidAndA503IsRetried() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.thenFeed(StubServe.status(503, "0", "{\"error\":\"the store is unavailable; retry\"}"))
                .thenFeed(StubServe.status(400, null, "{\"error\":\"not a cursor of this service\",\"code\":\"BAD_CURSOR\"}"));
        FeedReader feed = closeLater(client(stub.uri).feed(FeedCursor.parse("te1.forged"), 10, Duration.ZERO));
        CursorInvalidException e = assertThrows(CursorInvalidException.class, feed::hasNext);
        assertEquals("BAD_CURSOR", e.code());
        assertTrue(e.getMessage().contains("not a cursor of this service"), e.getMessage());
        assertTrue(e.getMessage().contains("te1.forged"), e.getMessage());
        assertEquals(2, stub.feedRequests().size(), "the 503 was retried, the 400 not");
    }

    @Test
    void aWrongTokenOnTheFeedSaysSo() throws Exception {
        StubServe stub = closeLater(StubServe.start(0, "right"));
        FeedReader feed = closeLater(closeLater(TaskEventsClient.builder(stub.uri).token("wrong").build())
                .feed(FeedCursor.OLDEST, 10, Duration.ZERO));
        UnauthorizedException e = assertThrows(UnauthorizedException.class, feed::hasNext);
        assertTrue(e.getMessage().contains("refused the bearer token (401)"), e.getMessage());
    }

    @Test
    void thePublisherDeliversNoMoreThanRequestedAndPollsOnlyWithDemand() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        for (int i = 1; i <= 5; i++) {
            stub.publish(1, 10 + i, "e" + i, 1);
        }
        Flow.Publisher<FeedItem> publisher = client(stub.uri).feedPublisher(FeedCursor.OLDEST, 10, Duration.ofSeconds(30));
        LinkedBlockingQueue<Object> signals = new LinkedBlockingQueue<>();
        AtomicLong requested = new AtomicLong();
        AtomicLong delivered = new AtomicLong();
        CompletableFuture<Flow.Subscription> subscription = new CompletableFuture<>();
        publisher.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                subscription.complete(s);
            }

            @Override
            public void onNext(FeedItem item) {
                if (delivered.incrementAndGet() > requested.get()) {
                    signals.add(new AssertionError("delivered " + delivered.get() + " > requested " + requested.get()));
                }
                signals.add(item);
            }

            @Override
            public void onError(Throwable t) {
                signals.add(t);
            }

            @Override
            public void onComplete() {
                signals.add("complete");
            }
        });
        Flow.Subscription s = subscription.get(30, TimeUnit.SECONDS);
        assertEquals(0, stub.feedRequests().size(), "no demand, no poll");
        requested.addAndGet(2);
        s.request(2);
        assertEquals("e1", ((FeedItem) signals.poll(30, TimeUnit.SECONDS)).event().eventId());
        assertEquals("e2", ((FeedItem) signals.poll(30, TimeUnit.SECONDS)).event().eventId());
        requested.addAndGet(3);
        s.request(3);
        for (int i = 3; i <= 5; i++) {
            Object signal = signals.poll(30, TimeUnit.SECONDS);
            assertInstanceOf(FeedItem.class, signal, String.valueOf(signal));
            assertEquals("e" + i, ((FeedItem) signal).event().eventId());
            assertEquals(FeedCursor.parse("c" + i), ((FeedItem) signal).cursor());
        }
        assertEquals(1, stub.feedRequests().size(), "the five came in one page, delivered as demanded");
        // Demand again: the next poll parks at the server; cancel aborts it and nothing more comes.
        CountDownLatch parked = stub.nextParked();
        requested.addAndGet(1);
        s.request(1);
        assertTrue(parked.await(30, TimeUnit.SECONDS));
        s.cancel();
        stub.publish(1, 99, "after-cancel", 1);
        assertTrue(signals.isEmpty(), "nothing after cancel, no error, no complete: " + signals);
    }

    @Test
    void aRequestOfZeroIsAnErrorAsTheRulesSay() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        LinkedBlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
        client(stub.uri).feedPublisher(FeedCursor.LATEST).subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.request(0);
            }

            @Override
            public void onNext(FeedItem item) {
                errors.add(new AssertionError("onNext without demand"));
            }

            @Override
            public void onError(Throwable t) {
                errors.add(t);
            }

            @Override
            public void onComplete() {
                errors.add(new AssertionError("the feed has no end"));
            }
        });
        assertInstanceOf(IllegalArgumentException.class, errors.poll(30, TimeUnit.SECONDS));
    }

    @Test
    void aFeedOfAClosedClientSaysSo() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        TaskEventsClient client = TaskEventsClient.builder(stub.uri).build();
        FeedReader feed = closeLater(client.feed(FeedCursor.parse("c7"), 10, Duration.ZERO));
        client.close();
        ClientClosedException e = assertThrows(ClientClosedException.class, feed::hasNext);
        assertTrue(e.getMessage().contains("last stored cursor"), e.getMessage());
    }

    @Test
    void cursorsAreCheckedLocallyOnlyForWhatNoServerCursorHas() {
        assertEquals("te1.AAAAAAAAAAEAAAAAAAAAKg", FeedCursor.parse("te1.AAAAAAAAAAEAAAAAAAAAKg").toString());
        assertEquals(FeedCursor.LATEST, FeedCursor.parse("latest"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FeedCursor.parse("a b"));
        assertTrue(e.getMessage().contains("FeedCursor.OLDEST"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FeedCursor.parse(""));
    }
}
