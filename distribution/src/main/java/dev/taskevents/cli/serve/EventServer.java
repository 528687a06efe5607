package dev.taskevents.cli.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.DuplicateTaskInstanceException;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.engine.executor.QueueFullException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The HTTP JSON service on the JDK's built-in server, one virtual thread per exchange:
 * <ul>
 *   <li>{@code POST /v1/task-instances}: one or an array of {@code {id, workflowInstanceId, name}},
 *       created SUBMITTED; 201, or 409 if an id exists (nothing created);
 *   <li>{@code POST /v1/events}: one event or an array; every event is validated before any is
 *       submitted, then the answer waits for the commits: 200 with one ack per event, or 503 with
 *       {@code Retry-After} if the engine was full or the store failed (resending is safe);
 *   <li>{@code GET /v1/task-instances/{id}}, {@code GET /healthz}, {@code GET /metrics} (Prometheus text).
 * </ul>
 * Client errors are 4xx with {@code {"error": "..."}} naming the field; a server fault is a 500
 * whose body says only that, with the details in the server's log, never a stack trace.
 */
public final class EventServer {
    private static final System.Logger LOG = System.getLogger(EventServer.class.getName());

    static {
        // The JDK server reads its limits once, from system properties, when its first instance is
        // made. Defaults here unless the operator set them: a slow or oversized request must not
        // hold a connection forever.
        defaultProperty("sun.net.httpserver.maxReqTime", "10");      // s to send the request head
        defaultProperty("sun.net.httpserver.maxRspTime", "120");     // s from handler start to response end
        defaultProperty("sun.net.httpserver.idleInterval", "30");    // s an idle keep-alive connection stays
        defaultProperty("sun.net.httpserver.maxIdleConnections", "200");
        defaultProperty("sun.net.httpserver.maxConnections", "1000");
        defaultProperty("sun.net.httpserver.maxReqHeaders", "100");
        defaultProperty("sun.net.httpserver.maxReqHeaderSize", "16384"); // bytes of request headers
    }

    private static void defaultProperty(String name, String value) {
        if (System.getProperty(name) == null) {
            System.setProperty(name, value);
        }
    }

    private final TaskEventEngine engine;
    private final TaskInstanceStore store;
    private final ServerSettings settings;
    private final int maxBodyBytes;
    private final Duration ackTimeout;
    private final BearerTokens tokens;
    private final java.util.concurrent.Semaphore inFlight;
    private final JsonCodec json = new JsonCodec();
    private final LatencyHistogram ackLatency = new LatencyHistogram();
    private final ExecutorService handlers = Executors.newVirtualThreadPerTaskExecutor();
    private final HttpServer server;
    private volatile boolean stopping;

    public EventServer(TaskEventEngine engine, TaskInstanceStore store, ServerSettings settings) throws IOException {
        this.engine = engine;
        this.store = store;
        this.settings = settings;
        this.maxBodyBytes = settings.maxBodyBytes();
        this.ackTimeout = settings.ackTimeout();
        this.tokens = new BearerTokens(settings.tokens());
        this.inFlight = new java.util.concurrent.Semaphore(settings.maxInFlight());
        if (settings.tls() != null) {
            HttpsServer https = HttpsServer.create(settings.address(), 0);
            https.setHttpsConfigurator(new HttpsConfigurator(settings.tls()));
            this.server = https;
        } else {
            this.server = HttpServer.create(settings.address(), 0);
        }
        server.setExecutor(handlers);
        server.createContext("/", this::handle);
    }

    /** Whether this server speaks HTTPS. */
    public boolean tls() {
        return settings.tls() != null;
    }

    public void start() {
        server.start();
    }

    /** The address it listens on (with the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /**
     * Stops taking connections, lets requests in progress finish (they wait for their commits) up
     * to {@code drain}, then stops. The engine is the caller's to close afterwards.
     */
    public void stop(Duration drain) {
        stopping = true;
        server.stop((int) Math.max(0, drain.toSeconds()));
        handlers.shutdown();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String method = exchange.getRequestMethod();
            boolean open = path.equals("/healthz") || (path.equals("/metrics") && settings.metricsPublic());
            if (!open && !tokens.permits(exchange.getRequestHeaders().getFirst("Authorization"))) {
                // No hint whether the token was missing, malformed or wrong.
                exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                send(exchange, 401, json.error("unauthorized"));
                return;
            }
            if (!inFlight.tryAcquire()) {
                exchange.getResponseHeaders().set("Retry-After", "1");
                send(exchange, 503, json.error("too many requests in progress; retry"));
                return;
            }
            try {
                route(exchange, path, method);
            } finally {
                inFlight.release();
            }
        }
    }

    private void route(HttpExchange exchange, String path, String method) throws IOException {
        try {
            if (path.equals("/v1/events")) {
                requireMethod(method, "POST");
                postEvents(exchange);
            } else if (path.equals("/v1/task-instances")) {
                requireMethod(method, "POST");
                postTaskInstances(exchange);
            } else if (path.startsWith("/v1/task-instances/")) {
                requireMethod(method, "GET");
                getTaskInstance(exchange, path.substring("/v1/task-instances/".length()));
            } else if (path.equals("/healthz")) {
                requireMethod(method, "GET");
                send(exchange, stopping ? 503 : 200, json.mapper.createObjectNode()
                        .put("status", stopping ? "stopping" : "ok"));
            } else if (path.equals("/metrics")) {
                requireMethod(method, "GET");
                sendText(exchange, 200, metrics());
            } else {
                throw new BadRequest(404, "no such resource: " + cut(path));
            }
        } catch (BadRequest e) {
            if (e.status == 408 || e.status == 413) {
                // The rest of the body is not wanted: close instead of draining it for keep-alive.
                exchange.getResponseHeaders().set("Connection", "close");
            }
            if (e.status == 405) {
                exchange.getResponseHeaders().set("Allow", e.getMessage().substring(e.getMessage().lastIndexOf(' ') + 1));
            }
            send(exchange, e.status, json.error(e.getMessage()));
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "request " + method + " " + cut(path) + " failed", e);
            send(exchange, 500, json.error("internal error; the server log has the details"));
        }
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new BadRequest(405, "method " + method + " is not allowed here; use " + allowed);
        }
    }

    private void postEvents(HttpExchange exchange) throws IOException {
        List<TaskEvent> events = new ArrayList<>();
        for (Map.Entry<String, JsonNode> element : JsonCodec.elements(json.parse(body(exchange)), "event")) {
            events.add(JsonCodec.event(element.getKey(), element.getValue()));
        }
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
        ArrayNode answers = json.array();
        boolean failed = false;
        for (int i = 0; i < acks.size(); i++) {
            try {
                Acknowledgement ack = acks.get(i).get(ackTimeout.toMillis(), TimeUnit.MILLISECONDS);
                ackLatency.record(System.nanoTime() - submitted);
                answers.add(json.ack(ack));
            } catch (ExecutionException | TimeoutException e) {
                failed = true;
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                answers.add(json.mapper.createObjectNode().put("eventId", events.get(i).eventId())
                        .put("outcome", "NOT_APPLIED").put("message", cause instanceof StoreException
                                ? "the store could not write it: " + cause.getMessage()
                                : "not acknowledged within " + ackTimeout.toMillis() + " ms"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for acknowledgements", e);
            }
        }
        ObjectNode response = json.mapper.createObjectNode();
        response.set("acks", answers);
        if (refused != null || failed) {
            response.put("error", refused != null ? refused : "some events were not applied: resend them");
            exchange.getResponseHeaders().set("Retry-After", "1");
            send(exchange, 503, response);
        } else {
            send(exchange, 200, response);
        }
    }

    private void postTaskInstances(HttpExchange exchange) throws IOException {
        Instant now = Instant.now();
        List<TaskInstance> rows = new ArrayList<>();
        for (Map.Entry<String, JsonNode> element : JsonCodec.elements(json.parse(body(exchange)), "task instance")) {
            rows.add(JsonCodec.submittedTask(element.getKey(), element.getValue(), now));
        }
        try {
            store.insert(rows);
        } catch (DuplicateTaskInstanceException e) {
            throw new BadRequest(409, e.getMessage());
        } catch (StoreException e) {
            exchange.getResponseHeaders().set("Retry-After", "1");
            send(exchange, 503, json.error("the store is unavailable: " + e.getMessage()));
            return;
        }
        send(exchange, 201, json.mapper.createObjectNode().put("created", rows.size()));
    }

    private void getTaskInstance(HttpExchange exchange, String idText) throws IOException {
        long id;
        try {
            id = Long.parseLong(idText);
        } catch (NumberFormatException e) {
            throw new BadRequest("task instance id must be a whole number, was \"" + cut(idText) + "\"");
        }
        TaskInstance task = store.find(id)
                .orElseThrow(() -> new BadRequest(404, "no task instance with id " + id));
        send(exchange, 200, json.task(task));
    }

    /** Reads the body, refusing with 413 before reading more than the limit. */
    private byte[] body(HttpExchange exchange) throws IOException {
        String declared = exchange.getRequestHeaders().getFirst("Content-Length");
        if (declared != null) {
            try {
                if (Long.parseLong(declared.trim()) > maxBodyBytes) {
                    throw new BadRequest(413, "the request body is " + declared.trim() + " bytes; the limit is "
                            + maxBodyBytes);
                }
            } catch (NumberFormatException e) {
                throw new BadRequest("Content-Length is not a number: " + cut(declared));
            }
        }
        long deadline = System.nanoTime() + settings.bodyReadTimeout().toNanos();
        // Not closed on the error paths: closing drains the rest of the body, which is exactly
        // what a trickling or oversized request must not be allowed to make us wait for.
        InputStream in = exchange.getRequestBody();
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        byte[] chunk = new byte[16 * 1024];
        int n;
        while ((n = in.read(chunk)) > 0) {
            body.write(chunk, 0, n);
            if (body.size() > maxBodyBytes) {
                throw new BadRequest(413, "the request body is larger than the limit of " + maxBodyBytes + " bytes");
            }
            if (System.nanoTime() > deadline) {
                throw new BadRequest(408, "the request body took longer than "
                        + settings.bodyReadTimeout().toSeconds() + " s to arrive");
            }
        }
        in.close();
        return body.toByteArray();
    }

    private String metrics() {
        EngineStats s = engine.stats();
        StringBuilder out = new StringBuilder();
        counter(out, "taskevents_events_total", "Events answered, by outcome.", Map.of(
                "applied", s.applied(), "duplicate", s.duplicates(), "stale", s.stale(), "rejected", s.rejected(),
                "failed", s.failed()));
        gauge(out, "taskevents_queued_events", "Events accepted and not yet answered.", s.queued());
        gauge(out, "taskevents_active_workflows", "Workflow instances with an event queued or in progress.",
                s.activeKeys());
        gauge(out, "taskevents_pending_writes", "Changes waiting for the next batch write.", s.pendingWrites());
        plainCounter(out, "taskevents_commit_batches_total", "Batch writes committed.", s.batches());
        plainCounter(out, "taskevents_rows_written_total", "Rows in committed batches.", s.rowsWritten());
        plainCounter(out, "taskevents_write_retries_total", "Failed batch writes that were retried.", s.writeRetries());
        plainCounter(out, "taskevents_state_sink_failures_total", "State events the sink threw on.", s.sinkFailures());
        ackLatency.writeTo(out, "taskevents_ack_latency_seconds", "From accepting an event to its acknowledgement.");
        return out.toString();
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

    private void send(HttpExchange exchange, int status, JsonNode body) throws IOException {
        byte[] bytes = json.mapper.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        write(exchange, status, bytes);
    }

    private static void sendText(HttpExchange exchange, int status, String body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        write(exchange, status, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void write(HttpExchange exchange, int status, byte[] bytes) throws IOException {
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static String cut(String text) {
        return text.length() <= 60 ? text : text.substring(0, 60) + "…";
    }
}
