package dev.taskevents.cli.serve;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.DuplicateTaskInstanceException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.engine.executor.QueueFullException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
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
    private final Admission admission;
    private final JsonCodec json;
    private final LatencyHistogram ackLatency = new LatencyHistogram();
    /** Acknowledgements per second with their latency, for the status page. */
    private final StatusSeries ackSeries = new StatusSeries();
    private final RecentErrors errors = new RecentErrors();
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpFront front;
    private final StatusEndpoint status;
    private final MetricsEndpoint metrics;
    /** {@code GET /v1/state-events}; null when the store keeps no feed. */
    private final StateEventsEndpoint stateEvents;
    private volatile boolean stopping;

    public EventServer(TaskEventEngine engine, TaskInstanceStore store, ServerSettings settings) throws IOException {
        this.engine = engine;
        this.store = store;
        this.settings = settings;
        this.tokens = new BearerTokens(settings.tokens());
        this.admission = new Admission(settings);
        this.json = new JsonCodec(settings.maxVarPoolBytes());
        this.stateEvents = store.stateFeed().map(feed -> new StateEventsEndpoint(feed, json, settings.feed(), handlers,
                admission.feedLimits(), errors)).orElse(null);
        this.status = new StatusEndpoint(json, engine, store.stateFeed().orElse(null), this::parkedPolls,
                admission::inFlight, this::refusedSoFar, ackSeries, errors);
        try {
            this.front = new HttpFront(settings, this::handle); // binds the port
        } catch (IOException | RuntimeException e) {
            if (stateEvents != null) {
                stateEvents.stop(); // its listener on the feed and its timer thread
            }
            handlers.shutdown();
            throw e;
        }
        this.metrics = new MetricsEndpoint(engine, admission, front, ackLatency, stateEvents);
    }

    /** Request bodies being read now (for tests). */
    int readingBodies() {
        return admission.readingBodies();
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
        long deadline = System.nanoTime() + Math.max(drain.toNanos(), STOP_ANSWERS_WAIT.toNanos());
        if (stateEvents != null) {
            // Parked polls get 503 now (they would hold the drain for their whole wait), written
            // before the connections close, for at most the drain or STOP_ANSWERS_WAIT.
            try {
                stateEvents.stop().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                // a client that does not read its 503 is cut off with the rest
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        front.stop(Duration.ofNanos(Math.max(0, Math.min(drain.toNanos(), deadline - System.nanoTime()))));
        handlers.shutdown();
    }

    /** The least time a stop gives parked polls' 503 answers to be written, even with no drain. */
    private static final Duration STOP_ANSWERS_WAIT = Duration.ofSeconds(1);

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
                body = admission.readBody(exchange);
            }
            long deadline = System.nanoTime() + settings.ackTimeout().toNanos();
            admission.enter();
            try {
                switch (route) {
                    case EVENTS -> postEvents(exchange, body, deadline);
                    case TASK_INSTANCES -> postTaskInstances(exchange, body);
                    case TASK_INSTANCE -> getTaskInstance(exchange, path.substring("/v1/task-instances/".length()));
                    case METRICS -> sendText(exchange, 200, metrics.text());
                    case CLUSTER -> send(exchange, 200, ClusterEndpoint.json(json, engine));
                    case STATUS -> send(exchange, 200, status.status());
                }
            } finally {
                admission.leave();
            }
        } catch (BadRequest e) {
            refuse(exchange, e);
            if (e.discardAfterAnswer > 0) {
                admission.discard(exchange, e.discardAfterAnswer);
            }
        } catch (RuntimeException e) {
            String id = errors.newId(method + " " + JsonCodec.cut(path) + ": internal error");
            LOG.log(Level.ERROR, "request " + method + " " + JsonCodec.cut(path) + " failed, error " + id + ": "
                    + FailureText.describe(e), FailureText.withoutMessages(e));
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
            LOG.log(Level.ERROR, "request GET /v1/state-events failed, error " + id + ": " + FailureText.describe(e),
                    FailureText.withoutMessages(e));
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
        List<TaskEvent> events = admission.parse(deadline, () -> json.events(body.stream()));
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
                && Arrays.stream(results).allMatch(r -> r instanceof Acknowledgement.Moved)) {
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
                                + FailureText.describe(cause));
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
        Set<String> owners = new HashSet<>();
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
        List<TaskInstance> rows = admission.parse(System.nanoTime() + settings.ackTimeout().toNanos(),
                () -> json.submittedTasks(body.stream(), Instant.now()));
        try {
            store.insert(rows);
        } catch (DuplicateTaskInstanceException e) {
            throw new BadRequest(409, e.getMessage());
        } catch (RuntimeException e) {
            String id = errors.newId("POST /v1/task-instances: the store failed");
            LOG.log(Level.WARNING, "POST /v1/task-instances: the store failed, error " + id + ": " + FailureText.describe(e));
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
            LOG.log(Level.WARNING, "GET /v1/task-instances/{id}: the store failed, error " + errorId + ": " + FailureText.describe(e));
            throw new BadRequest(503, "the store is unavailable (error " + errorId + "); retry");
        }
        send(exchange, 200, json.task(task));
    }

    private void send(Exchange exchange, int status, JsonNode body) throws IOException {
        exchange.respond(status, "application/json", json.mapper.writeValueAsBytes(body));
    }

    private static void sendText(Exchange exchange, int status, String body) throws IOException {
        exchange.respond(status, "text/plain; version=0.0.4; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }
}
