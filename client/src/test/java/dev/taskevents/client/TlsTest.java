package dev.taskevents.client;

import static dev.taskevents.client.Events.running;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A serve on TLS with a self-signed certificate (made here with the JDK's keytool, for 127.0.0.1):
 * a client that does not trust it gets the TLS error at once, never a resend loop; one given the
 * certificate works.
 */
@Timeout(120)
class TlsTest {
    private static final char[] PASSWORD = "test-only".toCharArray();
    private static StubServe stub;
    private static KeyStore keys;

    @BeforeAll
    static void serveOnTls(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("stub.p12");
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        Process p = new ProcessBuilder(keytool.toString(), "-genkeypair", "-alias", "stub", "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=taskevents test", "-ext", "san=ip:127.0.0.1", "-validity", "2",
                "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass", new String(PASSWORD))
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "keytool: " + output);
        keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            keys.load(in, PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, PASSWORD);
        SSLContext server = SSLContext.getInstance("TLS");
        server.init(kmf.getKeyManagers(), null, null);
        stub = StubServe.startTls(server);
    }

    @AfterAll
    static void stop() {
        stub.close();
    }

    @Test
    void anUntrustedCertificateFailsTheEventAtOnceWithTheTlsError() throws Exception {
        try (TaskEventsClient client = TaskEventsClient.builder(stub.uri).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                .closeTimeout(Duration.ZERO).build()) {
            Throwable failure = SendingTest.failureOf(client.send(running("e1", 1, 11)));
            TlsException e = assertInstanceOf(TlsException.class, failure);
            assertTrue(e.getMessage().contains("not trusted by this client"), e.getMessage());
            assertTrue(e.getMessage().contains("sslContext"), e.getMessage());
            assertTrue(e.getMessage().contains(stub.uri.toString()), e.getMessage());
            assertFalse(failure instanceof ServerUnavailableException);
            assertTrue(stub.postedBatches().stream().noneMatch(b -> b.contains("e1")), "nothing reached the server");

            FeedReader feed = client.feed(FeedCursor.OLDEST, 10, Duration.ZERO);
            assertThrows(TlsException.class, feed::hasNext);
        }
    }

    @Test
    void anHttpsUriOfAPlainServerFailsAtOnceWithTheTlsErrorNamingTheMismatch() throws Exception {
        try (StubServe plain = StubServe.start();
             TaskEventsClient client = TaskEventsClient.builder(URI.create("https://127.0.0.1:" + plain.uri.getPort()))
                     .connectTimeout(Duration.ofSeconds(1)).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                     .closeTimeout(Duration.ZERO).build()) {
            TlsException e = assertInstanceOf(TlsException.class, SendingTest.failureOf(client.send(running("e1", 1, 11))));
            assertTrue(e.getMessage().startsWith("the server at https://127.0.0.1:" + plain.uri.getPort() + " answered"
                    + " plain HTTP to a TLS handshake: use http:// for it, or start serve with TLS"), e.getMessage());
            assertEquals(0, client.resends(), "not resent");
            assertEquals(List.of(), plain.postedBatches());
            TlsException creating = assertThrows(TlsException.class,
                    () -> client.createTasks(List.of(TaskInstance.submitted(71, 1, "t", Events.T))));
            assertTrue(creating.getMessage().contains("answered plain HTTP to a TLS handshake"), creating.getMessage());
        }
    }

    @Test
    void anHttpUriOfATlsServerFailsAtOnceWithTheTlsErrorNamingTheMismatch() throws Exception {
        URI http = URI.create("http://127.0.0.1:" + stub.uri.getPort());
        try (TaskEventsClient client = TaskEventsClient.builder(http).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                .closeTimeout(Duration.ZERO).build()) {
            TlsException e = assertInstanceOf(TlsException.class, SendingTest.failureOf(client.send(running("e2", 1, 11))));
            assertTrue(e.getMessage().startsWith("the server at " + http + " answered with TLS to plain HTTP: use https://"),
                    e.getMessage());
            assertEquals(0, client.resends(), "not resent");
            TlsException creating = assertThrows(TlsException.class,
                    () -> client.createTasks(List.of(TaskInstance.submitted(72, 1, "t", Events.T))));
            assertTrue(creating.getMessage().contains("answered with TLS to plain HTTP"), creating.getMessage());
        }
    }

    /** A TLS context that trusts the stub's certificate. */
    private static SSLContext trustingTheStub() throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("stub", keys.getCertificate("stub"));
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    @Test
    void anOwnerOfAnotherSchemeIsNotFollowedSoTheEventAndTokenStayOnTls() throws Exception {
        try (StubServe plain = StubServe.start();
             TaskEventsClient client = TaskEventsClient.builder(stub.uri).sslContext(trustingTheStub())
                     .token("secret-token-0123456789").backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                     .closeTimeout(Duration.ZERO).build()) {
            stub.then(StubServe.misdirected(plain.uri.toString(), 3));
            CompletableFuture<Ack> moved = client.send(running("moved-1", 5, 51));
            moved.handle((ack, failure) -> null).get(30, TimeUnit.SECONDS);
            assertEquals(List.of(), plain.requests, "nothing, and no token, went to the plain-HTTP owner");
            TlsException e = assertInstanceOf(TlsException.class, SendingTest.failureOf(moved));
            assertTrue(e.getMessage().startsWith("the server at " + stub.uri + " named " + plain.uri + " as the owner of"
                    + " workflow 5's shard; the client does not follow a node to another scheme"), e.getMessage());
            assertTrue(e.getMessage().contains("serve --advertise https://"), e.getMessage());
            assertFalse(e.getMessage().contains("secret-token"), e.getMessage());
        }
    }

    @Test
    void anOwnerOfAnotherSchemeThatIsAConfiguredNodeIsFollowed() throws Exception {
        try (StubServe plain = StubServe.start();
             TaskEventsClient client = TaskEventsClient.builder(stub.uri, plain.uri).sslContext(trustingTheStub())
                     .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).closeTimeout(Duration.ZERO).build()) {
            stub.then(StubServe.movedInside200(plain.uri.toString(), 3));
            assertEquals(new Ack.Applied("moved-2", TaskState.RUNNING, 1),
                    client.send(running("moved-2", 6, 61)).get(30, TimeUnit.SECONDS));
            assertEquals(List.of(List.of("moved-2")), plain.postedBatches());
        }
    }

    @Test
    void aClientGivenTheCertificateSendsOverTls() throws Exception {
        try (TaskEventsClient client = TaskEventsClient.builder(stub.uri).sslContext(trustingTheStub()).build()) {
            assertEquals(new Ack.Applied("tls-1", TaskState.RUNNING, 1),
                    client.send(running("tls-1", 1, 11)).get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void anOwnerOfAnotherSchemeThatIsAConfiguredNodeWrittenWithATrailingSlashIsFollowed() throws Exception {
        try (StubServe plain = StubServe.start();
             TaskEventsClient client = TaskEventsClient.builder(stub.uri, URI.create(plain.uri + "/"))
                     .sslContext(trustingTheStub()).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                     .closeTimeout(Duration.ZERO).build()) {
            stub.then(StubServe.movedInside200(plain.uri.toString(), 3));
            CompletableFuture<Ack> moved = client.send(running("moved-3", 7, 71));
            Object answer = moved.handle((ack, failure) -> ack != null ? ack : failure).get(30, TimeUnit.SECONDS);
            assertEquals(new Ack.Applied("moved-3", TaskState.RUNNING, 1), answer,
                    plain.uri + " is configured (as " + plain.uri + "/): it is followed");
        }
    }
}
