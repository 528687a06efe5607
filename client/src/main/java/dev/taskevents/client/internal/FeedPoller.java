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
import java.util.function.BooleanSupplier;

/**
 * Reads pages of {@code GET /v1/state-events} for one consumer, one poll at a time.
 *
 * <p>A poll that fails in a way the server may recover from (connection refused or reset, a
 * timeout, 5xx, 408, 429, a long poll cut by the server) is retried from the same cursor after a
 * backoff with full jitter, never sooner than {@code Retry-After}, on another configured node if
 * the node was unreachable: a restart of serve is invisible to the consumer, and since the cursor
 * is only moved by a page that arrived, nothing is skipped. Final: 401/403, 410 (expired cursor,
 * or a cursor of another feed), 400 (not a cursor), a certificate not trusted, and the
 * {@code giveUpAfter} bound when one is set. A 503 {@code TOO_MANY_WAITERS} (the server holds as
 * many parked polls as it may) is an answer, not an outage: it is retried after its
 * {@code Retry-After} like the others, but does not count towards {@code giveUpAfter}, and the
 * backoff of a failure after it starts over.
 *
 * <p>Idle polls. The server answers a poll with {@code wait} seconds at once if it has events,
 * else when they come or when the wait is up. So a page that brings no events before its wait was
 * up (with a {@code wait} of 0, every empty page; or one from a server that cut the wait) means the
 * feed is idle, and polling again at once would only spin. The poll after such a page first waits
 * like a retry: the backoff of at most {@link #IDLE_MAX}, growing with each such page in a row and
 * starting over after a page with events or one that took its whole wait. The wait is sent in
 * whole seconds, rounded up: a sub-second wait is a one-second long poll, not a {@code wait=0}.
 *
 * <p>{@link #cancel} (from any thread) aborts a parked poll, a backoff or an idle wait: the poll
 * then throws {@link CancellationException}. One consumer thread calls {@link #poll} at a time.
 */
public final class FeedPoller {
    /** The longest wait before a poll that follows a page that came back empty before its wait was up. */
    public static final Duration IDLE_MAX = Duration.ofSeconds(1);

    private final Transport transport;
    private final Routes routes;
    private final Backoff backoff;
    private final Duration giveUpAfter;
    private final Errors errors;
    private final BooleanSupplier clientClosed;
    private final CountDownLatch cancelled = new CountDownLatch(1);
    private final Backoff idle;
    private volatile CompletableFuture<?> current;
    private int idlePages; // pages in a row that came back empty before their wait was up; the consumer thread's

    /** @param clientClosed whether the client that made this poller was closed (its HttpClient is gone) */
    public FeedPoller(Transport transport, Routes routes, Backoff backoff, Duration giveUpAfter, Errors errors,
                      BooleanSupplier clientClosed) {
        this.clientClosed = clientClosed;
        this.transport = transport;
        this.routes = routes;
        this.backoff = backoff;
        this.giveUpAfter = giveUpAfter;
        this.errors = errors;
        Duration idleMax = backoff.max().compareTo(IDLE_MAX) < 0 ? backoff.max() : IDLE_MAX;
        this.idle = new Backoff(backoff.base(), idleMax.compareTo(backoff.base()) < 0 ? backoff.base() : idleMax);
    }

    /**
     * The next page after {@code after} (null: from the oldest retained event), waiting at the server
     * up to {@code wait} for events to come.
     */
    public Wire.Page poll(String after, int limit, Duration wait) throws InterruptedException {
        if (idlePages > 0 && cancelled.await(idle.delayNanos(idlePages), TimeUnit.NANOSECONDS)) {
            checkCancelled();
        }
        long waitSeconds = wait.plusNanos(999_999_999).toSeconds(); // rounded up: 900 ms waits 1 s, not 0
        Duration serverWait = Duration.ofSeconds(waitSeconds);
        String query = "/v1/state-events?" + (after == null ? "" : "after="
                + URLEncoder.encode(after, StandardCharsets.UTF_8) + "&") + "limit=" + limit + "&wait=" + waitSeconds;
        long start = System.nanoTime();
        URI avoid = null;
        for (int attempt = 1; ; attempt++) {
            checkCancelled();
            if (clientClosed.getAsBoolean()) {
                throw errors.closed("the client that made this feed reader was closed; read on from the last stored"
                        + " cursor with another client");
            }
            URI node = routes.feedNode(avoid);
            long sent = System.nanoTime();
            CompletableFuture<HttpResponse<String>> call = transport.get(node, query, serverWait);
            current = call;
            if (cancelled.getCount() == 0) {
                call.cancel(true);
            }
            Throwable failure;
            long retryAfter = 0;
            boolean waiterCap = false;
            try {
                HttpResponse<String> response = call.get();
                int status = response.statusCode();
                String body = response.body() == null ? "" : response.body();
                if (status == 200) {
                    try {
                        Wire.Page page = Wire.page(Json.parse(body), after);
                        boolean early = waitSeconds == 0 || System.nanoTime() - sent < serverWait.toNanos();
                        idlePages = page.events().isEmpty() && early ? Math.min(idlePages + 1, 62) : 0;
                        return page;
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
                waiterCap = status == 503 && "TOO_MANY_WAITERS".equals(code);
            } catch (ExecutionException e) {
                failure = Transport.unwrap(e);
                if (Transport.isTlsFailure(failure)) {
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
            long delay = backoff.delayNanos(waiterCap ? 1 : attempt, retryAfter);
            if (waiterCap) {
                // The server answered: busy, not unavailable. Neither its Retry-After nor the time so
                // far counts towards giveUpAfter, and a failure after it backs off from the start.
                start = System.nanoTime() + delay;
                attempt = 0;
            } else if (!giveUpAfter.isZero() && System.nanoTime() + delay - start > giveUpAfter.toNanos()) {
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
