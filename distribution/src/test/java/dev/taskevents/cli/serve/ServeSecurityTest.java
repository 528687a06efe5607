package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.testkit.TempDirs;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** serve's defences, each over a real connection. */
class ServeSecurityTest {
    private static final String TOKEN_A = "token-a-0123456789abcdef";
    private static final String TOKEN_B = "token-b-fedcba9876543210";

    private final HeldStore store = new HeldStore();
    private TaskEventEngine engine;
    private EventServer server;

    private EventServer start(List<String> tokens, boolean metricsPublic, SSLContext tls, int maxInFlight,
                              Duration bodyReadTimeout) throws Exception {
        engine = TaskEventEngine.builder().store(store).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .maxBodyBytes(1 << 20).bodyReadTimeout(bodyReadTimeout).ackTimeout(Duration.ofSeconds(30))
                .tokens(tokens).metricsPublic(metricsPublic).tls(tls).maxInFlight(maxInFlight).build());
        server.start();
        return server;
    }

    @AfterEach
    void stop() {
        store.hold.countDown();
        if (server != null) {
            server.stop(Duration.ZERO);
            engine.close();
        }
    }

    private URI uri(String path) {
        return URI.create((server.tls() ? "https" : "http") + "://127.0.0.1:" + server.address().getPort() + path);
    }

    private HttpResponse<String> get(HttpClient http, String path, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).GET();
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void onlyAConfiguredTokenGetsInAndTheRefusalGivesNoHint() throws Exception {
        start(List.of(TOKEN_A, TOKEN_B), false, null, 64, Duration.ofSeconds(10));
        store.insert(List.of(dev.taskevents.api.TaskInstance.submitted(1, 1, "t", java.time.Instant.EPOCH)));
        HttpClient http = HttpClient.newHttpClient();
        for (String wrong : new String[] {null, "Bearer nope-nope-nope-nope", "Bearer " + TOKEN_A + "x",
                "Basic " + TOKEN_A, "Bearer"}) {
            HttpResponse<String> refused = get(http, "/v1/task-instances/1", wrong);
            assertEquals(401, refused.statusCode(), String.valueOf(wrong));
            assertEquals("{\"error\":\"unauthorized\"}", refused.body(), "the same answer whatever was wrong");
            assertEquals("Bearer", refused.headers().firstValue("WWW-Authenticate").orElse(""));
        }
        assertEquals(200, get(http, "/v1/task-instances/1", "Bearer " + TOKEN_A).statusCode());
        assertEquals(200, get(http, "/v1/task-instances/1", "bearer " + TOKEN_B).statusCode(), "rotation: both work");
        assertEquals(200, get(http, "/healthz", null).statusCode(), "health stays open");
        assertEquals(401, get(http, "/metrics", null).statusCode(), "metrics need a token unless made public");
        assertEquals(200, get(http, "/metrics", "Bearer " + TOKEN_B).statusCode());
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(uri("/v1/events"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(401, post.statusCode(), "a stranger cannot post events");
    }

    @Test
    void metricsCanBeMadePublic() throws Exception {
        start(List.of(TOKEN_A), true, null, 64, Duration.ofSeconds(10));
        assertEquals(200, get(HttpClient.newHttpClient(), "/metrics", null).statusCode());
    }

    @Test
    void withoutATokenOnlyLoopbackIsAllowedAndBadTokensAreRefusedUnshown() {
        IllegalArgumentException open = assertThrows(IllegalArgumentException.class, () -> ServerSettings.builder(
                new InetSocketAddress("0.0.0.0", 0)).build());
        assertTrue(open.getMessage().startsWith("refusing to listen on 0.0.0.0 without authentication"),
                open.getMessage());
        IllegalArgumentException shortToken = assertThrows(IllegalArgumentException.class, () -> ServerSettings.builder(
                new InetSocketAddress("127.0.0.1", 0)).tokens(List.of("hunter2")).build());
        assertFalse(shortToken.getMessage().contains("hunter2"), shortToken.getMessage());
    }

    @Test
    void tokensComeFromTheEnvironmentAndAFileNeverFromArguments() throws Exception {
        Path dir = TempDirs.create("serve-tokens");
        Path file = dir.resolve("tokens.txt");
        Files.writeString(file, "# rotated monthly\n" + TOKEN_A + "\n\n" + TOKEN_B + "\n");
        assertEquals(List.of("env-token-0123456789", "env-token-9876543210", TOKEN_A, TOKEN_B),
                Credentials.tokens("env-token-0123456789, env-token-9876543210", file.toString()));
        Path empty = Files.createFile(dir.resolve("empty.txt"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Credentials.tokens(null, empty.toString()))
                .getMessage().contains("holds no token"));
        assertFalse(ServeCommand.HELP.contains("--token "), "no option takes a token itself");
    }

    @Test
    void httpsWithASelfSignedCertificateMadeNow() throws Exception {
        Path dir = TempDirs.create("tls");
        Path keystore = dir.resolve("server.p12");
        Path passwordFile = selfSignedKeystore(keystore);

        start(List.of(TOKEN_A), false, Credentials.tls(keystore.toString(), passwordFile.toString()), 64,
                Duration.ofSeconds(10));
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            trust.load(in, "changeit-secret".toCharArray());
        }
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        SSLContext client = SSLContext.getInstance("TLS");
        client.init(null, trustManagers.getTrustManagers(), null);
        HttpClient https = HttpClient.newBuilder().sslContext(client).build();
        assertEquals(200, get(https, "/healthz", null).statusCode());
        assertEquals(200, get(https, "/metrics", "Bearer " + TOKEN_A).statusCode());
        assertThrows(java.io.IOException.class, () -> get(HttpClient.newHttpClient(), "/healthz", null),
                "a client that does not trust the certificate is refused");
        assertThrows(IllegalArgumentException.class, () -> Credentials.tls(keystore.toString(), null));
    }

    /**
     * A client that sends its request head one byte at a time is cut off: a head still arriving
     * after bodyReadTimeout (2 s here) closes the connection.
     */
    @Test
    void aSlowClientDoesNotHoldAConnectionForever() throws Exception {
        start(List.of(), true, null, 64, Duration.ofSeconds(2));
        byte[] head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".getBytes(StandardCharsets.US_ASCII);
        assertTrue(closedWhileTrickling(head, (byte) 'a'), "the server kept a trickling connection open for 40 s");
    }

    /**
     * A TLS handshake trickled a byte at a time (each byte resets the idle timeout) is closed once
     * it has taken longer than {@code bodyReadTimeout}, as a trickled request head is.
     */
    @Test
    void aTlsHandshakeTrickledPastTheHeadTimeIsClosed() throws Exception {
        Path dir = TempDirs.create("tls-trickle");
        Path keystore = dir.resolve("server.p12");
        Path passwordFile = selfSignedKeystore(keystore);
        start(List.of(), true, Credentials.tls(keystore.toString(), passwordFile.toString()), 64, Duration.ofSeconds(2));
        byte[] record = {0x16, 0x03, 0x01, 0x40, 0x00}; // the header of a 16 KiB handshake record, to come
        assertTrue(closedWhileTrickling(record, (byte) 0x01), "the server kept a trickled TLS handshake open for 40 s");
    }

    /**
     * Sends {@code first}, then {@code each} every 500 ms, until the server closes the connection
     * or 40 s passed (a guard: the server's bound is far below it); whether it closed.
     */
    private boolean closedWhileTrickling(byte[] first, byte each) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", server.address().getPort())) {
            CountDownLatch closed = new CountDownLatch(1);
            InputStream in = socket.getInputStream();
            Thread.ofPlatform().daemon().start(() -> {
                try {
                    while (in.read() >= 0) {
                        // drain until the server closes
                    }
                } catch (java.io.IOException e) {
                    // closed
                }
                closed.countDown();
            });
            OutputStream out = socket.getOutputStream();
            out.write(first);
            long start = System.nanoTime();
            try {
                while (closed.getCount() > 0 && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(40)) {
                    out.write(each);
                    out.flush();
                    closed.await(500, TimeUnit.MILLISECONDS);
                }
            } catch (java.io.IOException writeFailed) {
                closed.await(5, TimeUnit.SECONDS);
            }
            return closed.getCount() == 0;
        }
    }

    /** Makes a self-signed certificate for 127.0.0.1 in {@code keystore}; returns its password file. */
    private static Path selfSignedKeystore(Path keystore) throws Exception {
        Path passwordFile = keystore.resolveSibling("password");
        Files.writeString(passwordFile, "changeit-secret\n");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "taskevents", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", "changeit-secret").redirectErrorStream(true).start();
        String keytoolOut = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0, keytoolOut);
        return passwordFile;
    }

    @Test
    void aTricklingBodyGets408() throws Exception {
        start(List.of(), true, null, 64, Duration.ofSeconds(2));
        try (Socket socket = new Socket("127.0.0.1", server.address().getPort())) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            CompletableFuture<String> status = CompletableFuture.supplyAsync(() -> {
                try {
                    return new java.io.BufferedReader(new java.io.InputStreamReader(socket.getInputStream(),
                            StandardCharsets.US_ASCII)).readLine();
                } catch (java.io.IOException e) {
                    return "closed: " + e;
                }
            });
            for (int i = 0; i < 60 && !status.isDone(); i++) {
                try {
                    out.write(' ');
                    out.flush();
                } catch (java.io.IOException e) {
                    break;
                }
                Thread.sleep(500); // the trickle itself: one byte every half second
            }
            assertTrue(status.get(30, TimeUnit.SECONDS).startsWith("HTTP/1.1 408 "), status.get());
        }
    }

    @Test
    void oversizedHeadersAreRefused() throws Exception {
        start(List.of(), true, null, 64, Duration.ofSeconds(2));
        int status;
        try {
            status = HttpClient.newHttpClient().send(HttpRequest.newBuilder(uri("/healthz"))
                    .header("X-Big", "b".repeat(64 * 1024)).GET().build(), HttpResponse.BodyHandlers.ofString())
                    .statusCode();
        } catch (java.io.IOException closedByServer) {
            status = -1;
        }
        assertTrue(status == -1 || status >= 400, "64 KiB of headers must not be served, got " + status);
    }

    @Test
    void tooManyRequestsInFlightAre503() throws Exception {
        start(List.of(), true, null, 1, Duration.ofSeconds(2));
        store.insert(List.of(dev.taskevents.api.TaskInstance.submitted(1, 1, "t", java.time.Instant.EPOCH)));
        store.hold = new CountDownLatch(1);
        HttpClient http = HttpClient.newHttpClient();
        CompletableFuture<HttpResponse<String>> slow = http.sendAsync(HttpRequest.newBuilder(uri("/v1/events"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"eventId\":\"d1\",\"type\":\"DISPATCH\","
                        + "\"workflowInstanceId\":1,\"taskInstanceId\":1,\"eventTime\":\"2026-01-01T00:00:00Z\","
                        + "\"host\":\"w\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(store.writeEntered.await(10, TimeUnit.SECONDS));
        HttpResponse<String> busy = get(http, "/v1/task-instances/1", null);
        assertEquals(503, busy.statusCode());
        assertEquals("1", busy.headers().firstValue("Retry-After").orElse(""));
        store.hold.countDown();
        assertEquals(200, slow.get(10, TimeUnit.SECONDS).statusCode());
    }

    /**
     * The requests that make serve log are made, and each is proven to have reached its log line:
     * the error id in its answer is in a log record of EventServer. Then no record, from any
     * logger, holds a token, the var pool or the body. The store's failures carry the var pool in
     * their messages, as a driver's message holds bound values.
     */
    @Test
    void logsNeverHoldATokenAVarPoolOrABody() throws Exception {
        LogCapture log = new LogCapture();
        String secretVarPool = "SECRET-VARPOOL-4242";
        String body = "{\"eventId\":\"x\",\"type\":\"RESULT\",\"workflowInstanceId\":1,\"taskInstanceId\":77,"
                + "\"state\":\"SUCCESS\",\"eventTime\":\"2026-01-01T00:00:00Z\",\"endTime\":\"2026-01-01T00:00:00Z\","
                + "\"varPool\":\"" + secretVarPool + "\"}";
        List<String> errorIds = new ArrayList<>();
        try {
            start(List.of(TOKEN_A), false, null, 64, Duration.ofSeconds(2));
            store.insert(List.of(dev.taskevents.api.TaskInstance.submitted(77, 1, "t", java.time.Instant.EPOCH)));
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> stranger = http.send(HttpRequest.newBuilder(uri("/v1/events"))
                    .header("Authorization", "Bearer wrong-" + TOKEN_B)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, stranger.statusCode());

            // The write fails: the event's answer is NOT_APPLIED with an error id that serve logs.
            store.failWritesWith = new IllegalStateException("write failed: insert ... '" + secretVarPool + "'");
            HttpResponse<String> notApplied = http.send(HttpRequest.newBuilder(uri("/v1/events"))
                    .header("Authorization", "Bearer " + TOKEN_A).POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(503, notApplied.statusCode(), notApplied.body());
            assertTrue(notApplied.body().contains("\"outcome\":\"NOT_APPLIED\""), notApplied.body());
            errorIds.add(errorId(notApplied.body()));

            // Reads and inserts fail: each answer has its own error id, logged by serve.
            store.failWith = new dev.taskevents.api.spi.StoreException("insert failed: " + secretVarPool);
            for (HttpRequest request : List.of(
                    HttpRequest.newBuilder(uri("/v1/task-instances")).header("Authorization", "Bearer " + TOKEN_A)
                            .POST(HttpRequest.BodyPublishers.ofString("{\"id\":5,\"workflowInstanceId\":1,"
                                    + "\"name\":\"" + secretVarPool + "\"}")).build(),
                    HttpRequest.newBuilder(uri("/v1/task-instances/5")).header("Authorization", "Bearer " + TOKEN_A)
                            .GET().build())) {
                HttpResponse<String> failed = http.send(request, HttpResponse.BodyHandlers.ofString());
                assertEquals(503, failed.statusCode(), failed.body());
                assertFalse(failed.body().contains("SECRET-VARPOOL"), failed.body());
                errorIds.add(errorId(failed.body()));
            }
        } finally {
            log.close();
        }
        List<String> lines = log.lines();
        for (String id : errorIds) {
            assertTrue(log.records().stream().anyMatch(r -> EventServer.class.getName().equals(r.getLoggerName())
                    && LogCapture.formatted(r).contains("error " + id)), "no log record of EventServer for error " + id
                    + ": the request never reached serve's logging; logged: " + lines);
        }
        for (String line : lines) {
            assertFalse(line.contains(TOKEN_A) || line.contains(TOKEN_B) || line.contains("SECRET-VARPOOL")
                    || line.contains("\"eventId\""), line);
        }
    }

    /** The 8-character error id an answer names, as serve writes it: "error 1a2b3c4d". */
    private static String errorId(String answer) {
        java.util.regex.Matcher id = java.util.regex.Pattern.compile("error ([0-9a-f]{8})").matcher(answer);
        assertTrue(id.find(), "no error id in " + answer);
        return id.group(1);
    }
}
