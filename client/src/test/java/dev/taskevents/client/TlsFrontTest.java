package dev.taskevents.client;

import static dev.taskevents.client.Events.running;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskState;
import dev.taskevents.client.internal.Json;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An https:// node whose TLS works (the handshake completes on every try) must never be taken for a
 * plain-HTTP server, whatever its plain-text port answers, and must not be probed again on every
 * failed try. The front here speaks TLS to a TLS ClientHello and, to plain text, either a plain
 * {@code HTTP/1.1 400} (as nginx's TLS port does) or a TLS alert (as the JDK's SSLEngine does).
 */
@Timeout(120)
class TlsFrontTest {
    private static final char[] PASSWORD = "test-only".toCharArray();
    private static SSLContext serverContext;
    private static SSLContext clientContext;

    @BeforeAll
    static void certificate(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("front.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "front", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=taskevents test", "-ext", "san=ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", new String(PASSWORD))
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "keytool: " + output);
        KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, PASSWORD);
        serverContext = SSLContext.getInstance("TLS");
        serverContext.init(kmf.getKeyManagers(), null, null);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("front", keys.getCertificate("front"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        clientContext = SSLContext.getInstance("TLS");
        clientContext.init(null, tmf.getTrustManagers(), null);
    }

    @Test
    void aSlowAnswerOnAnEstablishedTlsConnectionIsResentNotTakenForASchemeMismatch() throws Exception {
        try (TlsFront front = new TlsFront(TlsFront.PlainAnswer.HTTP_400)) {
            front.next(TlsFront.Tls.HOLD); // slow: answers after the client's request timeout
            try (TaskEventsClient client = TaskEventsClient.builder(front.uri).sslContext(clientContext)
                    .requestTimeout(Duration.ofMillis(300)).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                    .closeTimeout(Duration.ZERO).build()) {
                Object answer = client.send(running("slow-1", 1, 11)).handle((ack, failure) -> ack != null ? ack : failure)
                        .get(30, TimeUnit.SECONDS);
                assertEquals(new Ack.Applied("slow-1", TaskState.RUNNING, 1), answer,
                        "the TLS handshake completed, so the node speaks TLS: a slow answer is resent");
            }
        }
    }

    @Test
    void aNodeThatCompletedTheTlsHandshakeIsNotProbedOnEveryFailedTry() throws Exception {
        try (TlsFront front = new TlsFront(TlsFront.PlainAnswer.TLS_ALERT)) {
            front.next(TlsFront.Tls.DROP).next(TlsFront.Tls.DROP).next(TlsFront.Tls.DROP).next(TlsFront.Tls.DROP);
            try (TaskEventsClient client = TaskEventsClient.builder(front.uri).sslContext(clientContext)
                    .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).closeTimeout(Duration.ZERO).build()) {
                assertEquals(new Ack.Applied("drop-1", TaskState.RUNNING, 1),
                        client.send(running("drop-1", 1, 11)).get(30, TimeUnit.SECONDS));
                assertEquals(4, front.dropped.get());
                assertTrue(front.plainConnections.get() <= 1, "plain-text probes of a node that completed a TLS"
                        + " handshake on each of 4 failed tries: " + front.plainConnections.get());
            }
        }
    }

    /**
     * One port that speaks TLS to a ClientHello and answers plain text as configured. Each TLS
     * connection carries one request, handled as the next scripted {@link Tls} says (default:
     * answered APPLIED).
     */
    static final class TlsFront implements AutoCloseable {
        enum PlainAnswer { HTTP_400, TLS_ALERT }

        enum Tls { HOLD, DROP }

        final URI uri;
        final AtomicInteger plainConnections = new AtomicInteger();
        final AtomicInteger dropped = new AtomicInteger();
        private final ServerSocket server;
        private final PlainAnswer plain;
        private final ConcurrentLinkedDeque<Tls> scripts = new ConcurrentLinkedDeque<>();
        private final CountDownLatch closed = new CountDownLatch(1);
        private final Thread acceptor;

        TlsFront(PlainAnswer plain) throws IOException {
            this.plain = plain;
            this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            this.uri = URI.create("https://127.0.0.1:" + server.getLocalPort());
            this.acceptor = Thread.ofVirtual().start(this::accept);
        }

        TlsFront next(Tls script) {
            scripts.addLast(script);
            return this;
        }

        private void accept() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket socket) {
            try (socket) {
                BufferedInputStream in = new BufferedInputStream(socket.getInputStream());
                in.mark(1);
                int first = in.read();
                in.reset();
                if (first != 0x16) {
                    plainConnections.incrementAndGet();
                    OutputStream out = socket.getOutputStream();
                    out.write(plain == PlainAnswer.HTTP_400
                            ? ("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 52\r\n"
                            + "Connection: close\r\n\r\nThe plain HTTP request was sent to HTTPS port......").getBytes(
                                    StandardCharsets.US_ASCII)
                            : new byte[] {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x0a});
                    out.flush();
                    return;
                }
                byte[] consumed = in.readNBytes(in.available());
                try (SSLSocket tls = (SSLSocket) serverContext.getSocketFactory().createSocket(socket,
                        new java.io.ByteArrayInputStream(consumed), true)) {
                    tls.setUseClientMode(false);
                    tls.startHandshake();
                    InputStream tin = tls.getInputStream();
                    String body = readRequestBody(tin);
                    Tls script = scripts.pollFirst();
                    if (script == Tls.HOLD) {
                        closed.await(60, TimeUnit.SECONDS);
                        return;
                    }
                    if (script == Tls.DROP) {
                        dropped.incrementAndGet();
                        return;
                    }
                    StringBuilder acks = new StringBuilder();
                    for (Object e : (List<?>) Json.parse(body)) {
                        Map<?, ?> event = (Map<?, ?>) e;
                        acks.append(acks.isEmpty() ? "" : ",").append("{\"eventId\":")
                                .append(Json.quote((String) event.get("eventId"))).append(",\"outcome\":\"APPLIED\","
                                        + "\"state\":\"").append(event.get("state")).append("\",\"version\":1}");
                    }
                    byte[] answer = ("{\"acks\":[" + acks + "]}").getBytes(StandardCharsets.UTF_8);
                    OutputStream out = tls.getOutputStream();
                    out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + answer.length
                            + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(answer);
                    out.flush();
                }
            } catch (IOException | InterruptedException | RuntimeException e) {
                // the client went away; its next try is another connection
            }
        }

        private static String readRequestBody(InputStream in) throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            int matched = 0;
            while (matched < 4) {
                int b = in.read();
                if (b < 0) {
                    throw new IOException("the client closed inside the request head");
                }
                head.write(b);
                matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
            }
            int length = 0;
            for (String line : head.toString(StandardCharsets.US_ASCII).split("\r\n")) {
                if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                    length = Integer.parseInt(line.substring(15).strip());
                }
            }
            return new String(in.readNBytes(length), StandardCharsets.UTF_8);
        }

        @Override
        public void close() throws IOException {
            closed.countDown();
            server.close();
        }
    }
}
