package dev.taskevents.client;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.taskevents.client.internal.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLContext;

/**
 * A stand-in for {@code taskevents serve} on loopback that speaks its protocol (as EventServer and
 * JsonCodec write it) and can be scripted per request.
 *
 * <p>{@code POST /v1/events}: by default it applies each event as serve does for a worker's
 * resends: an event id seen before is answered DUPLICATE (with the state it applied), a new one
 * APPLIED with the task's next version. A scripted answer takes the request instead, once, in the
 * order scripts were added; {@link #applyThenDrop()} applies and then cuts the connection without
 * answering, as a crash after the commit would.
 *
 * <p>{@code GET /v1/state-events}: a feed over {@link #publish}ed events with cursors
 * {@code "c<position>"}; a poll with nothing after its cursor is parked until an event is published
 * or its {@code wait} passes; a cursor below {@link #prunedThrough} is answered 410.
 */
final class StubServe implements AutoCloseable {
    /** One request as the stub saw it. */
    record Request(String method, String path, String query, String authorization, List<String> eventIds,
                   long arrivedNanos) {
    }

    /** A scripted answer to one POST /v1/events. */
    @FunctionalInterface
    interface Script {
        void answer(StubServe stub, HttpExchange exchange, List<Map<?, ?>> events) throws IOException;
    }

    private final HttpServer server;
    final URI uri;
    private final String token;
    final List<Request> requests = java.util.Collections.synchronizedList(new ArrayList<>());
    private final ConcurrentLinkedDeque<Script> scripts = new ConcurrentLinkedDeque<>();
    private final ConcurrentLinkedDeque<Script> feedScripts = new ConcurrentLinkedDeque<>();

    private final Map<String, String> appliedStates = new HashMap<>(); // guarded by this
    private final Map<String, Integer> applyCounts = new HashMap<>(); // guarded by this
    private final Map<Long, Long> versions = new HashMap<>(); // guarded by this

    /** POST /v1/task-instances: created tasks by id (id, workflowInstanceId, name as JSON), all or none. */
    private final Map<Long, Map<?, ?>> tasks = new HashMap<>(); // guarded by this
    private final ConcurrentLinkedDeque<Script> taskScripts = new ConcurrentLinkedDeque<>();

    private final ReentrantLock feedLock = new ReentrantLock();
    private final Condition published = feedLock.newCondition();
    private final List<String> feed = new ArrayList<>(); // guarded by feedLock: position i+1 -> event JSON
    private volatile long prunedThrough;
    private volatile boolean stopped;
    private volatile CountDownLatch parked = new CountDownLatch(1);

    private StubServe(HttpServer server, String token) {
        this.server = server;
        this.token = token;
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
        String scheme = server instanceof HttpsServer ? "https" : "http";
        this.uri = URI.create(scheme + "://127.0.0.1:" + server.getAddress().getPort());
    }

    static StubServe start() throws IOException {
        return start(0, null);
    }

    /** On {@code port} (0: any free one); {@code token} null accepts every request. */
    static StubServe start(int port, String token) throws IOException {
        return new StubServe(HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0), token);
    }

    static StubServe startTls(SSLContext context) throws IOException {
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(context));
        return new StubServe(server, null);
    }

    /** The next POST /v1/events is answered by {@code script} instead of the default. */
    StubServe then(Script script) {
        scripts.addLast(script);
        return this;
    }

    /** The next GET /v1/state-events is answered by {@code script} instead of the feed. */
    StubServe thenFeed(Script script) {
        feedScripts.addLast(script);
        return this;
    }

    /** The next POST /v1/task-instances is answered by {@code script} instead of the default. */
    StubServe thenTasks(Script script) {
        taskScripts.addLast(script);
        return this;
    }

    // --- scripts ---

    /** Creates the tasks as the default does, then closes the connection without an answer. */
    static Script createThenDrop() {
        return (stub, exchange, tasks) -> {
            stub.createTasks(tasks);
            throw new IllegalStateException("the stub drops the connection after creating");
        };
    }

    /** Closes the connection without creating anything or answering. */
    static Script drop() {
        return (stub, exchange, tasks) -> {
            throw new IllegalStateException("the stub drops the connection");
        };
    }

    static Script status(int status, String retryAfter, String body) {
        return (stub, exchange, events) -> {
            if (retryAfter != null) {
                exchange.getResponseHeaders().set("Retry-After", retryAfter);
            }
            write(exchange, status, body);
        };
    }

    /** Applies every event as the default does, then closes the connection without an answer. */
    static Script applyThenDrop() {
        return (stub, exchange, events) -> {
            events.forEach(stub::apply);
            throw new IllegalStateException("the stub drops the connection after applying");
        };
    }

    /** 421 with the owner header (if not null) and a moved entry per event. */
    static Script misdirected(String owner, int shard) {
        return (stub, exchange, events) -> {
            if (owner != null) {
                exchange.getResponseHeaders().set("Taskevents-Owner", owner);
            }
            StringBuilder moved = new StringBuilder();
            for (Map<?, ?> e : events) {
                moved.append(moved.isEmpty() ? "" : ",").append("{\"eventId\":").append(Json.quote((String) e.get("eventId")))
                        .append(",\"shard\":").append(shard).append(",\"owner\":")
                        .append(owner == null ? "null" : Json.quote(owner)).append('}');
            }
            write(exchange, 421, "{\"error\":\"this node does not own shard " + shard + "\",\"moved\":[" + moved + "]}");
        };
    }

    /** 200 with a MOVED answer per event. */
    static Script movedInside200(String owner, int shard) {
        return (stub, exchange, events) -> {
            StringBuilder acks = new StringBuilder();
            for (Map<?, ?> e : events) {
                acks.append(acks.isEmpty() ? "" : ",").append("{\"eventId\":").append(Json.quote((String) e.get("eventId")))
                        .append(",\"outcome\":\"MOVED\",\"shard\":").append(shard).append(",\"owner\":")
                        .append(owner == null ? "null" : Json.quote(owner)).append('}');
            }
            write(exchange, 200, "{\"acks\":[" + acks + "]}");
        };
    }

    /** Signals {@code entered}, waits for {@code release}, then answers by default. */
    static Script held(CountDownLatch entered, CountDownLatch release) {
        return (stub, exchange, events) -> {
            entered.countDown();
            try {
                if (!release.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never released the held request");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            stub.answerByDefault(exchange, events);
        };
    }

    // --- state ---

    /** Creates all of {@code rows} and returns null, or none and returns an id that exists already. */
    synchronized Long createTasks(List<Map<?, ?>> rows) {
        for (Map<?, ?> row : rows) {
            if (tasks.containsKey((Long) row.get("id"))) {
                return (Long) row.get("id");
            }
        }
        rows.forEach(row -> tasks.put((Long) row.get("id"), row));
        return null;
    }

    /** The task created with {@code id} (its id, workflowInstanceId and name as sent), or null. */
    synchronized Map<?, ?> task(long id) {
        return tasks.get(id);
    }

    /** The requests to {@code path} (exactly), in arrival order. */
    List<Request> requestsTo(String method, String path) {
        synchronized (requests) {
            return requests.stream().filter(r -> r.method().equals(method) && r.path().equals(path)).toList();
        }
    }

    /** How many times the stub applied {@code eventId} (a duplicate does not count). */
    synchronized int applyCount(String eventId) {
        return applyCounts.getOrDefault(eventId, 0);
    }

    /** The event ids of each POST /v1/events, in arrival order. */
    List<List<String>> postedBatches() {
        synchronized (requests) {
            return requests.stream().filter(r -> r.path().equals("/v1/events")).map(Request::eventIds).toList();
        }
    }

    List<Request> feedRequests() {
        synchronized (requests) {
            return requests.stream().filter(r -> r.path().equals("/v1/state-events")).toList();
        }
    }

    /** Appends an event to the feed (waking parked polls); its cursor is "c" + its position. */
    void publish(long workflow, long task, String eventId, long version) {
        feedLock.lock();
        try {
            long position = feed.size() + 1L;
            feed.add("{\"cursor\":\"c" + position + "\",\"workflowInstanceId\":" + workflow + ",\"taskInstanceId\":" + task
                    + ",\"eventType\":\"RESULT\",\"state\":\"SUCCESS\",\"eventId\":" + Json.quote(eventId)
                    + ",\"version\":" + version + ",\"committedAt\":\"2026-11-27T09:00:00.123456Z\"}");
            published.signalAll();
        } finally {
            feedLock.unlock();
        }
    }

    void prunedThrough(long position) {
        this.prunedThrough = position;
    }

    /** A latch counted down when a poll is parked (replaced by a fresh one by each call). */
    CountDownLatch nextParked() {
        CountDownLatch latch = new CountDownLatch(1);
        parked = latch;
        return latch;
    }

    // --- handling ---

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            List<Map<?, ?>> events = new ArrayList<>();
            if (path.equals("/v1/events") || path.equals("/v1/task-instances")) {
                for (Object e : (List<?>) Json.parse(body)) {
                    events.add((Map<?, ?>) e);
                }
            }
            requests.add(new Request(exchange.getRequestMethod(), path, exchange.getRequestURI().getRawQuery(),
                    exchange.getRequestHeaders().getFirst("Authorization"),
                    events.stream().map(e -> String.valueOf(e.containsKey("eventId") ? e.get("eventId") : e.get("id")))
                            .toList(), System.nanoTime()));
            if (token != null && !("Bearer " + token).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
                write(exchange, 401, "{\"error\":\"unauthorized\"}");
                return;
            }
            if (path.equals("/v1/events")) {
                Script script = scripts.pollFirst();
                if (script != null) {
                    script.answer(this, exchange, events);
                } else {
                    answerByDefault(exchange, events);
                }
            } else if (path.equals("/v1/task-instances")) {
                Script script = taskScripts.pollFirst();
                if (script != null) {
                    script.answer(this, exchange, events);
                } else {
                    Long existing = createTasks(events);
                    write(exchange, existing == null ? 201 : 409, existing == null
                            ? "{\"created\":" + events.size() + "}"
                            : "{\"error\":\"task instance ids exist already (or repeat in the request), nothing was"
                            + " inserted: [" + existing + "]\"}");
                }
            } else if (path.startsWith("/v1/task-instances/")) {
                Map<?, ?> task = task(Long.parseLong(path.substring("/v1/task-instances/".length())));
                if (task == null) {
                    write(exchange, 404, "{\"error\":\"no task instance with id " + path.substring(19) + "\"}");
                } else {
                    write(exchange, 200, "{\"id\":" + task.get("id") + ",\"workflowInstanceId\":"
                            + task.get("workflowInstanceId") + ",\"name\":" + Json.quote((String) task.get("name"))
                            + ",\"state\":\"SUBMITTED\",\"version\":0}");
                }
            } else if (path.equals("/v1/state-events")) {
                Script script = feedScripts.pollFirst();
                if (script != null) {
                    script.answer(this, exchange, List.of());
                } else {
                    feedPage(exchange);
                }
            } else {
                write(exchange, 404, "{\"error\":\"no such resource: " + path + "\"}");
            }
        }
    }

    void answerByDefault(HttpExchange exchange, List<Map<?, ?>> events) throws IOException {
        StringBuilder acks = new StringBuilder();
        for (Map<?, ?> e : events) {
            acks.append(acks.isEmpty() ? "" : ",").append(apply(e));
        }
        write(exchange, 200, "{\"acks\":[" + acks + "]}");
    }

    /** Applies one event (serve's rule for a resend: the same id is a duplicate) and gives its ack. */
    private synchronized String apply(Map<?, ?> e) {
        String id = (String) e.get("eventId");
        String state = (String) e.get("state");
        if (appliedStates.containsKey(id)) {
            return "{\"eventId\":" + Json.quote(id) + ",\"outcome\":\"DUPLICATE\",\"state\":\"" + appliedStates.get(id) + "\"}";
        }
        appliedStates.put(id, state);
        applyCounts.merge(id, 1, Integer::sum);
        long version = versions.merge((Long) e.get("taskInstanceId"), 1L, Long::sum);
        return "{\"eventId\":" + Json.quote(id) + ",\"outcome\":\"APPLIED\",\"state\":\"" + state + "\",\"version\":"
                + version + "}";
    }

    private void feedPage(HttpExchange exchange) throws IOException {
        Map<String, String> query = new HashMap<>();
        String raw = exchange.getRequestURI().getQuery();
        if (raw != null) {
            for (String pair : raw.split("&")) {
                int eq = pair.indexOf('=');
                query.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        String after = query.get("after");
        long position = after == null ? 0 : after.equals("latest") ? -1 : Long.parseLong(after.substring(1));
        if (position >= 0 && position < prunedThrough) {
            write(exchange, 410, "{\"error\":\"the cursor is older than the feed's retention (24h)\",\"code\":"
                    + "\"CURSOR_EXPIRED\",\"oldest\":\"c" + prunedThrough + "\"}");
            return;
        }
        int limit = Integer.parseInt(query.getOrDefault("limit", "1000"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(query.getOrDefault("wait", "0")));
        StringBuilder events = new StringBuilder();
        long next;
        feedLock.lock();
        try {
            if (position < 0) {
                position = feed.size();
            }
            boolean signalled = false;
            while (feed.size() <= position && !stopped) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                if (!signalled) {
                    parked.countDown();
                    signalled = true;
                }
                published.awaitNanos(left);
            }
            int from = (int) position;
            int to = Math.min(feed.size(), from + limit);
            for (int i = from; i < to; i++) {
                events.append(events.isEmpty() ? "" : ",").append(feed.get(i));
            }
            next = Math.max(to, from);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } finally {
            feedLock.unlock();
        }
        write(exchange, 200, "{\"events\":[" + events + "],\"next\":\"c" + next + "\",\"behind\":0}");
    }

    static void write(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        stopped = true;
        feedLock.lock();
        try {
            published.signalAll();
        } finally {
            feedLock.unlock();
        }
        server.stop(0);
        feedLock.lock();
        try {
            published.signalAll();
        } finally {
            feedLock.unlock();
        }
    }
}
