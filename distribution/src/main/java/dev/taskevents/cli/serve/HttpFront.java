package dev.taskevents.cli.serve;

import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.Graceful;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The HTTP server under serve: Jetty 12's core (no servlets), with every request handed to one
 * {@link Handler} on a virtual thread of its own, as an {@link Exchange}. What it adds to Jetty's
 * defaults, each for a behaviour serve's tests pin:
 * <ul>
 *   <li>A request is handed over as soon as its head is read ({@code delayDispatchUntilContent}
 *       off), so that serve's own body timeout and byte budget govern its body.
 *   <li>Jetty's idle timeout ({@link #IDLE_TIMEOUT}) closes idle connections only: a request in
 *       progress is bounded by serve's own deadlines (body, acks, a poll's wait), so a parked poll
 *       is not cut at 30 s.
 *   <li>A connection that receives a request head for longer than {@code bodyReadTimeout}
 *       without completing it is closed, and so is a TLS connection whose handshake takes longer:
 *       the idle timeout alone would let bytes trickled one at a time hold a connection for ever.
 *   <li>An answer must be written within {@link #WRITE_TIMEOUT}, or its connection is closed: a
 *       client reading slowly would otherwise hold its request's permit and bytes.
 *   <li>Connections over {@code maxConnections} are accepted and closed at once (Jetty's own
 *       limit stops accepting instead, leaving them waiting in the kernel's backlog).
 *   <li>Errors Jetty answers itself (a malformed request line, headers over
 *       {@link #MAX_HEADER_BYTES}) have serve's JSON body {@code {"error": ...}}, naming the
 *       status only.
 *   <li>{@link #stop} stops accepting, lets the requests in progress finish up to the drain
 *       asked for, then closes the rest.
 * </ul>
 */
final class HttpFront {
    /** Serve's handler of one exchange, called on a virtual thread. */
    interface ExchangeHandler {
        void handle(Exchange exchange);
    }

    private static final System.Logger LOG = System.getLogger(HttpFront.class.getName());
    /** How long an idle keep-alive connection stays open. */
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** The most bytes of request line and headers; more is answered 431. */
    static final int MAX_HEADER_BYTES = 16 * 1024;
    /**
     * How long an answer may take to write: a client that reads it slower is cut off, so that it
     * cannot hold a request's permit and byte budget for as long as it likes.
     */
    static final Duration WRITE_TIMEOUT = Duration.ofSeconds(30);
    /**
     * Connections the kernel queues before they are accepted. Jetty's default, 50, drops the SYNs
     * of a burst of a few hundred clients, whose connects then wait for their retransmits.
     */
    private static final int ACCEPT_BACKLOG = 1024;

    /**
     * Jetty's loggers stop at WARNING, whatever the root logger's level: its INFO lines (version,
     * start, stop) are noise in serve's log, and its DEBUG lines hold request bytes, bodies and
     * tokens among them. Kept in a field: a logger whose level was set lasts only while referenced.
     */
    private static final Logger JETTY_LOG = Logger.getLogger("org.eclipse.jetty");

    static {
        JETTY_LOG.setLevel(Level.WARNING);
    }

    private final Server server;
    private final ServerConnector connector;
    /** Answers sent, by status: serve's own and Jetty's. */
    private final Map<Integer, LongAdder> responses = new ConcurrentHashMap<>();
    private final ConnectionGuard guard;
    private final ScheduledExecutorService headChecks;

    /** Binds the address; requests are taken once {@link #start} is called. */
    HttpFront(ServerSettings settings, ExchangeHandler handler) throws IOException {
        QueuedThreadPool threads = new QueuedThreadPool(); // Jetty's own I/O: acceptor, selectors, scheduler
        threads.setName("serve-http");
        threads.setVirtualThreadsExecutor(Executors.newThreadPerTaskExecutor(
                Thread.ofVirtual().name("serve-request-", 0).factory()));
        this.server = new Server(threads);
        HttpConfiguration http = new HttpConfiguration();
        http.setDelayDispatchUntilContent(false);
        http.setRequestHeaderSize(MAX_HEADER_BYTES);
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        HttpConnectionFactory h1 = new HttpConnectionFactory(http);
        if (settings.tls() != null) {
            SslContextFactory.Server tls = new SslContextFactory.Server();
            tls.setSslContext(settings.tls());
            this.connector = new ServerConnector(server, tls, h1);
        } else {
            this.connector = new ServerConnector(server, h1);
        }
        connector.setHost(settings.address().getAddress().getHostAddress());
        connector.setPort(settings.address().getPort());
        connector.setAcceptQueueSize(ACCEPT_BACKLOG);
        connector.setIdleTimeout(IDLE_TIMEOUT.toMillis());
        this.guard = new ConnectionGuard(settings.maxConnections(), settings.bodyReadTimeout().toNanos());
        connector.addEventListener(guard);
        server.addConnector(connector);
        server.setHandler(new GracefulHandler(new Handler.Abstract(org.eclipse.jetty.util.thread.Invocable
                .InvocationType.BLOCKING) {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                // serve's deadlines bound every request; the idle timeout is for idle connections
                request.addIdleTimeoutListener(timeout -> false);
                JettyExchange exchange = new JettyExchange(request, response, callback, guard, HttpFront.this::counted);
                try {
                    handler.handle(exchange); // answers every failure itself; this is the last resort
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, "a request's handler failed: " + FailureText.describe(e),
                            FailureText.withoutMessages(e));
                    exchange.close();
                }
                return true;
            }
        }));
        server.setErrorHandler(this::jettyError);
        this.headChecks = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread thread = new Thread(runnable, "serve-head-deadline");
            thread.setDaemon(true);
            return thread;
        });
        try {
            connector.open();
        } catch (IOException e) {
            headChecks.shutdownNow();
            if (e.getCause() instanceof BindException bind) {
                throw bind;
            }
            throw e;
        }
    }

    void start() {
        try {
            server.start();
        } catch (Exception e) {
            throw new IllegalStateException("the HTTP server did not start: " + e.getClass().getName(), e);
        }
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(100), Math.min(TimeUnit.SECONDS.toNanos(1),
                guard.headTimeoutNanos / 4));
        headChecks.scheduleWithFixedDelay(guard::closeStalledHeads, period, period, TimeUnit.NANOSECONDS);
    }

    /** The address it listens on (with the real port when 0 was asked for). */
    InetSocketAddress address() {
        return new InetSocketAddress(connector.getHost(), connector.getLocalPort());
    }

    /** Answers sent so far with {@code status}. */
    long responses(int status) {
        LongAdder count = responses.get(status);
        return count == null ? 0 : count.sum();
    }

    /** Answers sent so far, by status. */
    Map<Integer, Long> responses() {
        Map<Integer, Long> counts = new TreeMap<>();
        responses.forEach((status, count) -> counts.put(status, count.sum()));
        return counts;
    }

    private void counted(int status) {
        responses.computeIfAbsent(status, s -> new LongAdder()).increment();
    }

    /** Connections open now. */
    int connections() {
        return guard.open.get();
    }

    /**
     * Stops accepting connections, waits up to {@code drain} for the requests in progress to be
     * answered, then closes every connection.
     */
    void stop(Duration drain) {
        try {
            Graceful.shutdown(server).get(drain.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // requests still in progress at the deadline are cut off: that is what the drain's end means
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.setStopTimeout(0); // drained above: the stop itself closes what is left at once
        try {
            server.stop();
        } catch (Exception e) {
            throw new IllegalStateException("the HTTP server did not stop: " + e.getClass().getName(), e);
        } finally {
            headChecks.shutdownNow();
        }
    }

    /** The JSON body of an error Jetty answers itself: the status's reason only, never an exception's text. */
    private boolean jettyError(Request request, Response response, Callback callback) {
        counted(response.getStatus());
        String reason = HttpStatus.getMessage(response.getStatus());
        byte[] body = ("{\"error\":\"" + reason.toLowerCase(java.util.Locale.ROOT) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }

    /** An {@link Exchange} over one Jetty request. */
    private static final class JettyExchange implements Exchange {
        private final Request request;
        private final Response response;
        private final Callback callback;
        private final ConnectionGuard guard;
        private final Connection connection;
        private final IntConsumer counted;
        private final AtomicBoolean closed = new AtomicBoolean();
        private boolean responded;
        /** A chunk of the body not yet read to its end; null when none is held. */
        private Content.Chunk chunk;
        /** Counted down when Jetty has more of the body; null when no demand is pending. */
        private CountDownLatch demand;

        JettyExchange(Request request, Response response, Callback callback, ConnectionGuard guard,
                      IntConsumer counted) {
            this.request = request;
            this.counted = counted;
            this.response = response;
            this.callback = callback;
            this.guard = guard;
            this.connection = request.getConnectionMetaData().getConnection();
            guard.requestStarted(connection);
        }

        @Override
        public String method() {
            return request.getMethod();
        }

        @Override
        public String path() {
            return request.getHttpURI().getDecodedPath();
        }

        @Override
        public String rawQuery() {
            return request.getHttpURI().getQuery();
        }

        @Override
        public String header(String name) {
            return request.getHeaders().get(name);
        }

        @Override
        public int read(byte[] into, int offset, int length, long deadlineNanos) throws IOException, InterruptedException {
            while (chunk == null) {
                if (demand != null) {
                    // At most one demand is pending at a time: wait for the one made before, if any.
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0 || !demand.await(left, TimeUnit.NANOSECONDS)) {
                        return 0;
                    }
                    demand = null;
                }
                chunk = request.read();
                if (chunk == null) {
                    CountDownLatch more = new CountDownLatch(1);
                    demand = more;
                    request.demand(more::countDown);
                }
            }
            if (Content.Chunk.isFailure(chunk)) {
                Throwable failure = chunk.getFailure();
                boolean last = chunk.isLast();
                chunk = null; // a failure chunk holds no buffer
                if (!last) {
                    // A transient failure: Jetty's idle timeout (shortened while the server drains).
                    // The body may still come; serve's own deadline decides.
                    return read(into, offset, length, deadlineNanos);
                }
                throw failure instanceof IOException io ? io : new IOException(failure);
            }
            ByteBuffer buffer = chunk.getByteBuffer();
            if (!buffer.hasRemaining()) {
                if (chunk.isLast()) {
                    return -1; // kept: every later read is the end too
                }
                chunk.release();
                chunk = null;
                return read(into, offset, length, deadlineNanos);
            }
            int n = Math.min(length, buffer.remaining());
            buffer.get(into, offset, n);
            if (!buffer.hasRemaining() && !chunk.isLast()) {
                chunk.release();
                chunk = null;
            }
            return n;
        }

        @Override
        public void setHeader(String name, String value) {
            response.getHeaders().put(name, value);
        }

        @Override
        public void respond(int status, String contentType, byte[] bytes, int length) throws IOException {
            response.setStatus(status);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
            responded = true;
            counted.accept(status);
            // Jetty gives the length of a body written whole, and leaves it out of a HEAD answer.
            try (Blocker.Callback written = Blocker.callback()) {
                response.write(true, ByteBuffer.wrap(bytes, 0, length), written);
                written.block(WRITE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException slowReader) {
                connection.getEndPoint().close(); // fails the write in progress
                throw new IOException("the answer was not written within " + WRITE_TIMEOUT.toSeconds() + " s");
            }
        }

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            guard.requestEnded(connection);
            if (chunk != null) {
                chunk.release();
                chunk = null;
            }
            if (responded) {
                callback.succeeded();
            } else {
                // No answer, and none from Jetty's error handler either (an AbortException skips it):
                // the connection just closes.
                connection.getEndPoint().close();
                callback.failed(new Request.Handler.AbortException("closed without an answer"));
            }
        }
    }

    /**
     * Counts connections for the cap, and closes those whose request head does not arrive in
     * time. A head is <em>stalled</em> when, with no request of the connection being handled, its
     * bytes keep coming and no request is completed for {@code headTimeoutNanos}; an idle
     * connection (no bytes) is left to the idle timeout. A TLS connection must finish its
     * handshake within the same time from its opening. The check runs a few times per timeout, so
     * a stalled head or handshake is closed within a quarter of a timeout (at most a second) after it.
     */
    private static final class ConnectionGuard implements Connection.Listener {
        private static final long NONE = Long.MIN_VALUE;

        /** What the last check saw of one connection. */
        private static final class Seen {
            final long openedAt = System.nanoTime();
            /** A TLS connection until its handshake succeeded: it must do so within the head's time. */
            volatile boolean handshaking;
            final AtomicInteger handling = new AtomicInteger();
            long messages;
            long bytes;
            long headSince = NONE;
        }

        final AtomicInteger open = new AtomicInteger();
        final long headTimeoutNanos;
        private final int maxConnections;
        private final Map<Connection, Seen> connections = new ConcurrentHashMap<>();

        ConnectionGuard(int maxConnections, long headTimeoutNanos) {
            this.maxConnections = maxConnections;
            this.headTimeoutNanos = headTimeoutNanos;
        }

        @Override
        public void onOpened(Connection connection) {
            if (connection instanceof SslConnection tls) {
                // The network connection: counted, and watched until its handshake is done (its HTTP
                // connection, watched for heads, sees no byte before that).
                Seen seen = new Seen();
                seen.handshaking = true;
                connections.put(tls, seen);
                tls.addHandshakeListener(new SslHandshakeListener() {
                    @Override
                    public void handshakeSucceeded(Event event) {
                        seen.handshaking = false;
                    }
                });
                counted(connection);
                return;
            }
            connections.put(connection, new Seen());
            if (!(connection.getEndPoint() instanceof SslConnection.SslEndPoint)) {
                counted(connection);
            }
        }

        private void counted(Connection connection) {
            if (open.incrementAndGet() > maxConnections) {
                connection.getEndPoint().close();
            }
        }

        @Override
        public void onClosed(Connection connection) {
            if (connection instanceof SslConnection || !(connection.getEndPoint() instanceof SslConnection.SslEndPoint)) {
                open.decrementAndGet();
            }
            connections.remove(connection);
        }

        void requestStarted(Connection connection) {
            Seen seen = connections.get(connection);
            if (seen != null) {
                seen.handling.incrementAndGet();
            }
        }

        void requestEnded(Connection connection) {
            Seen seen = connections.get(connection);
            if (seen != null) {
                seen.handling.decrementAndGet();
            }
        }

        /** Runs on the one checking thread: the fields of {@link Seen} other than {@code handling} are its own. */
        void closeStalledHeads() {
            long now = System.nanoTime();
            connections.forEach((connection, seen) -> {
                try {
                    check(connection, seen, now);
                } catch (RuntimeException e) {
                    // One connection's failure must not end the periodic check, which stops at its
                    // first exception: it is logged, and the next round looks again.
                    LOG.log(System.Logger.Level.WARNING, "checking a connection for a stalled head failed: "
                            + FailureText.describe(e));
                }
            });
        }

        private void check(Connection connection, Seen seen, long now) {
            if (connection instanceof SslConnection) {
                if (seen.handshaking && now - seen.openedAt >= headTimeoutNanos) {
                    connection.getEndPoint().close();
                }
                return;
            }
            long messages = connection.getMessagesIn();
            long bytes = connection.getBytesIn();
            if (seen.handling.get() > 0 || messages != seen.messages) {
                seen.headSince = NONE;
            } else if (bytes != seen.bytes && seen.headSince == NONE) {
                seen.headSince = now;
            }
            seen.messages = messages;
            seen.bytes = bytes;
            if (seen.headSince != NONE && now - seen.headSince >= headTimeoutNanos) {
                connection.getEndPoint().close();
            }
        }
    }
}
