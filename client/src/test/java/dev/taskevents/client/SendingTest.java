package dev.taskevents.client;

import static dev.taskevents.client.Events.result;
import static dev.taskevents.client.Events.running;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskState;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class SendingTest {
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

    private TaskEventsClient.Builder client(URI node) {
        return TaskEventsClient.builder(node).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).closeTimeout(Duration.ZERO);
    }

    /** The failure of {@code future}, waiting at most 30 s (join() would ignore the test's timeout). */
    static Throwable failureOf(CompletableFuture<?> future) throws Exception {
        try {
            Object value = future.get(30, TimeUnit.SECONDS);
            throw new AssertionError("expected a failure, got " + value);
        } catch (java.util.concurrent.ExecutionException e) {
            return e.getCause();
        }
    }

    @Test
    void eventsGoInBatchesOfTheConfiguredSizeWithTheirOwnFields() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        // A linger far above the test's run: a batch goes when it is full, not on a timer.
        TaskEventsClient client = closeLater(client(stub.uri).batch(3, Duration.ofMinutes(5)).build());
        List<CompletableFuture<Ack>> acks = new java.util.ArrayList<>();
        for (int i = 1; i <= 6; i++) {
            acks.add(client.send(i % 2 == 0 ? result("e" + i, i, 10 + i) : running("e" + i, i, 10 + i)));
        }
        for (int i = 1; i <= 6; i++) {
            Ack ack = acks.get(i - 1).get(30, TimeUnit.SECONDS);
            assertEquals(new Ack.Applied("e" + i, i % 2 == 0 ? TaskState.SUCCESS : TaskState.RUNNING, 1), ack);
        }
        List<List<String>> batches = stub.postedBatches();
        assertEquals(2, batches.size(), "two requests of three: " + batches);
        assertEquals(Set.of("e1", "e2", "e3", "e4", "e5", "e6"),
                batches.stream().flatMap(List::stream).collect(Collectors.toSet()));
        batches.forEach(b -> assertEquals(3, b.size(), "each request full: " + batches));
    }

    @Test
    void a503IsResentNoSoonerThanItsRetryAfterAndItsFinalAcksAreKept() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        // serve's 503 after a failed batch: final acks for some events, NOT_APPLIED for others, none for the rest.
        stub.then(StubServe.status(503, "1", "{\"acks\":[{\"eventId\":\"a\",\"outcome\":\"APPLIED\",\"state\":\"RUNNING\","
                + "\"version\":4},{\"eventId\":\"b\",\"outcome\":\"NOT_APPLIED\",\"message\":\"not applied (error x): resend it\"}],"
                + "\"error\":\"the engine is at capacity; 1 events were not accepted: resend them\"}"));
        TaskEventsClient client = closeLater(client(stub.uri).batch(3, Duration.ofMinutes(5)).build());
        CompletableFuture<Ack> a = client.send(running("a", 1, 11));
        CompletableFuture<Ack> b = client.send(running("b", 2, 12));
        CompletableFuture<Ack> c = client.send(running("c", 3, 13));
        assertEquals(new Ack.Applied("a", TaskState.RUNNING, 4), a.get(30, TimeUnit.SECONDS));
        assertEquals(new Ack.Applied("b", TaskState.RUNNING, 1), b.get(30, TimeUnit.SECONDS));
        assertEquals(new Ack.Applied("c", TaskState.RUNNING, 1), c.get(30, TimeUnit.SECONDS));
        List<StubServe.Request> posts = stub.requests.stream().filter(r -> r.path().equals("/v1/events")).toList();
        assertEquals(Set.of("a", "b", "c"), Set.copyOf(posts.getFirst().eventIds()));
        List<String> resent = posts.stream().skip(1).flatMap(r -> r.eventIds().stream()).sorted().toList();
        assertEquals(List.of("b", "c"), resent, "a, acknowledged in the 503, is not resent");
        for (StubServe.Request later : posts.subList(1, posts.size())) {
            assertTrue(later.arrivedNanos() - posts.getFirst().arrivedNanos() >= TimeUnit.SECONDS.toNanos(1),
                    "resent after Retry-After: 1, not sooner");
        }
    }

    @Test
    void aRefusedConnectionIsRetriedUntilTheServerIsUp() throws Exception {
        int port;
        try (ServerSocket reserve = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = reserve.getLocalPort();
        }
        ObservedHttpClient http = new ObservedHttpClient();
        closeLater(http);
        TaskEventsClient client = closeLater(TaskEventsClient.builder(URI.create("http://127.0.0.1:" + port))
                .httpClient(http).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).batch(10, Duration.ZERO).build());
        CompletableFuture<Ack> ack = client.send(running("e1", 1, 11));
        for (int refused = 0; refused < 2; ) {
            ObservedHttpClient.Outcome outcome = http.outcomes.poll(30, TimeUnit.SECONDS);
            assertTrue(outcome != null && outcome.failure() != null, "a try failed: " + outcome);
            assertTrue(dev.taskevents.client.internal.Transport.isConnectionRefused(outcome.failure()), outcome.toString());
            refused++;
        }
        assertFalse(ack.isDone(), "a refused connection is not an answer");
        StubServe stub = closeLater(StubServe.start(port, null));
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), ack.get(30, TimeUnit.SECONDS));
        assertEquals(1, stub.applyCount("e1"));
    }

    @Test
    void aConnectionDroppedAfterTheServerAppliedIsResentAndAnsweredDuplicate() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.then(StubServe.applyThenDrop());
        TaskEventsClient client = closeLater(client(stub.uri).batch(10, Duration.ZERO).build());
        Ack ack = client.send(result("r1", 1, 11)).get(30, TimeUnit.SECONDS);
        assertEquals(new Ack.Duplicate("r1", TaskState.SUCCESS), ack);
        assertEquals(1, stub.applyCount("r1"), "applied once, though sent twice");
        assertEquals(List.of(List.of("r1"), List.of("r1")), stub.postedBatches());
    }

    @Test
    void aWorkflowsNextEventWaitsForTheAnswerToItsPreviousWhileOtherWorkflowsGoOn() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        stub.then(StubServe.status(503, "0", "{\"error\":\"the store is unavailable; retry\"}"))
                .then(StubServe.held(entered, release));
        TaskEventsClient client = closeLater(client(stub.uri).batch(10, Duration.ZERO).build());
        CompletableFuture<Ack> first = client.send(running("w1-running", 1, 11));
        assertTrue(entered.await(30, TimeUnit.SECONDS), "the resend of w1-running is held at the server");
        // Sent while w1's first event is unanswered: w1's next must wait, w2's must not.
        CompletableFuture<Ack> second = client.send(result("w1-result", 1, 11));
        CompletableFuture<Ack> other = client.send(running("w2-running", 2, 21));
        assertEquals(new Ack.Applied("w2-running", TaskState.RUNNING, 1), other.get(30, TimeUnit.SECONDS));
        assertFalse(second.isDone());
        assertEquals(List.of(List.of("w1-running"), List.of("w1-running"), List.of("w2-running")), stub.postedBatches(),
                "w1-result not sent while w1-running is unanswered");
        release.countDown();
        assertEquals(new Ack.Applied("w1-running", TaskState.RUNNING, 1), first.get(30, TimeUnit.SECONDS));
        assertEquals(new Ack.Applied("w1-result", TaskState.SUCCESS, 2), second.get(30, TimeUnit.SECONDS));
        assertEquals(List.of("w1-result"), stub.postedBatches().get(3));
    }

    @Test
    void concurrentSendersKeepEachWorkflowsOrder() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        TaskEventsClient client = closeLater(client(stub.uri).batch(16, Duration.ofMillis(1)).maxInFlight(4).build());
        int workflows = 8;
        int perWorkflow = 25;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> senders = new java.util.ArrayList<>();
        List<CompletableFuture<Ack>> acks = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        for (int w = 1; w <= workflows; w++) {
            long workflow = w;
            senders.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                for (int i = 0; i < perWorkflow; i++) {
                    acks.add(client.send(running("w" + workflow + "-" + i, workflow, workflow * 100 + i)));
                }
            }));
        }
        go.countDown();
        for (Thread t : senders) {
            t.join();
        }
        CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        // The stub's arrival order, per workflow, is the order of that workflow's send calls.
        java.util.Map<String, List<Integer>> arrived = new java.util.TreeMap<>();
        for (List<String> batch : stub.postedBatches()) {
            java.util.Set<String> workflowsInBatch = new java.util.HashSet<>();
            for (String id : batch) {
                String w = id.substring(0, id.indexOf('-'));
                assertTrue(workflowsInBatch.add(w), "two events of " + w + " in one request: " + batch);
                arrived.computeIfAbsent(w, k -> new java.util.ArrayList<>()).add(Integer.parseInt(id.substring(id.indexOf('-') + 1)));
            }
        }
        List<Integer> expected = java.util.stream.IntStream.range(0, perWorkflow).boxed().toList();
        assertEquals(workflows, arrived.size());
        arrived.forEach((w, order) -> assertEquals(expected, order, w));
    }

    @Test
    void aWrongTokenFailsWithAMessageThatSaysWhatToDo() throws Exception {
        StubServe stub = closeLater(StubServe.start(0, "the-right-token"));
        TaskEventsClient client = closeLater(client(stub.uri).token("a-wrong-token").build());
        Throwable failure = failureOf(client.send(running("e1", 1, 11)));
        UnauthorizedException e = assertInstanceOf(UnauthorizedException.class, failure);
        assertEquals(401, e.status());
        assertTrue(e.getMessage().contains("refused the bearer token (401)"), e.getMessage());
        assertTrue(e.getMessage().contains("check the token"), e.getMessage());
        assertTrue(e.getMessage().contains(stub.uri.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("a-wrong-token"), "the token is never shown: " + e.getMessage());
        assertEquals("Bearer a-wrong-token", stub.requests.getFirst().authorization());
        assertEquals(1, stub.requests.size(), "not resent");

        TaskEventsClient right = closeLater(client(stub.uri).token("the-right-token").build());
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), right.send(running("e1", 1, 11)).get(30, TimeUnit.SECONDS));
    }

    @Test
    void aRefusedBatchIsSplitSoThatOnlyTheBadEventFails() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        StubServe.Script refuseBad = (s, exchange, events) -> {
            if (events.stream().anyMatch(e -> e.get("eventId").equals("bad"))) {
                StubServe.write(exchange, 413, "{\"error\":\"event 1: varPool is 2000000 bytes (UTF-8), the limit is 1048576"
                        + " (serve --max-var-pool-bytes)\"}");
            } else {
                s.answerByDefault(exchange, events);
            }
        };
        stub.then(refuseBad).then(refuseBad).then(refuseBad);
        TaskEventsClient client = closeLater(client(stub.uri).batch(2, Duration.ofMinutes(5)).build());
        CompletableFuture<Ack> good = client.send(running("good", 1, 11));
        CompletableFuture<Ack> bad = client.send(result("bad", 2, 21));
        assertEquals(new Ack.Applied("good", TaskState.RUNNING, 1), good.get(30, TimeUnit.SECONDS));
        EventRefusedException e = assertInstanceOf(EventRefusedException.class, failureOf(bad));
        assertEquals("bad", e.eventId());
        assertEquals(413, e.status());
        assertTrue(e.getMessage().contains("varPool is 2000000 bytes"), e.getMessage());
        List<List<String>> batches = stub.postedBatches();
        assertEquals(Set.of("good", "bad"), Set.copyOf(batches.getFirst()), "first as one request");
        assertEquals(Set.of(List.of("good"), List.of("bad")), Set.copyOf(batches.subList(1, batches.size())),
                "then each alone, once: " + batches);
        assertEquals(0, stub.applyCount("bad"));
    }

    @Test
    void closeFailsWhatIsUnansweredAndRefusesNewEvents() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        closing.add(release::countDown);
        stub.then(StubServe.held(entered, release));
        TaskEventsClient client = client(stub.uri).batch(10, Duration.ZERO).build();
        CompletableFuture<Ack> held = client.send(running("held", 1, 11));
        CompletableFuture<Ack> queued = client.send(result("queued", 1, 11));
        assertTrue(entered.await(30, TimeUnit.SECONDS));
        assertEquals(2, client.close(Duration.ZERO));
        ClientClosedException e = assertInstanceOf(ClientClosedException.class, failureOf(held));
        assertTrue(e.getMessage().contains("send it again with another client"), e.getMessage());
        assertInstanceOf(ClientClosedException.class, failureOf(queued));
        assertInstanceOf(ClientClosedException.class, failureOf(client.send(running("late", 2, 21))));
    }

    /**
     * giveUpAfter counts from an event's first send, not from {@code send}: an event that waited in
     * the client behind its workflow's earlier one for longer than the bound is still resent after
     * a 503 to its first try.
     */
    @Test
    void timeQueuedInTheClientDoesNotCountTowardsGiveUpAfter() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        closing.add(release::countDown);
        stub.then(StubServe.held(entered, release))
                .then(StubServe.status(503, "0", "{\"error\":\"the server is busy; retry\"}"));
        TaskEventsClient client = closeLater(client(stub.uri).batch(10, Duration.ZERO)
                .giveUpAfter(Duration.ofMillis(300)).build());
        CompletableFuture<Ack> first = client.send(running("w1-running", 1, 11));
        CompletableFuture<Ack> second = client.send(result("w1-result", 1, 11));
        assertTrue(entered.await(30, TimeUnit.SECONDS));
        Thread.sleep(400); // w1-result queued longer than giveUpAfter: the condition under test, not a wait for an outcome
        release.countDown();
        assertEquals(new Ack.Applied("w1-running", TaskState.RUNNING, 1), first.get(30, TimeUnit.SECONDS));
        assertEquals("w1-result", second.get(30, TimeUnit.SECONDS).eventId(), "resent after the 503 to its first try");
    }

    @Test
    void giveUpAfterBoundsTheResendsWithServerUnavailable() throws Exception {
        int port;
        try (ServerSocket reserve = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = reserve.getLocalPort();
        }
        TaskEventsClient client = closeLater(TaskEventsClient.builder(URI.create("http://127.0.0.1:" + port))
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).giveUpAfter(Duration.ofMillis(50)).build());
        ServerUnavailableException e = assertInstanceOf(ServerUnavailableException.class,
                failureOf(client.send(running("e1", 1, 11))));
        assertTrue(e.getMessage().contains("resend it"), e.getMessage());
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
    }

    @Test
    void ackFromTheEmbeddedEngineAnswerAndMovedRefused() {
        assertEquals(new Ack.Duplicate("e", TaskState.RUNNING),
                Ack.from(new Acknowledgement.Duplicate("e", TaskState.RUNNING)));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Ack.from(new Acknowledgement.Moved("e", 3, "http://b:8080")));
        assertTrue(e.getMessage().contains("http://b:8080"), e.getMessage());
        assertFalse(new Ack.Rejected("e", Acknowledgement.Rejected.Reason.UNKNOWN_TASK_INSTANCE, "no task 7").delivered());
        assertTrue(new Ack.Stale("e", TaskState.SUCCESS).delivered());
    }
}
