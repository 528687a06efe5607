package dev.taskevents.client;

import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.client.internal.Backoff;
import dev.taskevents.client.internal.BearerToken;
import dev.taskevents.client.internal.FeedPoller;
import dev.taskevents.client.internal.Routes;
import dev.taskevents.client.internal.SendQueue;
import dev.taskevents.client.internal.TaskCreation;
import dev.taskevents.client.internal.Transport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;

/**
 * The client of {@code taskevents serve}: {@link #send} for workers, {@link #feed} and
 * {@link #feedPublisher} for schedulers, {@link #createTasks} for creating the tasks workers report on. Thread-safe; one per process is enough (it batches the
 * events of all threads).
 *
 * <h2>Sending</h2>
 * A future of {@link #send} completes with the server's final answer ({@link Ack}) once the event is
 * <em>acknowledged</em>: serve has committed any change it made (APPLIED), or has found it applied
 * before (DUPLICATE), outdated (STALE) or applying to no task (REJECTED). Until then the client
 * resends it, batched with others: on connection errors and timeouts, on 503 (never sooner than its
 * {@code Retry-After}) and on 5xx, with exponential backoff and full jitter, up to
 * {@link Builder#giveUpAfter} (5 minutes unless set; a WARNING is logged on the first failure of each
 * kind to reach a node), to the shard's owner if the server says another node owns
 * it (cluster mode's 421 and MOVED; only within the scheme of the node that said so, or to a
 * configured node: see {@link TlsException}), and to another configured node when no owner is known
 * or a node is unreachable. Resending is safe: serve answers an event it applied before, by its id, as
 * DUPLICATE, so nothing is applied twice. A workflow instance's events are sent in the order
 * {@code send} was called, each only after the one before it was answered. The future fails only
 * with a {@link TaskEventsException} that resending cannot cure (see its subclasses).
 *
 * <h2>Reading the feed</h2>
 * {@link #feed} and {@link #feedPublisher} read {@code GET /v1/state-events} from a cursor the
 * caller stores ({@link FeedItem#cursor()}); they retry what the server may recover from, like
 * sending does, and deliver each committed state change at least once, in commit order.
 */
public final class TaskEventsClient implements AutoCloseable {
    /** How long an event, a feed read or a {@code createTasks} call may find no answer before it fails, unless set. */
    public static final Duration DEFAULT_GIVE_UP_AFTER = Duration.ofMinutes(5);

    private final Routes routes;
    private final Transport transport;
    private final SendQueue queue;
    private final Backoff backoff;
    private final Duration giveUpAfter;
    private final Duration closeTimeout;
    private final HttpClient ownedHttp;
    private volatile boolean closed;

    private TaskEventsClient(Builder b) {
        this.routes = new Routes(b.nodes, b.shardCount);
        HttpClient http = b.httpClient;
        if (http == null) {
            HttpClient.Builder hb = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(b.connectTimeout).followRedirects(HttpClient.Redirect.NEVER);
            if (b.sslContext != null) {
                hb.sslContext(b.sslContext);
            }
            http = hb.build();
            this.ownedHttp = http;
        } else {
            this.ownedHttp = null;
        }
        this.transport = new Transport(http, b.token, b.requestTimeout, b.giveUpAfter);
        this.backoff = new Backoff(b.backoffBase, b.backoffMax);
        this.giveUpAfter = b.giveUpAfter;
        this.closeTimeout = b.closeTimeout;
        this.queue = new SendQueue(transport, routes, ClientErrors.INSTANCE,
                new SendQueue.Settings(b.batchSize, b.linger, b.maxInFlight, backoff, b.giveUpAfter));
    }

    /**
     * A builder for a client of the serve at {@code node} (e.g. {@code http://te-a:8080}), and of
     * the other nodes of its cluster, if any, at {@code more}.
     */
    public static Builder builder(URI node, URI... more) {
        Builder b = new Builder();
        b.node(node);
        for (URI uri : more) {
            b.node(uri);
        }
        return b;
    }

    /**
     * Sends the event (batched with others); the future completes with its final answer. See the
     * class comment for what that means and what is resent.
     *
     * @throws NullPointerException if {@code event} is null
     */
    public CompletableFuture<Ack> send(TaskEvent event) {
        return queue.submit(Objects.requireNonNull(event, "event"));
    }

    /** Sends each event as {@link #send} does; the future holds their answers in the same order. */
    public CompletableFuture<List<Ack>> sendAll(List<TaskEvent> events) {
        List<CompletableFuture<Ack>> futures = new ArrayList<>(events.size());
        for (TaskEvent event : events) {
            futures.add(send(event));
        }
        return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                .thenApply(done -> futures.stream().map(CompletableFuture::join).toList());
    }

    /**
     * Creates task instances, SUBMITTED ({@code POST /v1/task-instances}), all of them or none, and
     * returns once they exist. Only their id, workflow instance id and name are sent; the server
     * sets the rest (state SUBMITTED, version 0, its own creation time).
     *
     * <p>Like {@link #send}, it tries again on connection errors, timeouts, 503 (never sooner than its
     * {@code Retry-After}) and 5xx, with backoff and jitter, up to {@link Builder#giveUpAfter}. A try whose answer was lost may have created the tasks, so a 409
     * ("the ids exist") after such a try is read as done <em>only</em> if every task reads back
     * ({@code GET /v1/task-instances/{id}}) with the workflow instance and name sent here; otherwise
     * it is someone else's task, and the call fails. A 409 to the first try always fails.
     *
     * @throws IllegalArgumentException if {@code tasks} is empty, holds an id twice, or holds a task
     *     not in state SUBMITTED (the server creates tasks SUBMITTED; other fields would be lost)
     * @throws TaskCreationRefusedException if the server refused them (409: an id exists; 400)
     * @throws TaskEventsException also {@link UnauthorizedException}, {@link TlsException},
     *     {@link ServerUnavailableException} or {@link ClientClosedException}, as for {@link #send}
     * @throws InterruptedException if interrupted while waiting; the tasks may or may not exist
     */
    public void createTasks(List<TaskInstance> tasks) throws InterruptedException {
        if (tasks.isEmpty()) {
            throw new IllegalArgumentException("createTasks needs at least one task instance");
        }
        Set<Long> ids = new HashSet<>();
        for (TaskInstance t : tasks) {
            Objects.requireNonNull(t, "a task instance of the list");
            if (t.state() != TaskState.SUBMITTED) {
                throw new IllegalArgumentException("task instance " + t.id() + " is " + t.state() + ": serve creates"
                        + " task instances SUBMITTED (use TaskInstance.submitted) and workers' events move them on");
            }
            if (!ids.add(t.id())) {
                throw new IllegalArgumentException("task instance id " + t.id() + " is in the list twice");
            }
        }
        if (closed) {
            throw ClientErrors.INSTANCE.closed("the client is closed; create the tasks with another client");
        }
        new TaskCreation(transport, routes, backoff, giveUpAfter, ClientErrors.INSTANCE).create(List.copyOf(tasks));
    }

    /**
     * The cursor of the feed's head now: a feed read from it gets every change committed after the
     * server read its head during this call, and none from before. Take it <em>before</em> making
     * the changes a consumer must see (a feed opened at {@link FeedCursor#LATEST} takes the head
     * only at its first poll, later). Retried like a feed poll.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public FeedCursor feedHead() throws InterruptedException {
        if (closed) {
            throw ClientErrors.INSTANCE.closed("the client is closed; read the feed with another client");
        }
        // A page after "latest" is empty unless a change committed between the server's read of its
        // head and its read of the rows; then the head has moved and is asked for again.
        for (int tries = 1; ; tries++) {
            dev.taskevents.client.internal.Wire.Page page = poller().poll(FeedCursor.LATEST.queryValue(), 1, Duration.ZERO);
            if (page.events().isEmpty() && page.next() != null && !page.next().equals(FeedCursor.LATEST.queryValue())) {
                return FeedCursor.parse(page.next());
            }
            if (tries == 100) {
                throw new IllegalStateException("the feed's head moved during each of 100 reads of it (or the server"
                        + " answered without a cursor); open the feed at FeedCursor.LATEST instead");
            }
        }
    }

    /**
     * How many times an event was sent again after a try without a final answer (connection
     * errors, timeouts, 503 and other 5xx, NOT_APPLIED), over this client's life; moves to a
     * shard's owner are not counted.
     */
    public long resends() {
        return queue.resends();
    }

    /** The feed after {@code after}, 1,000 events a page at most, each poll parked up to 30 s at the server. */
    public FeedReader feed(FeedCursor after) {
        return feed(after, 1_000, Duration.ofSeconds(30));
    }

    /**
     * The feed after {@code after} as a blocking iterator.
     *
     * @param limit the most events a page (one request) carries, 1 to 10,000
     * @param wait how long the server may hold a poll open waiting for events, 0 to 60 s
     */
    public FeedReader feed(FeedCursor after, int limit, Duration wait) {
        checkFeed(after, limit, wait);
        return new FeedReader(poller(), after, limit, wait);
    }

    /** As {@link #feedPublisher(FeedCursor, int, Duration)} with a limit of 1,000 and a wait of 30 s. */
    public Flow.Publisher<FeedItem> feedPublisher(FeedCursor after) {
        return feedPublisher(after, 1_000, Duration.ofSeconds(30));
    }

    /**
     * The feed after {@code after} as a publisher: each subscriber gets its own reading from
     * {@code after}, on a virtual thread of its own, polled only while it has demand (see
     * {@link FeedReader} for order, resuming and failures). The feed has no end: {@code onComplete}
     * is never called; {@code onError} gets the feed's final failures.
     */
    public Flow.Publisher<FeedItem> feedPublisher(FeedCursor after, int limit, Duration wait) {
        checkFeed(after, limit, wait);
        return subscriber -> new FeedSubscription(Objects.requireNonNull(subscriber, "subscriber"), poller(), after,
                limit, wait).start();
    }

    private FeedPoller poller() {
        return new FeedPoller(transport, routes, backoff, giveUpAfter, ClientErrors.INSTANCE, () -> closed);
    }

    private static void checkFeed(FeedCursor after, int limit, Duration wait) {
        Objects.requireNonNull(after, "after");
        if (limit < 1 || limit > 10_000) {
            throw new IllegalArgumentException("limit must be between 1 and 10,000 events a page, was " + limit);
        }
        if (wait.isNegative() || wait.compareTo(Duration.ofSeconds(60)) > 0) {
            throw new IllegalArgumentException("wait must be between 0 and 60 s (serve's cap), was " + wait);
        }
    }

    /** The events sent and not yet answered. */
    public int unanswered() {
        return queue.unanswered();
    }

    /**
     * Takes no more events; waits up to the builder's {@code closeTimeout} for the unanswered ones
     * (still resent meanwhile), then fails the rest with {@link ClientClosedException}. A feed reader
     * made by this client fails with {@link ClientClosedException} at its next poll: close it first.
     */
    @Override
    public void close() {
        close(closeTimeout);
    }

    /** As {@link #close()}, waiting up to {@code timeout}; returns how many events were failed unanswered. */
    public int close(Duration timeout) {
        closed = true;
        int failed = queue.close(timeout);
        transport.closing(); // what shutdownNow aborts is no outage
        if (ownedHttp != null) {
            ownedHttp.shutdownNow();
        }
        return failed;
    }

    /** Builds a {@link TaskEventsClient}; not thread-safe. */
    public static final class Builder {
        private final List<URI> nodes = new ArrayList<>();
        private Supplier<String> token = () -> null;
        private SSLContext sslContext;
        private HttpClient httpClient;
        private Duration connectTimeout = Duration.ofSeconds(5);
        private Duration requestTimeout = Duration.ofSeconds(90);
        private int batchSize = 500;
        private Duration linger = Duration.ofMillis(5);
        private Duration backoffBase = Duration.ofMillis(100);
        private Duration backoffMax = Duration.ofSeconds(10);
        private int maxInFlight = 4;
        private Duration giveUpAfter = DEFAULT_GIVE_UP_AFTER;
        private Duration closeTimeout = Duration.ofSeconds(10);
        private int shardCount;

        private Builder() {
        }

        private void node(URI uri) {
            Objects.requireNonNull(uri, "node URI");
            if (!uri.isAbsolute() || !("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
                    || uri.getHost() == null || uri.getQuery() != null || uri.getFragment() != null) {
                throw new IllegalArgumentException("a node URI must be http:// or https:// with a host and no query,"
                        + " such as https://te-a:8080, was \"" + uri + "\"");
            }
            if (!nodes.contains(uri)) {
                nodes.add(uri);
            }
        }

        /** More nodes of the same cluster, tried when a node is unreachable or no owner is known. */
        public Builder nodes(List<URI> more) {
            more.forEach(this::node);
            return this;
        }

        /**
         * The bearer token, sent on every request; never logged, never in a message. Surrounding
         * whitespace is stripped.
         *
         * @throws IllegalArgumentException if it is empty or holds a space, a control character or a
         *     character outside ASCII (the message does not show the token)
         */
        public Builder token(String token) {
            Objects.requireNonNull(token, "token");
            String t = BearerToken.check(token, "the bearer token given to the builder");
            this.token = () -> t;
            return this;
        }

        /** The bearer token as the first line of {@code file} (read now; the token is not shown in errors). */
        public Builder token(Path file) {
            try {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                if (lines.isEmpty()) {
                    throw new IllegalArgumentException("the token file " + file + " is empty; put the bearer token on its"
                            + " first line");
                }
                return token(lines.getFirst());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the token file " + file + ": " + e.getMessage(), e);
            }
        }

        /**
         * The bearer token, asked for before each request (for rotation); a null answer sends none.
         * A token file read anew for each request:
         * <pre>{@code
         * builder.token(() -> {
         *     try {
         *         return Files.readString(tokenFile);
         *     } catch (IOException e) {
         *         throw new UncheckedIOException(e);
         *     }
         * });
         * }</pre>
         * Each token is checked as
         * {@link #token(String)} checks one: surrounding whitespace (a file's trailing newline) is
         * stripped. A supplier that throws (any exception or {@link Error} but a
         * {@link VirtualMachineError}), or a token that cannot be sent (empty, or a space, a
         * control character or a character outside ASCII inside it), fails that try like a refused
         * connection: the request is not sent, and it is tried again after a backoff, up to
         * {@link #giveUpAfter}; then the event or feed fails with {@link ServerUnavailableException}
         * naming the problem. No message shows the token: a supplier's exception is named by its
         * class (and its causes' classes) only, since its message may quote the token.
         */
        public Builder token(Supplier<String> token) {
            this.token = Objects.requireNonNull(token, "token");
            return this;
        }

        /** The TLS context for https:// nodes (its trust managers decide which server certificates are trusted). */
        public Builder sslContext(SSLContext context) {
            this.sslContext = Objects.requireNonNull(context, "context");
            return this;
        }

        /**
         * An HttpClient of the caller's, used instead of one the client makes (then {@link #sslContext}
         * and {@link #connectTimeout} cannot be set: configure them on it). Not closed by the client.
         * Give it a connect timeout: the JDK counts an https:// handshake in it, so without one an
         * https:// URI of a plain-HTTP server that waits for a request line (serve does) is never
         * told apart from a slow server: each try ends in the request timeout and is resent.
         */
        public Builder httpClient(HttpClient client) {
            this.httpClient = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * How long connecting may take, the TLS handshake included (default 5 s); also how long an
         * https:// URI of a plain-HTTP server takes to fail with {@link TlsException}.
         */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive("connectTimeout", timeout);
            return this;
        }

        /**
         * How long one request may take before it counts as failed and is resent (default 90 s:
         * serve's own ack timeout is 60 s); a feed poll gets its wait on top.
         */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive("requestTimeout", timeout);
            return this;
        }

        /** Up to {@code size} events a request, waiting up to {@code linger} to fill it (default 500, 5 ms). */
        public Builder batch(int size, Duration linger) {
            if (size < 1 || size > 10_000) {
                throw new IllegalArgumentException("batch size must be between 1 and 10,000 events, was " + size);
            }
            if (linger.isNegative()) {
                throw new IllegalArgumentException("linger must not be negative, was " + linger);
            }
            this.batchSize = size;
            this.linger = linger;
            return this;
        }

        /** Resend delays: random in [0, min(max, base * 2^(n-1))] before resend n (default 100 ms, 10 s). */
        public Builder backoff(Duration base, Duration max) {
            positive("backoff base", base);
            if (max.compareTo(base) < 0) {
                throw new IllegalArgumentException("backoff max " + max + " is below its base " + base);
            }
            this.backoffBase = base;
            this.backoffMax = max;
            return this;
        }

        /** At most this many requests out at once (default 4). */
        public Builder maxInFlight(int requests) {
            if (requests < 1) {
                throw new IllegalArgumentException("maxInFlight must be at least 1, was " + requests);
            }
            this.maxInFlight = requests;
            return this;
        }

        /**
         * Gives up on an event (counted from its first send), a feed read or a {@code createTasks}
         * call that found no useful answer for this long, with {@link ServerUnavailableException}:
         * by default {@link TaskEventsClient#DEFAULT_GIVE_UP_AFTER} (5 minutes);
         * {@link Duration#ZERO} never gives up. Either way a node that fails to answer (refused,
         * timed out, 500, 502, 504) is logged once per kind of failure at WARNING (logger
         * {@code dev.taskevents.client}), and its next answer at INFO.
         */
        public Builder giveUpAfter(Duration bound) {
            if (bound.isNegative()) {
                throw new IllegalArgumentException("giveUpAfter must not be negative, was " + bound);
            }
            this.giveUpAfter = bound;
            return this;
        }

        /** How long {@link TaskEventsClient#close()} waits for unanswered events (default 10 s). */
        public Builder closeTimeout(Duration timeout) {
            if (timeout.isNegative()) {
                throw new IllegalArgumentException("closeTimeout must not be negative, was " + timeout);
            }
            this.closeTimeout = timeout;
            return this;
        }

        /**
         * Cluster mode: the cluster's shard count ({@code GET /v1/cluster}), so that one answer naming a
         * shard's owner routes every workflow of that shard ({@link Shards#of}). Without it owners are
         * remembered per workflow instance.
         */
        public Builder shardCount(int count) {
            this.shardCount = Shards.checkCount(count);
            return this;
        }

        public TaskEventsClient build() {
            if (httpClient != null && sslContext != null) {
                throw new IllegalStateException("both httpClient(...) and sslContext(...) were given: set the"
                        + " SSLContext on the HttpClient instead");
            }
            return new TaskEventsClient(this);
        }

        private static Duration positive(String what, Duration d) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(what + " must be positive, was " + d);
            }
            return d;
        }
    }
}
