package dev.taskevents.client;

import static dev.taskevents.client.Events.running;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskState;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A token supplier (a token file read for each request, for rotation): each token it
 * gives is stripped of surrounding whitespace, a token that cannot be sent and a supplier that
 * throws fail that try only (resent like a refused connection), and no message anywhere, event
 * or feed, shows the token.
 */
@Timeout(60)
class TokenSupplierTest {
    private static final String SECRET = "secret-token-0123456789";
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

    private static URI nothingListening() throws IOException {
        try (ServerSocket reserve = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return URI.create("http://127.0.0.1:" + reserve.getLocalPort());
        }
    }

    private static void assertNoToken(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            assertFalse(String.valueOf(t.getMessage()).contains("secret-token"), "the token is in a message: " + t);
        }
    }

    @Test
    void aSuppliedTokenIsSentWithoutTheTrailingNewlineOfItsFile() throws Exception {
        StubServe stub = closeLater(StubServe.start(0, SECRET));
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(() -> SECRET + "\n").build());
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), client.send(running("e1", 1, 11)).get(30, TimeUnit.SECONDS));
        assertEquals("Bearer " + SECRET, stub.requests.getFirst().authorization());
    }

    @Test
    void theTokenFileSupplierOfTheBuildersJavadocSendsTheFilesToken(@TempDir Path dir) throws Exception {
        Path tokenFile = Files.writeString(dir.resolve("token"), SECRET + "\n");
        StubServe stub = closeLater(StubServe.start(0, SECRET));
        TaskEventsClient.Builder builder = TaskEventsClient.builder(stub.uri);
        builder.token(() -> {
            try {
                return Files.readString(tokenFile);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        TaskEventsClient client = closeLater(builder.build());
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), client.send(running("e1", 1, 11)).get(30, TimeUnit.SECONDS));
        assertEquals("Bearer " + SECRET, stub.requests.getFirst().authorization());
    }

    @Test
    void anEventsFailureNeverShowsTheSuppliedToken() throws Exception {
        TaskEventsClient client = closeLater(TaskEventsClient.builder(nothingListening()).token(() -> SECRET + "\n")
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).giveUpAfter(Duration.ofMillis(200)).build());
        Throwable failure = SendingTest.failureOf(client.send(running("e1", 1, 11)));
        assertInstanceOf(ServerUnavailableException.class, failure);
        assertNoToken(failure);
    }

    @Test
    void aSuppliedTokenWithALineBreakInsideIsNeverSentAndNeverShown() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        String broken = SECRET + "\n" + SECRET;
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(() -> broken)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).giveUpAfter(Duration.ofMillis(200)).build());
        ServerUnavailableException failure = assertInstanceOf(ServerUnavailableException.class,
                SendingTest.failureOf(client.send(running("e1", 1, 11))));
        assertTrue(failure.getMessage().contains("the token supplier's token holds a control character"),
                failure.getMessage());
        assertTrue(failure.getMessage().contains("the request was not sent"), failure.getMessage());
        assertNoToken(failure);
        assertEquals(List.of(), stub.requests, "nothing was sent");

        try (FeedReader feed = client.feed(FeedCursor.OLDEST, 10, Duration.ZERO)) {
            RuntimeException feedFailure = assertThrows(ServerUnavailableException.class, feed::hasNext);
            assertTrue(feedFailure.getMessage().contains("control character"), feedFailure.getMessage());
            assertNoToken(feedFailure);
        }
        assertEquals(List.of(), stub.requests, "nothing was sent");
    }

    @Test
    void aFeedFailureNeverShowsTheSuppliedToken() throws Exception {
        TaskEventsClient client = closeLater(TaskEventsClient.builder(nothingListening()).token(() -> SECRET + "\n")
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).giveUpAfter(Duration.ofMillis(200)).build());
        try (FeedReader feed = client.feed(FeedCursor.OLDEST, 10, Duration.ZERO)) {
            assertNoToken(assertThrows(ServerUnavailableException.class, feed::hasNext));
        }
    }

    @Test
    void aTokenSupplierFailingOnceCostsOneTryAndTheEventIsApplied() throws Exception {
        StubServe stub = closeLater(StubServe.start(0, SECRET));
        AtomicInteger calls = new AtomicInteger();
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(() -> {
            if (calls.getAndIncrement() == 0) {
                throw new UncheckedIOException(new IOException("token file being rotated"));
            }
            return SECRET;
        }).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).build());
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), client.send(running("e1", 1, 11)).get(30, TimeUnit.SECONDS));
        assertEquals(2, calls.get());
        assertEquals(1, client.resends());
        assertEquals(1, stub.requests.size(), "the failed try sent nothing");
    }

    @Test
    void aTokenSupplierThatKeepsFailingEndsInServerUnavailableNamingTheSupplier() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(() -> {
            throw new UncheckedIOException(new IOException("token file missing"));
        }).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).giveUpAfter(Duration.ofMillis(200)).build());
        ServerUnavailableException failure = assertInstanceOf(ServerUnavailableException.class,
                SendingTest.failureOf(client.send(running("e1", 1, 11))));
        assertTrue(failure.getMessage().contains("the token supplier failed with java.io.UncheckedIOException"
                + " <- java.io.IOException"), failure.getMessage());
        assertEquals(List.of(), stub.requests);
    }

    @Test
    void aGivenTokenIsStrippedAndOneWithALineBreakInsideIsRefusedWithoutShowingIt() throws Exception {
        StubServe stub = closeLater(StubServe.start(0, SECRET));
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(" " + SECRET + "\r\n").build());
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), client.send(running("e1", 1, 11)).get(30, TimeUnit.SECONDS));

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
                () -> TaskEventsClient.builder(stub.uri).token(SECRET + "\n" + SECRET));
        assertTrue(refused.getMessage().contains("control character"), refused.getMessage());
        assertNoToken(refused);
    }

    @Test
    void aTokenSupplierThrowingAnErrorCostsOneTryAndDoesNotStopSending() throws Exception {
        StubServe stub = closeLater(StubServe.start(0, SECRET));
        AtomicInteger calls = new AtomicInteger();
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(() -> {
            if (calls.getAndIncrement() == 0) {
                throw new AssertionError("the vault client is not initialised yet");
            }
            return SECRET;
        }).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).giveUpAfter(Duration.ofSeconds(5))
                .closeTimeout(Duration.ZERO).build());
        java.util.concurrent.CompletableFuture<Ack> first = client.send(running("e1", 1, 11));
        java.util.concurrent.CompletableFuture<Ack> second = client.send(running("e2", 2, 21));
        // A generous bound that only detects a hang: each answer takes milliseconds.
        Object answered = first.handle((ack, failure) -> ack != null ? ack : failure)
                .completeOnTimeout("no answer within 20 s: the send thread is gone", 20, TimeUnit.SECONDS).get();
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), answered,
                "a supplier's Error must fail one try (or the event), not end the sending");
        assertEquals(new Ack.Applied("e2", TaskState.RUNNING, 1),
                second.completeOnTimeout(null, 20, TimeUnit.SECONDS).get(), "a later event is sent too");
    }

    @Test
    void aVirtualMachineErrorOfTheTokenSupplierFailsOneTryAndSendingGoesOn() throws Exception {
        StubServe stub = closeLater(StubServe.start(0, SECRET));
        AtomicInteger calls = new AtomicInteger();
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(() -> {
            if (calls.getAndIncrement() == 0) {
                throw new StackOverflowError("a supplier recursing without end");
            }
            return SECRET;
        }).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).maxInFlight(1).closeTimeout(Duration.ZERO).build());
        java.util.concurrent.CompletableFuture<Ack> first = client.send(running("e1", 1, 11));
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), first.get(30, TimeUnit.SECONDS));
        assertEquals(new Ack.Applied("e2", TaskState.RUNNING, 1),
                client.send(running("e2", 2, 21)).get(30, TimeUnit.SECONDS), "the one send slot was freed");
        assertEquals(1, client.resends());
    }

    @Test
    void aTokenSupplierFailureQuotingTheTokenDoesNotCarryItIntoTheEventsFailure() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(() -> {
            // as a JSON parser reports a vault answer that is the bare token
            throw new IllegalStateException("Unrecognized token '" + SECRET + "': was expecting JSON");
        }).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).giveUpAfter(Duration.ofMillis(200)).build());
        Throwable failure = SendingTest.failureOf(client.send(running("e1", 1, 11)));
        assertInstanceOf(ServerUnavailableException.class, failure);
        assertNoToken(failure);
    }
}
