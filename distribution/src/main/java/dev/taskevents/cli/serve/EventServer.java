package dev.taskevents.cli.serve;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.DuplicateTaskInstanceException;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.engine.executor.QueueFullException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The HTTP JSON service, one virtual thread per exchange ({@link HttpFront}):
 * <ul>
 *   <li>{@code POST /v1/task-instances}: one or an array of {@code {id, workflowInstanceId, name}},
 *       created SUBMITTED; 201, or 409 if an id exists (nothing created);
 *   <li>{@code POST /v1/events}: one event or an array; every event is validated before any is
 *       submitted, then the answer waits for the commits: 200 with one ack per event, or 503 with
 *       {@code Retry-After} if the engine was full or the store failed (resending is safe);
 *   <li>{@code GET /v1/task-instances/{id}}, {@code GET|HEAD /healthz}, {@code GET /metrics} (Prometheus text);
 *   <li>{@code GET /v1/state-events?after=CURSOR&limit=N&wait=SECONDS}: the store's state-event feed,
 *       long-polled ({@link StateEventsEndpoint}).
 * </ul>
 * Client errors are 4xx with {@code {"error": "..."}} naming the field; a server fault is a 500
 * or 503 whose body says only that, with an error id; the server's log has the same id, the
 * exception classes and SQL states, never a message that could hold SQL, a bound value or a URL.
 *
 * <p>Under hostile input, in the order a request meets them:
 * <ol>
 *   <li>{@code /healthz} is answered first, without a token, a permit or a body: a full server
 *       still says it is alive.
 *   <li>The body is read before the request counts as in flight, so clients that send a head and
 *       then stall hold no permit. Each read waits up to a deadline, so that a body that never
 *       arrives is answered 408 at {@code bodyReadTimeout}.
 *       Its bytes are counted against {@code maxBufferedBytes} before they are read
 *       ({@link RequestBody}); a body waits for budget up to its deadline, then gets 503 with
 *       {@code Retry-After}: never an OutOfMemoryError. The budget is released when the answer
 *       has been written.
 *   <li>Then a permit of {@code maxInFlight}, or 503.
 *   <li>One deadline, {@code ackTimeout} from the moment the body arrived, covers all the events
 *       of the request together.
 * </ol>
 * A read of the state-event feed takes a permit of {@code maxInFlight} (or 503) and reserves its
 * page's bytes in the same budget as bodies, cutting the page to what is free
 * ({@link FeedReadLimits}); a parked poll holds neither.
 * This class sets no system property.
 */
public final class EventServer {
    private static final System.Logger LOG = System.getLogger(EventServer.class.getName());
    /** The response header that names the owner of a misdirected request's shards (421). */
    static final String OWNER_HEADER = "Taskevents-Owner";

    private final TaskEventEngine engine;
    private final TaskInstanceStore store;
    private final ServerSettings settings;
    private final BearerTokens tokens;
    private final Semaphore inFlight;
    private final Semaphore bufferedBytes;
    /**
     * Parsing a body is the one long stretch of CPU a request makes (about a second for 16 MiB).
     * Virtual threads are not time-sliced: as many parses as carrier threads would leave none for
     * {@code /healthz} until they end. So at most one fewer than the processors parse at once.
     */
    private final Semaphore parsing = new Semaphore(Math.max(1, Runtime.getRuntime().availableProcessors() - 1), true);
    private final JsonCodec json;
    private final LatencyHistogram ackLatency = new LatencyHistogram();
    /** Acknowledgements per second with their latency, for the status page. */
    private final StatusSeries ackSeries = new StatusSeries();
    private final RecentErrors errors = new RecentErrors();
    private final java.util.concurrent.atomic.AtomicInteger readingBodies = new java.util.concurrent.atomic.AtomicInteger();
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpFront front;
    private final StatusEndpoint status;
    /** {@code GET /v1/state-events}; null when the store keeps no feed. */
    private final StateEventsEndpoint stateEvents;
    private volatile boolean stopping;

    public EventServer(TaskEventEngine engine, TaskInstanceStore store, ServerSettings settings) throws IOException {
        this.engine = engine;
        this.store = store;
        this.settings = settings;
        this.tokens = new BearerTokens(settings.tokens());
        this.inFlight = new Semaphore(settings.maxInFlight());
        // Fair: bodies get the budget in the order they asked, so a large one is not passed over forever.
        this.bufferedBytes = new Semaphore((int) Math.min(Integer.MAX_VALUE, settings.maxBufferedBytes()), true);
        this.json = new JsonCodec(settings.maxVarPoolBytes());
        FeedReadLimits feedLimits = new FeedReadLimits(inFlight, bufferedBytes,
                (int) Math.min(Integer.MAX_VALUE, settings.maxBufferedBytes()));
        this.stateEvents = store.stateFeed().map(feed -> new StateEventsEndpoint(feed, json, settings.feed(), handlers,
                feedLimits, errors)).orElse(null);
        this.status = new StatusEndpoint(json, engine, store.stateFeed().orElse(null), this::parkedPolls,
                () -> settings.maxInFlight() - inFlight.availablePermits(), this::refusedSoFar, ackSeries, errors);
        this.front = new HttpFront(settings, this::handle); // binds the port: last, so that nothing after it can fail
    }

    /** The state-event polls parked now (for metrics and tests). */
    int parkedPolls() {
        return stateEvents == null ? 0 : stateEvents.parked();
    }

    /** Requests answered 503 so far. */
    private long refusedSoFar() {
        return front.responses(503);
    }

    /** Whether this server speaks HTTPS. */
    public boolean tls() {
        return settings.tls() != null;
    }

    public void start() {
        front.start();
    }

    /** The address it listens on (with the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return front.address();
    }

    /**
     * Stops taking connections, lets requests in progress finish (they wait for their commits) up
     * to {@code drain}, then stops. The engine is the caller's to close afterwards.
     */
    public void stop(Duration drain) {
        stopping = true;
        if (stateEvents != null) {
            stateEvents.stop(); // parked polls get 503 now: they would hold the drain for their whole wait
        }
        front.stop(drain);
        handlers.shutdown();
    }

    private enum Route {
        EVENTS("POST", true), TASK_INSTANCES("POST", true), TASK_INSTANCE("GET", false), METRICS("GET", false),
        CLUSTER("GET", false), STATUS("GET", false);

        final String method;
        final boolean hasBody;

        Route(String method, boolean hasBody) {
            this.method = method;
            this.hasBody = hasBody;
        }
    }

    private void handle(Exchange exchange) {
        try {
            if (exchange.path().equals("/v1/state-events")) {
                stateEvents(exchange);
            } else {
                try (exchange) {
                    route(exchange);
                }
            }
        } catch (IOException clientGone) {
            // the answer could not be written: the client went away, and the exchange is closed
        }
    }

    private void route(Exchange exchange) throws IOException {
        String path = exchange.path();
        String method = exchange.method();
        if (path.equals("/healthz")) {
            health(exchange, method);
            return;
        }
        if (path.equals("/") || path.equals("/status")) {
            page(exchange, method);
            return;
        }
        boolean open = path.equals("/metrics") && settings.metricsPublic();
        if (!open && !tokens.permits(exchange.header("Authorization"))) {
            // No hint whether the token was missing, malformed or wrong.
            exchange.setHeader("WWW-Authenticate", "Bearer");
            send(exchange, 401, json.error("unauthorized"));
            return;
        }
        RequestBody body = null;
        try {
            Route route = routeOf(path, method);
            if (route.hasBody) {
                body = readBody(exchange);
            }
            long deadline = System.nanoTime() + settings.ackTimeout().toNanos();
            if (!inFlight.tryAcquire()) {
                throw new BadRequest(503, "too many requests in progress; retry");
            }
            try {
                switch (route) {
                    case EVENTS -> postEvents(exchange, body, deadline);
                    case TASK_INSTANCES -> postTaskInstances(exchange, body);
                    case TASK_INSTANCE -> getTaskInstance(exchange, path.substring("/v1/task-instances/".length()));
                    case METRICS -> sendText(exchange, 200, metrics());
                    case CLUSTER -> send(exchange, 200, cluster());
                    case STATUS -> send(exchange, 200, status.status());
                }
            } finally {
                inFlight.release();
            }
        } catch (BadRequest e) {
            refuse(exchange, e);
            if (e.discardAfterAnswer > 0) {
                discard(exchange, e.discardAfterAnswer);
            }
        } catch (RuntimeException e) {
            String id = errors.newId(method + " " + JsonCodec.cut(path) + ": internal error");
            LOG.log(Level.ERROR, "request " + method + " " + JsonCodec.cut(path) + " failed, error " + id + ": "
                    + describe(e), withoutMessages(e));
            send(exchange, 500, json.error("internal error " + id + "; the server log has the details"));
        } finally {
            if (body != null) {
                body.release();
            }
        }
    }

    /**
     * {@code GET /v1/state-events}, outside the try-with-resources of {@link #handle(Exchange)}: a parked
     * poll's exchange must stay open after this returns ({@link StateEventsEndpoint}). Same tokens
     * as the other endpoints; each read counts against {@code maxInFlight} and the byte budget
     * while it reads and answers ({@link FeedReadLimits}), a parked poll against neither.
     */
    private void stateEvents(Exchange exchange) throws IOException {
        boolean parked = false;
        try {
            if (!tokens.permits(exchange.header("Authorization"))) {
                exchange.setHeader("WWW-Authenticate", "Bearer");
                send(exchange, 401, json.error("unauthorized"));
            } else if (stateEvents == null) {
                send(exchange, 404, json.error("this server's store keeps no state-event feed"));
            } else {
                parked = stateEvents.handle(exchange);
            }
        } catch (RuntimeException e) {
            String id = errors.newId("GET /v1/state-events: internal error");
            LOG.log(Level.ERROR, "request GET /v1/state-events failed, error " + id + ": " + describe(e),
                    withoutMessages(e));
            send(exchange, 500, json.error("internal error " + id + "; the server log has the details"));
        } finally {
            if (!parked) {
                exchange.close();
            }
        }
    }

    /**
     * The status page, like {@code /healthz} before any token, permit or body: it holds no data
     * (it reads {@code /v1/status} with a token), and an operator needs it most when the server is full.
     */
    private void page(Exchange exchange, String method) throws IOException {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            refuse(exchange, BadRequest.methodNotAllowed(method, "GET, HEAD"));
            return;
        }
        exchange.setHeader("Cache-Control", "no-store");
        exchange.setHeader("X-Content-Type-Options", "nosniff");
        exchange.setHeader("Referrer-Policy", "no-referrer");
        // Its own inline script and style only, its JSON from this server, and never in a frame
        // (a framed token form could be clickjacked).
        exchange.setHeader("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; "
                + "style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
        exchange.respond(200, "text/html; charset=utf-8", status.page());
    }

    private void health(Exchange exchange, String method) throws IOException {
        if (!method.equals("GET") && !method.equals("HEAD")) {
            refuse(exchange, BadRequest.methodNotAllowed(method, "GET, HEAD"));
            return;
        }
        send(exchange, stopping ? 503 : 200, json.mapper.createObjectNode().put("status", stopping ? "stopping" : "ok"));
    }

    private static Route routeOf(String path, String method) {
        Route route;
        if (path.equals("/v1/events")) {
            route = Route.EVENTS;
        } else if (path.equals("/v1/task-instances")) {
            route = Route.TASK_INSTANCES;
        } else if (path.startsWith("/v1/task-instances/")) {
            route = Route.TASK_INSTANCE;
        } else if (path.equals("/metrics")) {
            route = Route.METRICS;
        } else if (path.equals("/v1/cluster")) {
            route = Route.CLUSTER;
        } else if (path.equals("/v1/status")) {
            route = Route.STATUS;
        } else {
            throw new BadRequest(404, "no such resource: " + JsonCodec.cut(path));
        }
        if (!method.equals(route.method)) {
            throw BadRequest.methodNotAllowed(method, route.method);
        }
        return route;
    }

    private void refuse(Exchange exchange, BadRequest e) throws IOException {
        if (e.status == 408 || e.status == 413) {
            // The rest of the body is not wanted: close instead of draining it for keep-alive.
            exchange.setHeader("Connection", "close");
        }
        if (e.status == 503) {
            exchange.setHeader("Retry-After", "1");
        }
        if (e.allow != null) {
            exchange.setHeader("Allow", e.allow);
        }
        send(exchange, e.status, json.error(e.getMessage()));
    }

    private void postEvents(Exchange exchange, RequestBody body, long deadline) throws IOException {
        List<TaskEvent> events = parse(deadline, () -> json.events(body.stream()));
        List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>();
        long submitted = System.nanoTime();
        String refused = null;
        for (TaskEvent event : events) {
            try {
                acks.add(engine.submit(event));
            } catch (QueueFullException e) {
                refused = "the engine is at capacity; " + (events.size() - acks.size())
                        + " events were not accepted: resend them (resending accepted ones is harmless)";
                break;
            } catch (RejectedExecutionException e) {
                refused = "the server is shutting down; " + (events.size() - acks.size())
                        + " events were not accepted: resend them to another instance";
                break;
            }
        }
        // Every answer is awaited before any is written: a request none of whose events this node
        // owns (cluster mode) is answered 421 as a whole, which is known only once all are in.
        Object[] results = new Object[acks.size()];
        for (int i = 0; i < acks.size(); i++) {
            try {
                long left = Math.max(0, deadline - System.nanoTime());
                results[i] = acks.get(i).get(left, TimeUnit.NANOSECONDS);
                long latency = System.nanoTime() - submitted;
                ackLatency.record(latency);
                ackSeries.record(System.currentTimeMillis() / 1000, latency);
            } catch (ExecutionException e) {
                results[i] = e;
            } catch (TimeoutException e) {
                results[i] = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for acknowledgements", e);
            }
        }
        if (refused == null && results.length > 0
                && java.util.Arrays.stream(results).allMatch(r -> r instanceof Acknowledgement.Moved)) {
            misdirected(exchange, results);
            return;
        }
        // The answer is written as it is made: one ack is a few dozen bytes, not a tree of nodes.
        ByteArrayOutputStream answer = new ByteArrayOutputStream(64 + 80 * acks.size());
        Map<Throwable, String> errorIds = new IdentityHashMap<>();
        boolean failed = false;
        try (JsonGenerator out = json.mapper.createGenerator(answer)) {
            out.writeStartObject();
            out.writeArrayFieldStart("acks");
            for (int i = 0; i < results.length; i++) {
                if (results[i] instanceof Acknowledgement ack) {
                    json.writeAck(out, ack);
                    continue;
                }
                failed = true;
                out.writeStartObject();
                out.writeStringField("eventId", events.get(i).eventId());
                out.writeStringField("outcome", "NOT_APPLIED");
                if (results[i] instanceof ExecutionException failure) {
                    String id = errorIds.computeIfAbsent(failure.getCause(), cause -> {
                        String newId = errors.newId("POST /v1/events: events not applied");
                        LOG.log(Level.WARNING, "POST /v1/events: events not applied, error " + newId + ": "
                                + describe(cause));
                        return newId;
                    });
                    out.writeStringField("message", "not applied (error " + id
                            + "; the server log has the details): resend it");
                } else {
                    out.writeStringField("message", "not acknowledged within " + settings.ackTimeout().toMillis()
                            + " ms of the request: resend it");
                }
                out.writeEndObject();
            }
            out.writeEndArray();
            if (refused != null || failed) {
                out.writeStringField("error", refused != null ? refused : "some events were not applied: resend them");
            }
            out.writeEndObject();
        }
        if (refused != null || failed) {
            exchange.setHeader("Retry-After", "1");
        }
        exchange.respond(refused != null || failed ? 503 : 200, "application/json", answer.toByteArray());
    }

    /**
     * 421 Misdirected Request: cluster mode, and no event of the request is this node's. The body
     * names each event's shard and owner; {@code Taskevents-Owner} names the owner when all go to
     * one; {@code Retry-After} is set when some shard has no owner right now (it is moving).
     */
    private void misdirected(Exchange exchange, Object[] results) throws IOException {
        ObjectNode body = json.error(
                "this node does not own the shards of these events; resend each to its owner");
        ArrayNode moved = body.putArray("moved");
        java.util.Set<String> owners = new java.util.HashSet<>();
        boolean ownerUnknown = false;
        for (Object result : results) {
            Acknowledgement.Moved m = (Acknowledgement.Moved) result;
            moved.addObject().put("eventId", m.eventId()).put("shard", m.shard()).put("owner", m.ownerAddress());
            if (m.ownerAddress() == null) {
                ownerUnknown = true;
            } else {
                owners.add(m.ownerAddress());
            }
        }
        if (owners.size() == 1 && !ownerUnknown) {
            exchange.setHeader(OWNER_HEADER, owners.iterator().next());
        }
        if (ownerUnknown) {
            exchange.setHeader("Retry-After", "1");
        }
        send(exchange, 421, body);
    }

    private void postTaskInstances(Exchange exchange, RequestBody body) throws IOException {
        List<TaskInstance> rows = parse(System.nanoTime() + settings.ackTimeout().toNanos(),
                () -> json.submittedTasks(body.stream(), Instant.now()));
        try {
            store.insert(rows);
        } catch (DuplicateTaskInstanceException e) {
            throw new BadRequest(409, e.getMessage());
        } catch (RuntimeException e) {
            String id = errors.newId("POST /v1/task-instances: the store failed");
            LOG.log(Level.WARNING, "POST /v1/task-instances: the store failed, error " + id + ": " + describe(e));
            throw new BadRequest(503, "the store is unavailable (error " + id + "); retry");
        }
        send(exchange, 201, json.mapper.createObjectNode().put("created", rows.size()));
    }

    private void getTaskInstance(Exchange exchange, String idText) throws IOException {
        // ASCII digits only: Long.parseLong also takes a sign and any Unicode digit (U+0661, U+FF11).
        if (idText.isEmpty() || idText.length() > 19 || !idText.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new BadRequest("task instance id must be a positive whole number in ASCII digits, was \""
                    + JsonCodec.cut(idText) + "\"");
        }
        long id;
        try {
            id = Long.parseLong(idText);
        } catch (NumberFormatException e) {
            throw new BadRequest("task instance id is out of range, was \"" + idText + "\"");
        }
        if (id <= 0) {
            throw new BadRequest("task instance id must be positive, was " + id);
        }
        TaskInstance task;
        try {
            task = store.find(id).orElseThrow(() -> new BadRequest(404, "no task instance with id " + id));
        } catch (BadRequest e) {
            throw e;
        } catch (RuntimeException e) {
            String errorId = errors.newId("GET /v1/task-instances/{id}: the store failed");
            LOG.log(Level.WARNING, "GET /v1/task-instances/{id}: the store failed, error " + errorId + ": " + describe(e));
            throw new BadRequest(503, "the store is unavailable (error " + errorId + "); retry");
        }
        send(exchange, 200, json.task(task));
    }

    /**
     * Reads the body on the request's thread: 413 over the limit (before reading when
     * Content-Length says so), 503 when the byte budget has no room for it within half of
     * {@code bodyReadTimeout}, 408 when it has not arrived within {@code bodyReadTimeout}.
     */
    private RequestBody readBody(Exchange exchange) {
        String declared = exchange.header("Content-Length");
        long length = -1;
        if (declared != null) {
            try {
                length = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                throw new BadRequest("Content-Length is not a number: " + JsonCodec.cut(declared));
            }
            if (length > settings.maxBodyBytes()) {
                throw new BadRequest(413, "the request body is " + length + " bytes; the limit is "
                        + settings.maxBodyBytes());
            }
        }
        long start = System.nanoTime();
        long timeout = settings.bodyReadTimeout().toNanos();
        RequestBody body = new RequestBody(bufferedBytes, settings.maxBodyBytes());
        readingBodies.incrementAndGet();
        try {
            // A body waits for budget half its time at most: the other half is for reading a
            // refused body into nothing after its 503 (see discard).
            body.readFrom(exchange, length, start + timeout / 2, start + timeout, settings.bodyReadTimeout());
            return body;
        } catch (BadRequest refused) {
            body.release();
            // The rest of the body is not wanted: close instead of draining it for keep-alive.
            exchange.setHeader("Connection", "close");
            if (refused.status == 503 && body.size() == 0 && length > 0) {
                // Refused for want of budget before a byte was read: once answered, read the body
                // into nothing, so that the client, still sending, is not reset and sees the 503.
                throw refused.thenDiscard(length);
            }
            throw refused;
        } catch (IOException e) {
            body.release();
            exchange.setHeader("Connection", "close");
            throw new BadRequest("the request body could not be read: " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            body.release();
            Thread.currentThread().interrupt();
            throw new BadRequest(503, "the server is stopping");
        } finally {
            readingBodies.decrementAndGet();
        }
    }

    /** Reads up to {@code bytes} of the body into nothing, for at most {@code bodyReadTimeout}. */
    private void discard(Exchange exchange, long bytes) {
        long deadline = System.nanoTime() + settings.bodyReadTimeout().toNanos();
        byte[] sink = new byte[8192];
        try {
            for (long left = bytes; left > 0; ) {
                int n = exchange.read(sink, 0, (int) Math.min(sink.length, left), deadline);
                if (n <= 0) {
                    return; // the end, or the deadline: the connection closes with the exchange
                }
                left -= n;
            }
        } catch (IOException closed) {
            // the client went away: nothing to answer
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private <T> T parse(long deadline, java.util.function.Supplier<T> parse) {
        try {
            if (!parsing.tryAcquire(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw new BadRequest(503, "too many request bodies being parsed; retry");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BadRequest(503, "the server is stopping");
        }
        try {
            return parse.get();
        } finally {
            parsing.release();
        }
    }

    /** Request bodies being read now (their requests hold no permit yet). */
    int readingBodies() {
        return readingBodies.get();
    }

    /**
     * The exception classes of {@code e}'s cause chain and any SQL states: what the log may hold.
     * Messages are left out: a driver's or store's message can hold SQL text, bound values (a var
     * pool) or a database URL with its password.
     */
    static String describe(Throwable e) {
        StringBuilder out = new StringBuilder();
        int depth = 0;
        for (Throwable t = e; t != null && depth < 10; t = t.getCause(), depth++) {
            if (depth > 0) {
                out.append(" <- ");
            }
            out.append(t.getClass().getName());
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                out.append(" (SQL state ").append(sql.getSQLState()).append(')');
            }
        }
        return out.toString();
    }

    /** A copy of {@code e}'s stack trace under its class name, with no message from anywhere in the chain. */
    private static Throwable withoutMessages(Throwable e) {
        RuntimeException copy = new RuntimeException(e.getClass().getName(), null, false, true) { };
        copy.setStackTrace(e.getStackTrace());
        return copy;
    }

    /**
     * {@code GET /v1/cluster}: this node, the live nodes and every shard's epoch and owner as this
     * node's last claim round read them from the store ({@code mapAgeMs} ago; the leases left are
     * counted down by that age), with this node's own tenure state per shard it holds, and its
     * counters. It reads nothing from the store: the lease connections are two, kept for the
     * heartbeats and rounds, and an operator's page polled during an incident must not queue
     * behind them or delay them.
     */
    private ObjectNode cluster() {
        ClusterView view = engine.cluster().orElseThrow(() -> new BadRequest(404,
                "this node does not run in cluster mode (serve --cluster)"));
        List<ShardLeases.NodeInfo> nodes = view.liveNodes();
        List<ShardLeases.ShardInfo> shards = view.shardMap();
        Duration age = view.mapAge() == null ? Duration.ZERO : view.mapAge();
        Map<Integer, ClusterView.OwnedShard> mine = new java.util.HashMap<>();
        view.owned().forEach(o -> mine.put(o.shard(), o));
        ObjectNode body = json.mapper.createObjectNode().put("self", view.nodeId()).put("shardCount", view.shardCount());
        if (view.mapAge() == null) {
            body.putNull("mapAgeMs"); // no round has read the cluster yet
        } else {
            body.put("mapAgeMs", view.mapAge().toMillis());
        }
        ArrayNode nodeList = body.putArray("nodes");
        for (ShardLeases.NodeInfo node : nodes) {
            ArrayNode owned = nodeList.addObject().put("id", node.nodeId()).put("address", node.address())
                    .put("leaseLeftMs", Math.max(0, node.leaseLeft().minus(age).toMillis())).putArray("shards");
            shards.stream().filter(sh -> node.nodeId().equals(sh.ownerNode())).forEach(sh -> owned.add(sh.shard()));
        }
        ArrayNode shardList = body.putArray("shards");
        for (ShardLeases.ShardInfo shard : shards) {
            ObjectNode entry = shardList.addObject().put("shard", shard.shard()).put("epoch", shard.epoch())
                    .put("owner", shard.ownerNode()).put("ownerAddress", shard.ownerAddress())
                    .put("ownerAlive", shard.ownerAlive());
            ClusterView.OwnedShard own = mine.get(shard.shard());
            // This node's tenure, if it is the one the store records (else it is stale or not yet taken).
            entry.put("state", own == null || own.epoch() != shard.epoch() ? null : own.state().name());
        }
        ClusterView.Counters c = view.counters();
        body.putObject("counters").put("takeovers", c.takeovers()).put("releases", c.releases())
                .put("shardsLost", c.shardsLost()).put("fencedRows", c.fencedRows())
                .put("movedAnswers", c.movedAnswers()).put("heartbeatFailures", c.heartbeatFailures());
        return body;
    }

    private String metrics() {
        EngineStats s = engine.stats();
        StringBuilder out = new StringBuilder();
        counter(out, "taskevents_events_total", "Events answered, by outcome.", Map.of(
                "applied", s.applied(), "duplicate", s.duplicates(), "stale", s.stale(), "rejected", s.rejected(),
                "moved", s.moved(), "failed", s.failed()));
        gauge(out, "taskevents_queued_events", "Events accepted and not yet answered.", s.queued());
        gauge(out, "taskevents_active_workflows", "Workflow instances with an event queued or in progress.",
                s.activeKeys());
        gauge(out, "taskevents_pending_writes", "Changes waiting for the next batch write.", s.pendingWrites());
        gauge(out, "taskevents_request_bodies_reading", "Request bodies being read (not yet in flight).",
                readingBodies.get());
        gauge(out, "taskevents_requests_in_flight", "Requests being handled, their bodies read.",
                settings.maxInFlight() - inFlight.availablePermits());
        plainCounter(out, "taskevents_commit_batches_total", "Batch writes committed.", s.batches());
        plainCounter(out, "taskevents_rows_written_total", "Rows in committed batches.", s.rowsWritten());
        plainCounter(out, "taskevents_write_retries_total", "Failed batch writes that were retried.", s.writeRetries());
        plainCounter(out, "taskevents_state_sink_failures_total", "State events the sink threw on.", s.sinkFailures());
        ackLatency.writeTo(out, "taskevents_ack_latency_seconds", "From accepting an event to its acknowledgement.");
        out.append("# HELP taskevents_http_responses_total HTTP answers sent, by status code.\n");
        out.append("# TYPE taskevents_http_responses_total counter\n");
        front.responses().forEach((code, count) -> out.append("taskevents_http_responses_total{code=\"").append(code)
                .append("\"} ").append(count).append('\n'));
        gauge(out, "taskevents_http_connections", "HTTP connections open.", front.connections());
        if (stateEvents != null) {
            gauge(out, "taskevents_feed_waiters", "State-event polls parked, waiting for a commit.", stateEvents.parked());
            plainCounter(out, "taskevents_feed_reads_total", "Reads of the state-event feed.", stateEvents.reads());
            plainCounter(out, "taskevents_feed_events_served_total", "State events answered to polls.",
                    stateEvents.served());
        }
        engine.cluster().ifPresent(view -> {
            ClusterView.Counters c = view.counters();
            gauge(out, "taskevents_cluster_owned_shards", "Shards this node serves (ACTIVE).",
                    view.owned().stream().filter(o -> o.state() == ClusterView.ShardState.ACTIVE).count());
            gauge(out, "taskevents_cluster_owner_nodes", "Live nodes holding shards, in this node's last shard map.",
                    ownerNodes(view));
            plainCounter(out, "taskevents_cluster_takeovers_total", "Shards this node acquired.", c.takeovers());
            plainCounter(out, "taskevents_cluster_releases_total", "Shards this node released in order.", c.releases());
            plainCounter(out, "taskevents_cluster_shards_lost_total", "Shards this node lost without a release.",
                    c.shardsLost());
            plainCounter(out, "taskevents_cluster_fenced_writes_total", "Row writes fenced: the shard's epoch had moved on.",
                    c.fencedRows());
            plainCounter(out, "taskevents_cluster_heartbeat_failures_total", "Lease renewals that failed.",
                    c.heartbeatFailures());
        });
        return out.toString();
    }

    /** Distinct live owners in the last shard map: the nodes holding shards. */
    private static long ownerNodes(ClusterView view) {
        return view.shardMap().stream().filter(ShardLeases.ShardInfo::ownerAlive).map(ShardLeases.ShardInfo::ownerNode)
                .distinct().count();
    }

    private static void counter(StringBuilder out, String name, String help, Map<String, Long> byOutcome) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" counter\n");
        byOutcome.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> out.append(name)
                .append("{outcome=\"").append(e.getKey()).append("\"} ").append(e.getValue()).append('\n'));
    }

    private static void plainCounter(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" counter\n").append(name).append(' ').append(value).append('\n');
    }

    private static void gauge(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" gauge\n").append(name).append(' ').append(value).append('\n');
    }

    private void send(Exchange exchange, int status, JsonNode body) throws IOException {
        exchange.respond(status, "application/json", json.mapper.writeValueAsBytes(body));
    }

    private static void sendText(Exchange exchange, int status, String body) throws IOException {
        exchange.respond(status, "text/plain; version=0.0.4; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }
}
