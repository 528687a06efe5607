package dev.taskevents.client.internal;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * HTTP to serve: the bearer token on every request, paths resolved against a node's base URI, and
 * the sorting of failures into the two that resending cannot fix (a certificate the client does not
 * trust) and the rest (refused, reset, timed out: the server may come back).
 */
public final class Transport {
    private static final System.Logger LOG = System.getLogger(Transport.class.getName());

    private final HttpClient http;
    private final Supplier<String> token;
    private final Duration requestTimeout;
    private volatile boolean tokenFailing;

    /** @param token gives the bearer token for each request (null result: no Authorization header) */
    public Transport(HttpClient http, Supplier<String> token, Duration requestTimeout) {
        this.http = http;
        this.token = token;
        this.requestTimeout = requestTimeout;
    }

    public CompletableFuture<HttpResponse<String>> post(URI node, String path, String json) {
        return send(node, request(node, path, requestTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)));
    }

    /** A GET that may be parked by the server for {@code serverWait} on top of the usual timeout. */
    public CompletableFuture<HttpResponse<String>> get(URI node, String pathAndQuery, Duration serverWait) {
        return send(node, request(node, pathAndQuery, requestTimeout.plus(serverWait)).GET());
    }

    private static HttpRequest.Builder request(URI node, String path, Duration timeout) {
        String base = node.toString();
        return HttpRequest.newBuilder(URI.create(base.endsWith("/")
                ? base.substring(0, base.length() - 1) + path : base + path)).timeout(timeout);
    }

    private CompletableFuture<HttpResponse<String>> send(URI node, HttpRequest.Builder request) {
        try {
            authorize(request);
            tokenFailing = false;
        } catch (TokenUnavailable e) {
            if (!tokenFailing) {
                tokenFailing = true; // one line per run of failures: each try fails alike, and is resent
                LOG.log(System.Logger.Level.WARNING, "taskevents client: " + e.getMessage() + " (to " + node
                        + "); trying again with backoff until the token supplier gives a token that can be sent");
            }
            return CompletableFuture.failedFuture(e);
        }
        return http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /**
     * Adds the supplier's token, checked by {@link BearerToken}. The JDK's own refusal of a header
     * value quotes the value, so it is replaced, never passed on or chained as a cause.
     */
    private void authorize(HttpRequest.Builder request) throws TokenUnavailable {
        String supplied;
        try {
            supplied = token.get();
        } catch (RuntimeException e) {
            throw new TokenUnavailable("the token supplier failed (" + e + ")", e);
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
        while ((failure instanceof java.util.concurrent.CompletionException
                || failure instanceof java.util.concurrent.ExecutionException) && failure.getCause() != null) {
            failure = failure.getCause();
        }
        return failure;
    }
}
