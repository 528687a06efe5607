package dev.taskevents.client.internal;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Reads pages of {@code GET /v1/state-events} for one consumer, one poll at a time.
 *
 * <p>A poll that fails in a way the server may recover from (connection refused or reset, a
 * timeout, 5xx, 408, 429, a long poll cut by the server) is retried from the same cursor after a
 * backoff with full jitter, never sooner than {@code Retry-After}, on another configured node if
 * the node was unreachable: a restart of serve is invisible to the consumer, and since the cursor
 * is only moved by a page that arrived, nothing is skipped. Final: 401/403, 410 (expired cursor,
 * or a cursor of another feed), 400 (not a cursor), a certificate not trusted, and the
 * {@code giveUpAfter} bound when one is set.
 *
 * <p>{@link #cancel} (from any thread) aborts a parked poll or a backoff wait: the poll then throws
 * {@link CancellationException}.
 */
public final class FeedPoller {
    private final Transport transport;
    private final Routes routes;
    private final Backoff backoff;
    private final Duration giveUpAfter;
    private final Errors errors;
    private final java.util.function.BooleanSupplier clientClosed;
    private final CountDownLatch cancelled = new CountDownLatch(1);
    private volatile CompletableFuture<?> current;

    /** @param clientClosed whether the client that made this poller was closed (its HttpClient is gone) */
    public FeedPoller(Transport transport, Routes routes, Backoff backoff, Duration giveUpAfter, Errors errors,
                      java.util.function.BooleanSupplier clientClosed) {
        this.clientClosed = clientClosed;
        this.transport = transport;
        this.routes = routes;
        this.backoff = backoff;
        this.giveUpAfter = giveUpAfter;
        this.errors = errors;
    }

    /**
     * The next page after {@code after} (null: from the oldest retained event), waiting at the server
     * up to {@code wait} for events to come.
     */
    public Wire.Page poll(String after, int limit, Duration wait) throws InterruptedException {
        String query = "/v1/state-events?" + (after == null ? "" : "after="
                + URLEncoder.encode(after, StandardCharsets.UTF_8) + "&") + "limit=" + limit + "&wait=" + wait.toSeconds();
        long start = System.nanoTime();
        URI avoid = null;
        for (int attempt = 1; ; attempt++) {
            checkCancelled();
            if (clientClosed.getAsBoolean()) {
                throw errors.closed("the client that made this feed reader was closed; read on from the last stored"
                        + " cursor with another client");
            }
            URI node = routes.feedNode(avoid);
            CompletableFuture<HttpResponse<String>> call = transport.get(node, query, wait);
            current = call;
            if (cancelled.getCount() == 0) {
                call.cancel(true);
            }
            Throwable failure;
            long retryAfter = 0;
            try {
                HttpResponse<String> response = call.get();
                int status = response.statusCode();
                String body = response.body() == null ? "" : response.body();
                if (status == 200) {
                    try {
                        return Wire.page(Json.parse(body), after);
                    } catch (Json.Malformed e) {
                        throw new IllegalStateException("the feed page from " + node + " could not be read (" + e.getMessage()
                                + "): is the server a taskevents serve of a version with the state-event feed?", e);
                    }
                }
                String message = Wire.error(body);
                String code = Wire.errorField(body, "code");
                if (status == 401 || status == 403) {
                    throw errors.unauthorized(status, node);
                }
                if (status == 410 && (code == null || code.equals("CURSOR_EXPIRED"))) {
                    throw errors.cursorExpired(after, Wire.errorField(body, "oldest"), message);
                }
                if (status == 410 || status == 400) {
                    throw errors.cursorInvalid(after, status, code == null ? "BAD_REQUEST" : code, message);
                }
                if (status < 500 && status != 408 && status != 429) {
                    throw new IllegalStateException("the server " + node + " answered the feed's GET with " + status + ": "
                            + message + (status == 404 ? "; check the base URI, and that serve has the state-event feed" : ""));
                }
                failure = new IOException("HTTP " + status + " from " + node + ": " + message);
                retryAfter = Backoff.retryAfterNanos(response.headers());
            } catch (ExecutionException e) {
                failure = Transport.unwrap(e);
                if (Transport.isCertificateFailure(failure)) {
                    throw errors.tls(node, failure);
                }
                if (Transport.isConnectionRefused(failure) || failure instanceof HttpConnectTimeoutException) {
                    routes.unreachable(node);
                    avoid = node;
                }
            } catch (CancellationException e) {
                checkCancelled();
                throw e;
            } catch (InterruptedException e) {
                call.cancel(true);
                throw e;
            } finally {
                current = null;
            }
            long delay = backoff.delayNanos(attempt, retryAfter);
            if (!giveUpAfter.isZero() && System.nanoTime() + delay - start > giveUpAfter.toNanos()) {
                throw errors.unavailable("the feed", routes.nodes(), giveUpAfter, failure);
            }
            if (cancelled.await(delay, TimeUnit.NANOSECONDS)) {
                checkCancelled();
            }
        }
    }

    private void checkCancelled() {
        if (cancelled.getCount() == 0) {
            throw new CancellationException("the feed was closed");
        }
    }

    /** Aborts the poll in progress (and every later one). */
    public void cancel() {
        cancelled.countDown();
        CompletableFuture<?> call = current;
        if (call != null) {
            call.cancel(true);
        }
    }

    public boolean isCancelled() {
        return cancelled.getCount() == 0;
    }
}
