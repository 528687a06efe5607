package dev.taskevents.client.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * HTTP to serve: the bearer token on every request, paths resolved against a node's base URI, and
 * the sorting of failures into those that resending cannot fix ({@link #isTlsFailure}: a
 * certificate the client does not trust, a server speaking the other protocol than the URI's
 * scheme) and the rest (refused, reset, timed out, no token to send: the next try may work).
 *
 * <p>Invariants:
 * <ul>
 *   <li>{@link #post} and {@link #get} never throw: every failure, the token supplier's included,
 *       completes the returned future exceptionally, so each caller has one failure path.
 *   <li>No exception made or passed on here holds the token: the supplier's token is checked
 *       before the JDK sees it, and the JDK's refusal of a header (which quotes the value) and the
 *       supplier's own exception (whose message may) are replaced, not chained.
 *   <li>A scheme mismatch is found by a {@link SchemeProbe} after the try failed, not by waiting:
 *       the JDK counts an https:// handshake in the connect timeout, so a plain HTTP server
 *       behind an https:// URI costs one connect timeout, not the request timeout and not a
 *       resend loop.
 *   <li>A probe runs only after a failure a wrong scheme explains ({@link #explained}): for
 *       https://, a connect timeout (the handshake did not finish) or a TLS error, never a request
 *       timeout or a reset, which a slow or restarting server explains as well; and never for an
 *       address that has spoken its URI's scheme to this client (an HTTP answer, which over
 *       https:// means a completed handshake, or a probe that found that scheme): a TLS front
 *       that answers plain text with a plain HTTP 400 is then never misread. At most one probe
 *       per address runs per {@link #PROBE_PERIOD}: failures within it share that probe's verdict.
 *   <li>A probe holds no send slot ({@code exchangeEnded} runs when the HTTP exchange ends, before
 *       any probe) and is bounded: {@link #PROBE_CONNECT_TIMEOUT} to connect, then at most
 *       {@link #PROBE_ANSWER_TIMEOUT} in all for the first bytes of the answer. It is not stopped
 *       by the client's close; it ends within that bound, on its own virtual thread.
 *   <li>Cancelling a returned future cancels the HTTP exchange.
 * </ul>
 */
public final class Transport {
    private static final System.Logger LOG = System.getLogger(Transport.class.getName());
    /** The probe's wait for a connection: the try just connected to the same address, or nothing listens. */
    private static final Duration PROBE_CONNECT_TIMEOUT = Duration.ofSeconds(1);
    /** The probe's wait, in all, for the first bytes of an answer (less if the HttpClient's connect timeout is less). */
    private static final Duration PROBE_ANSWER_TIMEOUT = Duration.ofSeconds(5);
    /** How long a probe's verdict on an address stands before a failure may probe it again. */
    static final Duration PROBE_PERIOD = Duration.ofSeconds(30);
    private static final Executor PROBES = task -> Thread.ofVirtual().name("taskevents-client-probe").start(task);

    private final HttpClient http;
    private final Supplier<String> token;
    private final Duration requestTimeout;
    private volatile boolean tokenFailing;
    private final Outages outages;
    /** Addresses that spoke their URI's scheme to this client: never probed. Only grows (one entry per node). */
    private final Set<NodeAddress> spokeTheirScheme = ConcurrentHashMap.newKeySet();
    /** The latest probe of each address, whose verdict stands for {@link #PROBE_PERIOD} from its start. */
    private final ConcurrentMap<NodeAddress, Probe> probes = new ConcurrentHashMap<>();

    private record Probe(long startedNanos, CompletableFuture<SchemeProbe.Spoken> spoken) {
    }

    /**
     * @param token gives the bearer token for each request (null result: no Authorization header)
     * @param giveUpAfter the client's bound on resending, named when a node's failures are logged
     *     ({@link Outages})
     */
    public Transport(HttpClient http, Supplier<String> token, Duration requestTimeout, Duration giveUpAfter) {
        this.http = http;
        this.token = token;
        this.requestTimeout = requestTimeout;
        this.outages = new Outages(giveUpAfter);
    }

    public CompletableFuture<HttpResponse<String>> post(URI node, String path, String json) {
        return post(node, path, json, () -> { });
    }

    /**
     * A POST; {@code exchangeEnded} runs once the request needs no more of the caller's capacity:
     * when the HTTP exchange ends (before a {@link SchemeProbe} that may follow a failure), or at
     * once if the request is not sent. The returned future may complete later.
     */
    public CompletableFuture<HttpResponse<String>> post(URI node, String path, String json, Runnable exchangeEnded) {
        return send(node, request(node, path, requestTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)), exchangeEnded);
    }

    /** A GET that may be parked by the server for {@code serverWait} on top of the usual timeout. */
    public CompletableFuture<HttpResponse<String>> get(URI node, String pathAndQuery, Duration serverWait) {
        return send(node, request(node, pathAndQuery, requestTimeout.plus(serverWait)).GET(), () -> { });
    }

    private static HttpRequest.Builder request(URI node, String path, Duration timeout) {
        String base = node.toString();
        return HttpRequest.newBuilder(URI.create(base.endsWith("/")
                ? base.substring(0, base.length() - 1) + path : base + path)).timeout(timeout);
    }

    private CompletableFuture<HttpResponse<String>> send(URI node, HttpRequest.Builder request, Runnable exchangeEnded) {
        try {
            authorize(request);
            tokenFailing = false;
        } catch (TokenUnavailable e) {
            if (!tokenFailing) {
                tokenFailing = true; // one line per run of failures: each try fails alike, and is resent
                LOG.log(System.Logger.Level.WARNING, "taskevents client: " + e.getMessage() + " (to " + node
                        + "); trying again with backoff until the token supplier gives a token that can be sent");
            }
            exchangeEnded.run();
            return CompletableFuture.failedFuture(e);
        }
        CompletableFuture<HttpResponse<String>> exchange;
        try {
            exchange = http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            exchangeEnded.run();
            return CompletableFuture.failedFuture(e); // e.g. the caller's HttpClient already shut down
        }
        exchange.whenComplete((response, failure) -> {
            exchangeEnded.run();
            if (response != null) {
                spokeTheirScheme.add(NodeAddress.of(node)); // over https://: the handshake completed
            }
        });
        CompletableFuture<HttpResponse<String>> answer = exchange.exceptionallyCompose(
                failure -> explained(node, unwrap(failure)));
        answer.whenComplete((response, failure) -> {
            if (failure instanceof CancellationException) {
                exchange.cancel(true); // a caller's cancel (a feed reader closed) aborts the exchange itself
            } else if (failure != null) {
                Throwable cause = unwrap(failure);
                if (!(cause instanceof SchemeMismatch) && !isCertificateFailure(cause)) { // final, and told as such
                    outages.failed(node, cause.getClass().getName(), cause.toString());
                }
            } else if (Outages.isFailure(response.statusCode())) {
                outages.failed(node, "HTTP " + response.statusCode(), "HTTP " + response.statusCode());
            } else {
                outages.answered(node);
            }
        });
        return answer;
    }

    /** The client is closing: the exchanges it aborts from now on are not logged as a node's failures. */
    public void closing() {
        outages.closing();
    }

    /**
     * The try's failure, or a {@link SchemeMismatch} if the node's address answers in the other
     * protocol ({@link SchemeProbe}). Probed only after a failure a wrong scheme explains: for
     * https://, a connect timeout (the JDK counts the handshake in it) or a TLS error that is not
     * about a certificate; for http://, an answer that was not HTTP, or none. Never after a refused
     * connection, a request timeout or (https://) a reset, which a slow or restarting server
     * explains; never for an address that spoke its scheme before; at most one probe per address
     * per {@link #PROBE_PERIOD} (see the class comment).
     */
    private CompletableFuture<HttpResponse<String>> explained(URI node, Throwable failure) {
        if (!(failure instanceof IOException) || failure instanceof TokenUnavailable || isCertificateFailure(failure)) {
            return CompletableFuture.failedFuture(failure);
        }
        boolean https = "https".equalsIgnoreCase(node.getScheme());
        boolean explainable = https ? has(failure, HttpConnectTimeoutException.class) || has(failure, SSLException.class)
                : !has(failure, HttpTimeoutException.class) && !isConnectionRefused(failure);
        NodeAddress address = NodeAddress.of(node);
        if (!explainable || spokeTheirScheme.contains(address)) {
            return CompletableFuture.failedFuture(failure);
        }
        return probe(node, address).thenCompose(spoken -> {
            if (spoken == (https ? SchemeProbe.Spoken.PLAIN_HTTP : SchemeProbe.Spoken.TLS)) {
                SchemeMismatch mismatch = new SchemeMismatch(node, !https, failure);
                LOG.log(System.Logger.Level.WARNING, "taskevents client: " + mismatch.getMessage());
                return CompletableFuture.failedFuture(mismatch);
            }
            return CompletableFuture.failedFuture(failure);
        });
    }

    /** The verdict on {@code address}: of a probe started within {@link #PROBE_PERIOD} (maybe still running), or of a new one. */
    private CompletableFuture<SchemeProbe.Spoken> probe(URI node, NodeAddress address) {
        long now = System.nanoTime();
        Probe fresh = new Probe(now, new CompletableFuture<>());
        Probe current = probes.compute(address, (a, last) ->
                last != null && now - last.startedNanos() < PROBE_PERIOD.toNanos() ? last : fresh);
        if (current == fresh) {
            Duration connect = http.connectTimeout().orElse(PROBE_ANSWER_TIMEOUT);
            boolean https = "https".equals(address.scheme());
            PROBES.execute(() -> {
                SchemeProbe.Spoken spoken = SchemeProbe.Spoken.UNKNOWN;
                try {
                    spoken = SchemeProbe.probe(node, min(connect, PROBE_CONNECT_TIMEOUT), min(connect, PROBE_ANSWER_TIMEOUT));
                    if (spoken == (https ? SchemeProbe.Spoken.TLS : SchemeProbe.Spoken.PLAIN_HTTP)) {
                        spokeTheirScheme.add(address);
                    }
                } finally {
                    fresh.spoken().complete(spoken);
                }
            });
        }
        return current.spoken();
    }

    private static boolean has(Throwable failure, Class<? extends Throwable> kind) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (kind.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /**
     * A node's address answered in the other protocol than its URI's scheme: plain HTTP where the
     * URI says https://, or TLS where it says http://. Final: resending cannot change what the
     * server speaks.
     */
    public static final class SchemeMismatch extends IOException {
        private static final long serialVersionUID = 1L;
        private final boolean serverSpeaksTls;

        SchemeMismatch(URI node, boolean serverSpeaksTls, Throwable tryFailure) {
            super(serverSpeaksTls ? "the server at " + node + " speaks TLS: it answered plain HTTP with a TLS record"
                    : "the server at " + node + " answered plain HTTP to a TLS handshake", tryFailure);
            this.serverSpeaksTls = serverSpeaksTls;
        }

        /** True: TLS answered an http:// URI; false: plain HTTP answered an https:// URI. */
        public boolean serverSpeaksTls() {
            return serverSpeaksTls;
        }
    }

    /**
     * Adds the supplier's token, checked by {@link BearerToken}. The JDK's own refusal of a header
     * value quotes the value, and a supplier's exception may quote the token (or a secret it read):
     * both are replaced by a message naming only what failed (the supplier's exception by its class
     * names), never passed on or chained as a cause.
     */
    private void authorize(HttpRequest.Builder request) throws TokenUnavailable {
        String supplied;
        try {
            supplied = token.get();
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable e) {
            // Any other Error too (an AssertionError of a client not set up yet): this try fails, sending goes on.
            throw new TokenUnavailable("the token supplier failed with " + classes(e) + " (its message is not"
                    + " shown: it may quote the token; log it inside the supplier to see it)", null);
        }
        if (supplied == null) {
            return;
        }
        String bearer;
        try {
            bearer = BearerToken.check(supplied, "the token supplier's token");
        } catch (IllegalArgumentException e) {
            throw new TokenUnavailable(e.getMessage(), null);
        }
        try {
            request.header("Authorization", "Bearer " + bearer);
        } catch (IllegalArgumentException e) {
            throw new TokenUnavailable("the HttpClient refused the Authorization header built from the token supplier's"
                    + " token (the token itself is not shown)", null);
        }
    }

    /**
     * The class names of {@code failure} and its causes, e.g. {@code java.io.UncheckedIOException
     * <- java.nio.file.NoSuchFileException}: what went wrong in a supplier, without any message,
     * which may quote the token (a parser's "Unrecognized token '...'").
     */
    private static String classes(Throwable failure) {
        StringBuilder names = new StringBuilder(failure.getClass().getName());
        int depth = 0;
        for (Throwable t = failure.getCause(); t != null && t != failure && depth < 8; t = t.getCause(), depth++) {
            names.append(" <- ").append(t.getClass().getName());
            if (t.getCause() == t) {
                break;
            }
        }
        return names.toString();
    }

    /**
     * The token supplier failed, or gave a token that cannot be sent: the request was not sent. A
     * try that failed like a refused connection: resent after a backoff (a token file may be in the
     * middle of a rotation), and the last error when the client gives up. Its message never holds
     * the token.
     */
    public static final class TokenUnavailable extends IOException {
        private static final long serialVersionUID = 1L;

        TokenUnavailable(String message, Throwable cause) {
            super(message + "; the request was not sent", cause);
        }
    }

    /**
     * Whether {@code failure} is the server's certificate (or host name) not being trusted: final,
     * unlike a handshake cut by a server that is going down, which is retried like any reset.
     */
    public static boolean isCertificateFailure(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof CertificateException || t instanceof CertPathValidatorException
                    || t instanceof SSLPeerUnverifiedException) {
                return true;
            }
            if (t instanceof SSLHandshakeException && t.getMessage() != null
                    && (t.getMessage().contains("PKIX") || t.getMessage().contains("certificate"))) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /**
     * Whether {@code failure} is final for TLS: a certificate not trusted
     * ({@link #isCertificateFailure}), or a server that speaks the other protocol than the node
     * URI's scheme ({@link SchemeMismatch}).
     */
    public static boolean isTlsFailure(Throwable failure) {
        return isCertificateFailure(failure) || schemeMismatch(failure) != null;
    }

    /** The {@link SchemeMismatch} in {@code failure}'s causes, or null. */
    public static SchemeMismatch schemeMismatch(Throwable failure) {
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof SchemeMismatch mismatch) {
                return mismatch;
            }
        }
        return null;
    }

    /** Whether {@code failure} is a refused connection (nothing listens at the node's address). */
    public static boolean isConnectionRefused(Throwable failure) {
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (t instanceof ConnectException) {
                return true;
            }
        }
        return false;
    }

    /** The failure inside a {@link java.util.concurrent.CompletionException} or an ExecutionException. */
    public static Throwable unwrap(Throwable failure) {
        while ((failure instanceof CompletionException
                || failure instanceof ExecutionException) && failure.getCause() != null) {
            failure = failure.getCause();
        }
        return failure;
    }
}
