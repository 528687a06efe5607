package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.client.Ack;
import dev.taskevents.client.CursorExpiredException;
import dev.taskevents.client.FeedCursor;
import dev.taskevents.client.FeedItem;
import dev.taskevents.client.FeedReader;
import dev.taskevents.client.ServerUnavailableException;
import dev.taskevents.client.TaskEventsClient;
import dev.taskevents.client.TlsException;
import dev.taskevents.client.UnauthorizedException;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.testkit.Await;
import dev.taskevents.testkit.LoopbackPorts;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The client against a real serve ({@link EventServer} in process, over real HTTP and TLS, with
 * the feed on): the errors a user can act on. A wrong token, a certificate the client does not
 * trust (or one for another host) and an expired cursor each end in the client's own exception,
 * at once and with what to do, never in a resend loop; the same client configured right works
 * against the same server (so the error is the cause named, not something else). The client's
 * own tests use a stub server; these pin the pair.
 */
@Timeout(180)
class ClientOnServeTest {
    private static final String TOKEN = "client-token-0123456789";
    private static final String WRONG = "wrong-token-9876543210";
    private static final Instant T = Instant.parse("2026-11-27T09:00:00Z");

    private TaskInstanceStore store;
    private TaskEventEngine engine;
    private EventServer server;
    private final List<TaskEventsClient> clients = new ArrayList<>();

    private void start(SSLContext tls) throws Exception {
        store = Stores.open("memory:");
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(24)).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .tokens(List.of(TOKEN)).tls(tls).build());
        server.start();
        List<TaskInstance> tasks = new ArrayList<>();
        for (long id = 1; id <= 4; id++) {
            tasks.add(TaskInstance.submitted(id, 7, "t" + id, T));
        }
        store.insert(tasks);
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

    private URI uri() {
        return URI.create((server.tls() ? "https" : "http") + "://127.0.0.1:" + server.address().getPort());
    }

    private TaskEventsClient client(TaskEventsClient.Builder builder) {
        TaskEventsClient client = builder.backoff(Duration.ofMillis(10), Duration.ofMillis(200)).build();
        clients.add(client);
        return client;
    }

    private static TaskEvent running(long task) {
        return TaskEvent.builder("r" + task, TaskEventType.RUNNING, 7, task).eventTime(T).startTime(T).host("w:1").build();
    }

    /** The failure of {@code ack} within 30 s: the client must give up at once, not resend for ever. */
    private static Throwable failure(java.util.concurrent.CompletableFuture<Ack> ack) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> ack.get(30, TimeUnit.SECONDS));
        return e.getCause();
    }

    @Test
    void aWrongTokenIsTheUnauthorizedErrorSayingToCheckTheToken() throws Exception {
        start(null);
        TaskEventsClient wrong = client(TaskEventsClient.builder(uri()).token(WRONG));
        UnauthorizedException refused = assertInstanceOf(UnauthorizedException.class, failure(wrong.send(running(1))));
        assertEquals(401, refused.status());
        assertTrue(refused.getMessage().contains("refused the bearer token (401): check the token the client was built"
                + " with"), refused.getMessage());
        assertTrue(refused.getMessage().contains("resending cannot help"), refused.getMessage());
        assertFalse(refused.getMessage().contains(WRONG), "the token itself is never shown");
        assertEquals(0, wrong.unanswered());
        assertEquals(0, store.find(1).orElseThrow().version(), "nothing was applied");

        try (FeedReader feed = wrong.feed(FeedCursor.OLDEST, 10, Duration.ZERO)) {
            UnauthorizedException feedRefused = assertThrows(UnauthorizedException.class, feed::hasNext);
            assertTrue(feedRefused.getMessage().contains("check the token"), feedRefused.getMessage());
        }
        // The same server, the right token: it is the token, nothing else.
        TaskEventsClient right = client(TaskEventsClient.builder(uri()).token(TOKEN));
        assertEquals(new Ack.Applied("r1", TaskState.RUNNING, 1), right.send(running(1)).get(30, TimeUnit.SECONDS));
    }

    /** A self-signed certificate made now with the JDK's keytool, for {@code san}. */
    private static Path keystore(Path dir, String name, String san) throws Exception {
        Path keystore = dir.resolve(name + ".p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "taskevents", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=" + name, "-ext", "SAN=" + san, "-validity", "2", "-storetype", "PKCS12",
                "-keystore", keystore.toString(), "-storepass", "changeit-secret").redirectErrorStream(true).start();
        String out = new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0, out);
        return keystore;
    }

    private static SSLContext trusting(Path keystore) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            trust.load(in, "changeit-secret".toCharArray());
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    /** serve with {@code --tls-keystore} and {@code --tls-password-file}: the same loading as the command. */
    private void startTls(Path keystore, Path dir) throws Exception {
        Path password = dir.resolve("password");
        Files.writeString(password, "changeit-secret\n");
        start(Credentials.tls(keystore.toString(), password.toString()));
    }

    @Test
    void aCertificateTheClientDoesNotTrustIsTheTlsErrorNamingTheProblem(@TempDir Path dir) throws Exception {
        Path keystore = keystore(dir, "serve", "ip:127.0.0.1,dns:localhost");
        startTls(keystore, dir);
        TaskEventsClient untrusting = client(TaskEventsClient.builder(uri()).token(TOKEN)); // the JDK's trust store
        TlsException tls = assertInstanceOf(TlsException.class, failure(untrusting.send(running(1))));
        assertTrue(tls.getMessage().startsWith("the TLS certificate of " + uri() + " is not trusted by this client ("),
                tls.getMessage());
        assertTrue(tls.getMessage().contains("PKIX path building failed"), "the certificate problem is named: "
                + tls.getMessage());
        assertTrue(tls.getMessage().contains("give the CA that signed it with TaskEventsClient.Builder.sslContext"),
                tls.getMessage());
        assertFalse(tls.getMessage().toLowerCase(java.util.Locale.ROOT).contains("connection refused"), tls.getMessage());
        assertEquals(0, untrusting.unanswered());
        try (FeedReader feed = untrusting.feed(FeedCursor.OLDEST, 10, Duration.ZERO)) {
            assertTrue(assertThrows(TlsException.class, feed::hasNext).getMessage().contains("PKIX path building failed"));
        }
        // Trusting that certificate, the same client works against the same serve.
        TaskEventsClient trusting = client(TaskEventsClient.builder(uri()).token(TOKEN).sslContext(trusting(keystore)));
        assertEquals(new Ack.Applied("r1", TaskState.RUNNING, 1), trusting.send(running(1)).get(30, TimeUnit.SECONDS));
        try (FeedReader feed = trusting.feed(FeedCursor.OLDEST, 10, Duration.ZERO)) {
            assertTrue(feed.hasNext());
            assertEquals("r1", feed.next().event().eventId());
        }
    }

    @Test
    void aTrustedCertificateForAnotherHostIsTheTlsErrorNamingTheHost(@TempDir Path dir) throws Exception {
        Path keystore = keystore(dir, "elsewhere", "dns:elsewhere.invalid");
        startTls(keystore, dir);
        TaskEventsClient client = client(TaskEventsClient.builder(uri()).token(TOKEN).sslContext(trusting(keystore)));
        TlsException tls = assertInstanceOf(TlsException.class, failure(client.send(running(1))));
        assertTrue(tls.getMessage().contains("127.0.0.1") && tls.getMessage().contains("subject alternative names"),
                "the mismatch is named: " + tls.getMessage());
        assertTrue(tls.getMessage().contains("check that the certificate names the host of the URI"), tls.getMessage());
    }

    /**
     * An https:// URI of a plain-HTTP serve: the TLS handshake gets no answer (serve waits for a
     * request line), and the client says so within its connect timeout (default 5 s), not after
     * resending for ever.
     */
    @Test
    void anHttpsUriOfAPlainServeIsTheTlsErrorNamingTheMismatch() throws Exception {
        start(null);
        URI https = URI.create("https://127.0.0.1:" + server.address().getPort());
        TaskEventsClient client = client(TaskEventsClient.builder(https).token(TOKEN));
        TlsException tls = assertInstanceOf(TlsException.class, failure(client.send(running(1))));
        assertTrue(tls.getMessage().startsWith("the server at " + https + " answered plain HTTP to a TLS handshake: use"
                + " http:// for it, or start serve with TLS (--tls-keystore)"), tls.getMessage());
        assertEquals(0, client.resends(), "not resent");
        assertEquals(0, store.find(1).orElseThrow().version(), "nothing was applied");
        try (FeedReader feed = client.feed(FeedCursor.OLDEST, 10, Duration.ZERO)) {
            assertTrue(assertThrows(TlsException.class, feed::hasNext).getMessage()
                    .startsWith("the server at " + https + " answered plain HTTP to a TLS handshake"));
        }
        // The same serve, the right scheme: it is the scheme, nothing else.
        TaskEventsClient right = client(TaskEventsClient.builder(uri()).token(TOKEN));
        assertEquals(new Ack.Applied("r1", TaskState.RUNNING, 1), right.send(running(1)).get(30, TimeUnit.SECONDS));
    }

    /** An http:// URI of a serve on TLS: serve answers the plain request with a TLS alert. */
    @Test
    void anHttpUriOfATlsServeIsTheTlsErrorNamingTheMismatch(@TempDir Path dir) throws Exception {
        startTls(keystore(dir, "serve", "ip:127.0.0.1"), dir);
        URI http = URI.create("http://127.0.0.1:" + server.address().getPort());
        TaskEventsClient client = client(TaskEventsClient.builder(http).token(TOKEN));
        TlsException tls = assertInstanceOf(TlsException.class, failure(client.send(running(1))));
        assertTrue(tls.getMessage().startsWith("the server at " + http + " answered with TLS to plain HTTP: use https://"),
                tls.getMessage());
        assertFalse(tls.getMessage().contains("status line"), "the JDK's parse error is the cause, not the message");
        assertEquals(0, client.resends(), "not resent");
        try (FeedReader feed = client.feed(FeedCursor.OLDEST, 10, Duration.ZERO)) {
            assertTrue(assertThrows(TlsException.class, feed::hasNext).getMessage()
                    .startsWith("the server at " + http + " answered with TLS to plain HTTP"));
        }
    }

    /** The contrast: nothing listening is not a TLS error; it is resent, here up to a bound of 1 s. */
    @Test
    void nothingListeningIsResentNotReportedAsTls() throws Exception {
        int port = LoopbackPorts.next(); // named before it binds: of this fork's slice
        TaskEventsClient client = client(TaskEventsClient.builder(URI.create("https://127.0.0.1:" + port)).token(TOKEN)
                .giveUpAfter(Duration.ofSeconds(1)));
        ServerUnavailableException gone = assertInstanceOf(ServerUnavailableException.class,
                failure(client.send(running(1))));
        assertFalse(gone.getMessage().contains("TLS certificate"), gone.getMessage());
    }

    @Test
    void anExpiredCursorIsTheCursorExpiredErrorWithTheOldestCursorToResumeFrom() throws Exception {
        start(null);
        TaskEventsClient client = client(TaskEventsClient.builder(uri()).token(TOKEN));
        for (long task = 1; task <= 4; task++) {
            assertInstanceOf(Ack.Applied.class, client.send(running(task)).get(30, TimeUnit.SECONDS));
        }
        List<FeedItem> items = new ArrayList<>();
        try (FeedReader feed = client.feed(FeedCursor.OLDEST, 10, Duration.ZERO)) {
            while (items.size() < 4 && feed.hasNext()) {
                items.add(feed.next());
            }
        }
        assertEquals(List.of("r1", "r2", "r3", "r4"), items.stream().map(i -> i.event().eventId()).toList());
        FeedCursor stored = items.get(0).cursor(); // a consumer that handled r1 and stopped
        // The retention passes for r1 and r2 (pruned through the store, as serve's cleaner does).
        StateEventFeed feed = store.stateFeed().orElseThrow();
        Await.until(() -> feed.prune(Duration.ZERO, 2) >= 2);

        CursorExpiredException expired;
        try (FeedReader reader = client.feed(FeedCursor.parse(stored.toString()), 10, Duration.ZERO)) {
            expired = assertThrows(CursorExpiredException.class, reader::hasNext);
        }
        assertEquals(items.get(1).cursor(), expired.oldest(), "oldest: just after the last deleted event, r2");
        assertTrue(expired.getMessage().startsWith("the feed cursor " + stored + " is older than the server's feed"
                + " retention (server said: the cursor is older than the feed's retention (24h)"), expired.getMessage());
        assertTrue(expired.getMessage().contains("resume with oldest() (" + items.get(1).cursor()
                + ") and resynchronise the task states from GET /v1/task-instances/{id}"), expired.getMessage());
        try (FeedReader resumed = client.feed(expired.oldest(), 10, Duration.ZERO)) {
            assertTrue(resumed.hasNext());
            assertEquals("r3", resumed.next().event().eventId(), "resuming from oldest() continues with the first kept");
        }
    }
}
