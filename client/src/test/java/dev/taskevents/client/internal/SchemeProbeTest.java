package dev.taskevents.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The scheme probe is bounded in all, an address is probed at most once per period, and a probe
 * holds none of its caller's capacity.
 */
@Timeout(60)
class SchemeProbeTest {

    @Test
    void anAnswerDrippingSlowerThanTheProbesBoundInAllIsUnknownEvenIfEachByteComesWithinIt() throws Exception {
        // Each byte of "HTTP/" comes at least 150 ms after the one before: the fifth one at least
        // 600 ms after the first, past the probe's 400 ms in all, though every gap is within it.
        try (Server server = new Server(socket -> {
            OutputStream out = socket.getOutputStream();
            for (byte b : "HTTP/1.1 200 OK\r\n".getBytes(StandardCharsets.US_ASCII)) {
                out.write(b);
                out.flush();
                Thread.sleep(150);
            }
        })) {
            assertEquals(SchemeProbe.Spoken.UNKNOWN,
                    SchemeProbe.probe(server.uri, Duration.ofSeconds(1), Duration.ofMillis(400)));
        }
    }

    @Test
    void anAddressWhoseTriesAllFailIsProbedOnceWithinThePeriod() throws Exception {
        AtomicInteger probes = new AtomicInteger();
        AtomicInteger tries = new AtomicInteger();
        // Reads the request head and closes without an answer: a failure a wrong scheme explains.
        try (Server server = new Server(socket -> {
            String first = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII))
                    .readLine();
            (first != null && first.startsWith("GET /healthz") ? probes : tries).incrementAndGet();
        }); HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            Transport transport = new Transport(http, () -> null, Duration.ofSeconds(30), Duration.ZERO);
            for (int i = 0; i < 5; i++) {
                ExecutionException failed = assertThrows(ExecutionException.class,
                        () -> transport.post(server.uri, "/v1/events", "[]").get(30, TimeUnit.SECONDS));
                assertInstanceOf(IOException.class, failed.getCause());
                assertNull(Transport.schemeMismatch(failed.getCause()), "no mismatch: " + failed.getCause());
            }
            assertEquals(5, tries.get());
            assertEquals(1, probes.get(), "probes of one address within " + Transport.PROBE_PERIOD);
        }
    }

    @Test
    void aFailedTryFreesItsCallersCapacityWhenTheExchangeEndsNotWhenItsProbeDoes() throws Exception {
        CountDownLatch probeArrived = new CountDownLatch(1);
        AtomicBoolean probeEnded = new AtomicBoolean();
        // A try is closed unanswered; the probe is held unanswered until the probe itself gives up.
        try (Server server = new Server(socket -> {
            InputStream in = socket.getInputStream();
            String first = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII)).readLine();
            if (first != null && first.startsWith("GET /healthz")) {
                probeArrived.countDown();
                while (in.read() >= 0) {
                    // until the probe closes its end: its bound passed
                }
                probeEnded.set(true);
            }
        }); HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            Transport transport = new Transport(http, () -> null, Duration.ofSeconds(30), Duration.ZERO);
            CompletableFuture<Boolean> probeEndedWhenFreed = new CompletableFuture<>();
            CompletableFuture<?> answer = transport.post(server.uri, "/v1/events", "[]",
                    () -> probeEndedWhenFreed.complete(probeEnded.get()));
            assertEquals(false, probeEndedWhenFreed.get(30, TimeUnit.SECONDS), "the capacity was held by the probe");
            assertTrue(probeArrived.await(30, TimeUnit.SECONDS), "the failure was probed");
            assertThrows(ExecutionException.class, () -> answer.get(30, TimeUnit.SECONDS));
        }
    }

    private interface Handler {
        void handle(Socket socket) throws Exception;
    }

    /** A loopback server that runs {@code handler} on each connection, then closes it. */
    private static final class Server implements AutoCloseable {
        final URI uri;
        private final ServerSocket socket;

        Server(Handler handler) throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            uri = URI.create("http://127.0.0.1:" + socket.getLocalPort());
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        Thread.ofVirtual().start(() -> {
                            try (s) {
                                handler.handle(s);
                            } catch (Exception e) {
                                // the peer went away
                            }
                        });
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
