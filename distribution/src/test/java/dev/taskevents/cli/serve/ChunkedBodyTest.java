package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.engine.TaskEventEngine;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bodies sent with {@code Transfer-Encoding: chunked}, that is without a Content-Length the
 * server could refuse before reading: the limit must hold while the body is read. Every other
 * test client sends a Content-Length. Raw sockets, so that the test controls the framing and can
 * see the answer arrive while it is still sending.
 */
class ChunkedBodyTest {
    private static final int LIMIT = 1 << 20;
    private static final int BUDGET = 32 << 20;
    private static final byte[] EVENT = ("{\"eventId\":\"e\",\"type\":\"RUNNING\",\"workflowInstanceId\":1,"
            + "\"taskInstanceId\":10,\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"w1\","
            + "\"startTime\":\"2026-01-01T00:00:00Z\"}").getBytes(StandardCharsets.US_ASCII);

    private final HeldStore store = new HeldStore();
    private TaskEventEngine engine;
    private EventServer server;

    @BeforeEach
    void start() throws Exception {
        store.insert(List.of(TaskInstance.submitted(10, 1, "t", Instant.EPOCH)));
        engine = TaskEventEngine.builder().store(store).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .maxBodyBytes(LIMIT).maxBufferedBytes(BUDGET).bodyReadTimeout(Duration.ofSeconds(6)).build());
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(Duration.ZERO);
        engine.close();
    }

    /** The status line of the answer, read on its own thread while the test writes. */
    private static CompletableFuture<String> statusLine(Socket socket) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                String line = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                        StandardCharsets.US_ASCII)).readLine();
                return line == null ? "closed without an answer" : line;
            } catch (IOException e) {
                return "closed: " + e;
            }
        }, runnable -> Thread.ofPlatform().daemon().start(runnable));
    }

    private Socket connect() throws IOException {
        Socket socket = new Socket("127.0.0.1", server.address().getPort());
        socket.setSoTimeout(30_000);
        socket.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                + "Content-Type: application/json\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        return socket;
    }

    private static void chunk(OutputStream out, byte[] data, int length) throws IOException {
        out.write((Integer.toHexString(length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(data, 0, length);
        out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * A well-formed JSON array of valid events, chunked, 1.5 times the limit: 413, and the event
     * is not applied. Read whole, it would be a valid request answered 200.
     */
    @Test
    void aChunkedBodyOverTheLimitIs413AndNothingOfItIsApplied() throws Exception {
        try (Socket socket = connect()) {
            CompletableFuture<String> status = statusLine(socket);
            OutputStream out = socket.getOutputStream();
            Thread writer = Thread.ofPlatform().daemon().start(() -> {
                try {
                    chunk(out, "[".getBytes(StandardCharsets.US_ASCII), 1);
                    byte[] next = ",".getBytes(StandardCharsets.US_ASCII);
                    for (long sent = 1; sent < LIMIT * 3L / 2; sent += EVENT.length + 1) {
                        if (sent > 1) {
                            chunk(out, next, 1);
                        }
                        chunk(out, EVENT, EVENT.length);
                    }
                    chunk(out, "]".getBytes(StandardCharsets.US_ASCII), 1);
                    out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                } catch (IOException refusedEarly) {
                    // the server answered and closed before the end: expected
                }
            });
            String line = status.get(30, TimeUnit.SECONDS);
            assertTrue(line.startsWith("HTTP/1.1 413 "), "a chunked body of 1.5 MiB over a 1 MiB limit got: " + line);
            writer.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertEquals(0, store.find(10).orElseThrow().version(), "nothing of a refused body is applied");
    }

    /**
     * A chunked body that never ends: the server answers 413 once it has read past the limit, while
     * the client has sent at most the limit plus what the two sockets' buffers hold, so the body is
     * never held whole (the server's byte budget, 32 MiB here, is not the limit). The test stops
     * sending at the answer, or at 64 MiB.
     */
    @Test
    void anEndlessChunkedBodyIsCutOffAt413WithinTheLimitAndTheBuffers() throws Exception {
        long sentAtAnswer;
        String line;
        try (Socket socket = connect()) {
            CompletableFuture<String> status = statusLine(socket);
            OutputStream out = socket.getOutputStream();
            byte[] data = new byte[64 * 1024];
            java.util.Arrays.fill(data, (byte) ' ');
            long sent = 0;
            try {
                while (!status.isDone() && sent < 64L << 20) {
                    chunk(out, data, data.length);
                    sent += data.length;
                }
            } catch (IOException closedByServer) {
                // the server answered and closed: the answer is in status
            }
            sentAtAnswer = sent;
            line = status.get(30, TimeUnit.SECONDS);
        }
        assertTrue(line.startsWith("HTTP/1.1 413 "), "an endless chunked body got: " + line + " after "
                + sentAtAnswer + " bytes");
        // Loopback socket buffers hold a few MiB at most (net.ipv4.tcp_wmem/rmem maxima).
        long bound = LIMIT + (16L << 20);
        assertTrue(sentAtAnswer <= bound, "the server read " + sentAtAnswer + " bytes before refusing; the"
                + " limit plus socket buffers is " + bound);
    }
}
