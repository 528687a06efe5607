package dev.taskevents.client.internal;

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
    private final HttpClient http;
    private final Supplier<String> token;
    private final Duration requestTimeout;

    /** @param token gives the bearer token for each request (null result: no Authorization header) */
    public Transport(HttpClient http, Supplier<String> token, Duration requestTimeout) {
        this.http = http;
        this.token = token;
        this.requestTimeout = requestTimeout;
    }

    public CompletableFuture<HttpResponse<String>> post(URI node, String path, String json) {
        return http.sendAsync(request(node, path, requestTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** A GET that may be parked by the server for {@code serverWait} on top of the usual timeout. */
    public CompletableFuture<HttpResponse<String>> get(URI node, String pathAndQuery, Duration serverWait) {
        return http.sendAsync(request(node, pathAndQuery, requestTimeout.plus(serverWait)).GET().build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private HttpRequest.Builder request(URI node, String path, Duration timeout) {
        String base = node.toString();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base.endsWith("/")
                ? base.substring(0, base.length() - 1) + path : base + path)).timeout(timeout);
        String bearer = token.get();
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        return request;
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
