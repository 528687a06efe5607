package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.testkit.Await;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * serve's HTTP front at its edges: a chunked body as large as the byte budget, a body paused
 * while the server drains, and a stop with parked polls whose clients do not read. (A trickled
 * TLS handshake: {@link ServeSecurityTest}.)
 */
class ServeFrontEdgesTest {
    private final HeldStore store = new HeldStore();
    private TaskEventEngine engine;
    private EventServer server;

    private void start(ServerSettings.Builder settings) throws Exception {
        engine = TaskEventEngine.builder().store(store).build();
        server = new EventServer(engine, store, settings.build());
        server.start();
    }

    @AfterEach
    void stop() {
        store.hold.countDown();
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
        }
    }

    /**
     * While the server drains, Jetty shortens every connection's idle timeout; a body read then
     * waiting is woken with a transient timeout. It goes on waiting to its own deadline and is
     * answered 408, never a 400 (which a client takes as bad input and does not resend).
     */
    @Test
    void aBodyPausedWhileTheServerDrainsGets408NotA400() throws Exception {
        start(ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)).maxBodyBytes(1 << 20)
                .bodyReadTimeout(Duration.ofSeconds(3)));
        try (Socket socket = new Socket("127.0.0.1", server.address().getPort())) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            Await.until(() -> server.readingBodies() == 1); // the handler waits for the rest of the body
            Thread stopper = Thread.ofPlatform().start(() -> server.stop(Duration.ofSeconds(15)));
            String text = new String(socket.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            stopper.join();
            server = null;
            engine.close();
            assertTrue(text.startsWith("HTTP/1.1 408"), text);
        }
    }

    /** A feed that is always empty. */
    private static final class EmptyFeed implements StateEventFeed {
        @Override public long feedId() { return 7; }
        @Override public FeedPage read(long after, int limit) { return new FeedPage(List.of(), 0, false); }
        @Override public long head() { return 0; }
        @Override public long prunedThrough() { return 0; }
        @Override public long prune(Duration retention, int maxEvents) { return 0; }
        @Override public void addListener(Runnable appended) { }
        @Override public void removeListener(Runnable appended) { }
    }

    /** A parked poll whose answer blocks, as a write to a client that reads nothing does, until released. */
    private static final class UnreadExchange implements Exchange {
        final CountDownLatch release;
        final CompletableFuture<Integer> status = new CompletableFuture<>();

        UnreadExchange(CountDownLatch release) {
            this.release = release;
        }

        @Override public String method() { return "GET"; }
        @Override public String path() { return "/v1/state-events"; }
        @Override public String rawQuery() { return "wait=60"; }
        @Override public String header(String name) { return null; }
        @Override public int read(byte[] into, int offset, int length, long deadlineNanos) { return -1; }
        @Override public void setHeader(String name, String value) { }

        @Override public void respond(int code, String contentType, byte[] body, int length) {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            status.complete(code);
        }

        @Override public void close() { }
    }

    /**
     * stop() answers parked polls 503 on handler threads: clients that do not read their answers
     * hold up their own writes, not the stop (whose drain comes after it).
     */
    @Test
    void stopAnswersParkedPollsWithoutWaitingForTheirWrites() throws Exception {
        ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
        StateEventsEndpoint endpoint = new StateEventsEndpoint(new EmptyFeed(), new JsonCodec(1 << 20),
                new ServerSettings.FeedSettings(Duration.ofHours(1), 256, Duration.ofSeconds(60), Duration.ofMillis(20)),
                handlers, new FeedReadLimits(new Semaphore(64), new Semaphore(1 << 24), 1 << 24), new RecentErrors());
        CountDownLatch release = new CountDownLatch(1);
        List<UnreadExchange> polls = List.of(new UnreadExchange(release), new UnreadExchange(release),
                new UnreadExchange(release));
        for (UnreadExchange poll : polls) {
            assertTrue(endpoint.handle(poll), "parked");
        }
        endpoint.stop(); // returns with every write still blocked: a serial stop would never return here
        assertTrue(polls.stream().noneMatch(p -> p.status.isDone()));
        release.countDown();
        for (UnreadExchange poll : polls) {
            assertEquals(503, poll.status.get());
        }
        handlers.shutdown();
    }

    private static String exchangeRaw(int port, byte[] request) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(request);
            out.flush();
            java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII));
            return in.readLine();
        }
    }

    /**
     * A chunked body of {@code maxBodyBytes} fits a byte budget of {@code maxBodyBytes} (allowed, and
     * the default on a heap of 128 MiB or less), as the same body with a Content-Length does: its
     * reservations never pass the limit, and the read that finds its end reserves nothing.
     */
    @Test
    void aChunkedBodyOfTheLimitFitsABudgetOfTheLimit() throws Exception {
        int max = 1 << 20;
        start(ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0)).maxBodyBytes(max).maxBufferedBytes(max)
                .bodyReadTimeout(Duration.ofSeconds(2)));
        byte[] body = new byte[max];
        java.util.Arrays.fill(body, (byte) ' ');
        body[0] = '[';
        body[max - 1] = ']';
        java.io.ByteArrayOutputStream chunked = new java.io.ByteArrayOutputStream();
        chunked.write("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        chunked.write((Integer.toHexString(max) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        chunked.write(body);
        chunked.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String chunkedStatus = exchangeRaw(server.address().getPort(), chunked.toByteArray());
        java.io.ByteArrayOutputStream sized = new java.io.ByteArrayOutputStream();
        sized.write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: " + max + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        sized.write(body);
        String sizedStatus = exchangeRaw(server.address().getPort(), sized.toByteArray());
        // An empty array of events: a 400 for each, after the whole body was read into the budget.
        assertEquals("HTTP/1.1 400 Bad Request", sizedStatus);
        assertEquals(sizedStatus, chunkedStatus, "a chunked body is read into the same budget");
    }
}
