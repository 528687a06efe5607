package dev.taskevents.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.client.Ack;
import dev.taskevents.client.FeedCursor;
import dev.taskevents.client.FeedItem;
import dev.taskevents.client.FeedReader;
import dev.taskevents.client.TaskEventsClient;
import dev.taskevents.testkit.LoopbackPorts;
import dev.taskevents.testkit.TempDirs;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The client ({@link TaskEventsClient}) against the runtime image's {@code serve} on PostgreSQL,
 * which is SIGKILLed at points set by progress (acknowledgements counted, feed events read, a poll
 * seen parked in serve's metrics) and restarted on the same port and database. The oracle is the
 * database: the task rows, and the state-event feed read through the store itself, not through
 * serve or the client. Sizes: {@code -Dtaskevents.reliability.client.workflows} (CI: 40, of 5 tasks,
 * 2 events each) and {@code -Dtaskevents.reliability.client.kills} (CI: 3).
 */
class ClientReliabilityIT {
    private static final Path IMAGE = Path.of(System.getProperty("taskevents.image", "target/taskevents"));
    private static final String TOKEN = "client-reliability-token-0123456789";
    private static final int TASKS = 5;
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");
    private static final long BOUND_SECONDS = 300;
    private static final Pattern WAITERS = Pattern.compile("(?m)^taskevents_feed_waiters (\\d+)$");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final List<TaskEventsClient> clients = new ArrayList<>();
    private Serve serve;
    private String base;
    private String schema;

    /** The image's serve on a port of {@link LoopbackPorts} and a database: started, SIGKILLed, started again. */
    private static final class Serve {
        final String url;
        final int port;
        final Path dir;
        final ConcurrentLinkedQueue<String> output = new ConcurrentLinkedQueue<>();
        Process process;
        int kills;

        Serve(String url, int port, Path dir) {
            this.url = url;
            this.port = port;
            this.dir = dir;
        }

        void start() throws Exception {
            ProcessBuilder builder = new ProcessBuilder(IMAGE.resolve("bin/taskevents").toAbsolutePath().toString(),
                    "serve", "--store", url, "--port", String.valueOf(port), "--drain-seconds", "5")
                    .directory(dir.toFile()).redirectErrorStream(true);
            builder.environment().put("PATH", "/nonexistent");
            builder.environment().put("TASKEVENTS_TOKENS", TOKEN);
            Process p = builder.start();
            CountDownLatch listening = new CountDownLatch(1);
            Thread.ofPlatform().daemon().start(() -> {
                try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = out.readLine()) != null) {
                        output.add(line);
                        if (output.size() > 200) {
                            output.poll();
                        }
                        if (line.contains("listening on")) {
                            listening.countDown();
                        }
                    }
                } catch (IOException ignored) {
                    // the process died
                }
            });
            process = p;
            p.onExit().thenRun(listening::countDown); // a serve that dies at start ends the wait at once
            assertTrue(listening.await(60, TimeUnit.SECONDS) && p.isAlive(), "serve did not start: " + output);
        }

        /** SIGKILL, waited for (bounded), then a new serve on the same port and database. */
        void killAndRestart() throws Exception {
            process.toHandle().destroyForcibly();
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "serve did not die of SIGKILL within 30 s");
            assertEquals(137, process.exitValue(), "killed by SIGKILL");
            kills++;
            start();
        }

        void stop() throws InterruptedException {
            if (process != null) {
                process.toHandle().destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private static String postgres() {
        String base = System.getenv("TASKEVENTS_TEST_POSTGRES_URL");
        if (base == null) {
            if ("true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_DATABASES"))) {
                throw new IllegalStateException("TASKEVENTS_TEST_POSTGRES_URL is required");
            }
            Assumptions.abort("set TASKEVENTS_TEST_POSTGRES_URL to run the client reliability tests on PostgreSQL");
        }
        return base;
    }

    private void startServe(String name) throws Exception {
        base = postgres();
        schema = "te_" + name + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        String url = base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
        serve = new Serve(url, LoopbackPorts.next(), TempDirs.create("taskevents-client-"));
        serve.start();
    }

    @AfterEach
    void cleanUp() throws Exception {
        clients.forEach(c -> c.close(Duration.ZERO));
        if (serve != null) {
            serve.stop();
        }
        if (schema != null) {
            try (Connection c = DriverManager.getConnection(base); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE"); // our own generated name
            }
        }
    }

    private URI uri() {
        return URI.create("http://127.0.0.1:" + serve.port);
    }

    /** A client as a worker or scheduler would build it, with a short backoff: serve restarts in about a second. */
    private TaskEventsClient client() {
        TaskEventsClient client = TaskEventsClient.builder(uri()).token(TOKEN).batch(50, Duration.ofMillis(2))
                .backoff(Duration.ofMillis(20), Duration.ofMillis(500)).build();
        clients.add(client);
        return client;
    }

    private static long task(int workflow, int t) {
        return workflow * 100L + t;
    }

    /** Registers the tasks of workflows 1..workflows (before any kill: registration is not under test). */
    private void register(int workflows) throws Exception {
        StringBuilder rows = new StringBuilder("[");
        for (int wf = 1; wf <= workflows; wf++) {
            for (int t = 0; t < TASKS; t++) {
                rows.append(rows.length() == 1 ? "" : ",").append("{\"id\":").append(task(wf, t))
                        .append(",\"workflowInstanceId\":").append(wf).append(",\"name\":\"t\"}");
            }
        }
        HttpResponse<String> created = http.send(HttpRequest.newBuilder(uri().resolve("/v1/task-instances"))
                .header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(rows.append("]").toString())).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(201, created.statusCode(), created.body());
    }

    /** A workflow's events in the order a worker sends them: each task RUNNING (version 1), then RESULT (version 2). */
    private static List<TaskEvent> events(int workflow) {
        List<TaskEvent> events = new ArrayList<>();
        for (int t = 0; t < TASKS; t++) {
            long id = task(workflow, t);
            events.add(TaskEvent.builder("r" + id, TaskEventType.RUNNING, workflow, id).eventTime(T).startTime(T)
                    .host("w" + id).build());
            events.add(TaskEvent.builder("x" + id, TaskEventType.RESULT, workflow, id).state(TaskState.SUCCESS)
                    .eventTime(T).startTime(T).endTime(T.plusSeconds(1)).build());
        }
        return events;
    }

    private record Row(long version, String state, String finishEventId, String host) {
    }

    private Map<Long, Row> rows() throws Exception {
        Map<Long, Row> rows = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(serve.url); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT id, version, state, finish_event_id, host FROM task_instance")) {
            while (r.next()) {
                rows.put(r.getLong(1), new Row(r.getLong(2), r.getString(3), r.getString(4), r.getString(5)));
            }
        }
        return rows;
    }

    /** The whole feed as the database holds it, read through the store (not serve, not the client), per task. */
    private Map<Long, List<StateEvent>> databaseFeed() {
        Map<Long, List<StateEvent>> byTask = new TreeMap<>();
        try (TaskInstanceStore store = Stores.open(serve.url)) {
            StateEventFeed feed = store.stateFeed().orElseThrow();
            long after = feed.prunedThrough();
            assertEquals(0, after, "nothing pruned (24h retention)");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                FeedPage page = feed.read(after, 1_000);
                for (FeedEvent e : page.events()) {
                    byTask.computeIfAbsent(e.event().taskInstanceId(), k -> new ArrayList<>()).add(e.event());
                }
                after = page.next(after);
                if (after >= page.head() && !page.stoppedAtHole()) {
                    return byTask;
                }
                assertTrue(System.nanoTime() < deadline, "the feed was not read to its head within 60 s");
            }
        }
    }

    private static String key(long task, long version) {
        return task + "@" + version;
    }

    /** A condition to poll; may throw. */
    private interface Condition {
        boolean holds() throws Exception;
    }

    /** Waits, bounded, for progress made by other threads (acks counted, events read, a poll parked). */
    private static void awaitCondition(String what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_SECONDS);
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("waited " + BOUND_SECONDS + " s for " + what);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
    }

    /**
     * Workers send every event with {@link TaskEventsClient#send} only (no resend of their own) while
     * serve is SIGKILLed at set counts of acknowledgements and restarted. Every event gets exactly
     * one final answer, APPLIED or DUPLICATE (a resend of an event whose first try committed); every
     * APPLIED answer's version is in the database for that event, by id; and every task's changes
     * are in the database once each: the feed holds exactly RUNNING at version 1 and RESULT at
     * version 2, and the row is at version 2 with that RESULT's id (an event applied twice would make
     * a version 3; one lost would leave a version missing).
     */
    @Test
    void eventsAreResentAcrossKill9NoAckLostNothingAppliedTwice() throws Exception {
        int workflows = Integer.getInteger("taskevents.reliability.client.workflows", 40);
        int kills = Integer.getInteger("taskevents.reliability.client.kills", 3);
        int total = workflows * TASKS * 2;
        startServe("csend");
        register(workflows);
        TaskEventsClient client = client();

        Map<String, Ack> acks = new ConcurrentHashMap<>();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicInteger generation = new AtomicInteger();
        AtomicInteger answeredAfterAKill = new AtomicInteger();
        List<CountDownLatch> killAt = new ArrayList<>();
        for (int i = 0; i < kills; i++) {
            killAt.add(new CountDownLatch(total * (i + 1) / (kills + 1)));
        }
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < 4; w++) {
            int first = w + 1;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int wf = first; wf <= workflows; wf += 4) {
                        List<CompletableFuture<Ack>> sent = new ArrayList<>();
                        for (TaskEvent event : events(wf)) {
                            int submittedIn = generation.get();
                            sent.add(client.send(event).whenComplete((ack, failure) -> {
                                if (failure != null) {
                                    errors.add(failure);
                                    return;
                                }
                                if (acks.putIfAbsent(event.eventId(), ack) != null) {
                                    errors.add(new AssertionError("two answers for " + event.eventId()));
                                }
                                if (generation.get() > submittedIn) {
                                    answeredAfterAKill.incrementAndGet();
                                }
                                killAt.forEach(CountDownLatch::countDown);
                            }));
                        }
                        CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new))
                                .get(BOUND_SECONDS, TimeUnit.SECONDS);
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        List<Integer> unansweredAtKill = new ArrayList<>();
        for (CountDownLatch at : killAt) {
            assertTrue(at.await(BOUND_SECONDS, TimeUnit.SECONDS), "acknowledgements stopped coming: " + errors
                    + " serve: " + serve.output);
            unansweredAtKill.add(client.unanswered());
            generation.incrementAndGet();
            serve.killAndRestart();
        }
        for (Thread worker : workers) {
            worker.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
            assertTrue(!worker.isAlive(), "a worker is still waiting for acknowledgements");
        }
        assertEquals(List.of(), List.copyOf(errors));
        assertEquals(total, acks.size(), "every event acknowledged once");

        // The oracle: the database.
        Map<Long, Row> rows = rows();
        Map<Long, List<StateEvent>> feed = databaseFeed();
        List<String> wrong = new ArrayList<>();
        Map<String, Integer> appliedOrDuplicate = new HashMap<>(); // per (task, version): APPLIED answers + DUPLICATEs
        int applied = 0;
        int duplicates = 0;
        for (int wf = 1; wf <= workflows; wf++) {
            for (TaskEvent event : events(wf)) {
                long version = event.type() == TaskEventType.RUNNING ? 1 : 2;
                Ack ack = acks.get(event.eventId());
                String k = key(event.taskInstanceId(), version);
                switch (ack) {
                    case Ack.Applied a -> {
                        applied++;
                        TaskState state = version == 1 ? TaskState.RUNNING : TaskState.SUCCESS;
                        if (!a.equals(new Ack.Applied(event.eventId(), state, version))) {
                            wrong.add("answer " + a + " for " + event.eventId());
                        }
                        appliedOrDuplicate.merge(key(event.taskInstanceId(), a.version()), 1, Integer::sum);
                    }
                    case Ack.Duplicate d -> {
                        duplicates++;
                        appliedOrDuplicate.merge(k, 1, Integer::sum);
                    }
                    default -> wrong.add("answer " + ack + " for " + event.eventId() + " (neither APPLIED nor DUPLICATE)");
                }
            }
            for (int t = 0; t < TASKS; t++) {
                long id = task(wf, t);
                List<String> recorded = feed.getOrDefault(id, List.of()).stream()
                        .map(e -> e.version() + ":" + e.eventId() + ":" + e.state()).toList();
                if (!recorded.equals(List.of("1:r" + id + ":RUNNING", "2:x" + id + ":SUCCESS"))) {
                    wrong.add("task " + id + " has the changes " + recorded + " in the database's feed");
                }
                Row row = rows.get(id);
                if (!new Row(2, "SUCCESS", "x" + id, "w" + id).equals(row)) {
                    wrong.add("task " + id + " row " + row);
                }
                for (long v = 1; v <= 2; v++) {
                    if (appliedOrDuplicate.getOrDefault(key(id, v), 0) != 1) {
                        wrong.add("task " + id + " version " + v + ": " + appliedOrDuplicate.get(key(id, v))
                                + " APPLIED/DUPLICATE answers");
                    }
                }
            }
        }
        assertEquals(workflows * TASKS, rows.size(), "the registered tasks, no more");
        System.out.printf("RELIABILITY client-send: workflows=%d events=%d kills=%d unanswered-at-kills=%s applied=%d"
                + " duplicates=%d answered-by-a-later-serve=%d wrong=%d%n", workflows, total, serve.kills,
                unansweredAtKill, applied, duplicates, answeredAfterAKill.get(), wrong.size());
        assertEquals(List.of(), wrong.subList(0, Math.min(20, wrong.size())), "lost or applied twice");
        assertEquals(kills, serve.kills);
        assertTrue(answeredAfterAKill.get() > 0, "no event was in flight across a kill: the test proved nothing");
    }

    /**
     * A scheduler reads the feed with the client's reader from the cursor it stores after each event,
     * while workers send and serve is SIGKILLed: at set counts of events read, and once while the
     * reader's poll is parked in serve (seen in serve's metrics) before the second half is sent. At
     * some kills the consumer also "crashes" before storing the cursor of the event it just got, and
     * opens a new reader from its stored cursor: that event must come first again. At the end every
     * change the database committed, (task, version) as the store's own feed holds them, was seen,
     * with the same event id; each task's versions 1..its row's version with no gap; and for each
     * workflow the first sightings in commit order (the order its events were sent, one after the
     * other). The feed records RUNNING and RESULT (DISPATCH never is), so the workers send those.
     */
    @Test
    void theFeedIsReadAcrossKill9WithNoGapAndNoLossCountedByVersion() throws Exception {
        int workflows = Integer.getInteger("taskevents.reliability.client.workflows", 40) / 2 * 2;
        int kills = Math.max(2, Integer.getInteger("taskevents.reliability.client.kills", 3));
        int total = workflows * TASKS * 2;
        int half = total / 2;
        startServe("cfeed");
        register(workflows);
        TaskEventsClient sender = client();
        TaskEventsClient reader = client();

        // The consumer.
        AtomicReference<String> stored = new AtomicReference<>(""); // "" = not started: from the oldest
        List<StateEvent> sightings = Collections.synchronizedList(new ArrayList<>());
        Set<String> seen = ConcurrentHashMap.newKeySet();
        AtomicInteger distinct = new AtomicInteger();
        AtomicBoolean crashNext = new AtomicBoolean();
        AtomicInteger crashes = new AtomicInteger();
        List<String> redeliveryWrong = Collections.synchronizedList(new ArrayList<>());
        AtomicReference<FeedReader> open = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        Thread consumer = Thread.ofPlatform().start(() -> {
            FeedItem crashedOn = null;
            try {
                while (!stop.get() && distinct.get() < total) {
                    FeedCursor from = stored.get().isEmpty() ? FeedCursor.OLDEST : FeedCursor.parse(stored.get());
                    try (FeedReader feed = reader.feed(from, 7, Duration.ofSeconds(30))) {
                        open.set(feed);
                        while (!stop.get() && distinct.get() < total && feed.hasNext()) {
                            FeedItem item = feed.next();
                            if (crashedOn != null) {
                                if (!crashedOn.equals(item)) {
                                    redeliveryWrong.add("after a crash on " + crashedOn + " the feed resumed with " + item);
                                }
                                crashedOn = null;
                            }
                            sightings.add(item.event());
                            if (seen.add(key(item.event().taskInstanceId(), item.event().version()))) {
                                distinct.incrementAndGet();
                            }
                            if (crashNext.getAndSet(false)) {
                                crashedOn = item; // handled, but its cursor is not stored: it comes again
                                crashes.incrementAndGet();
                                break;
                            }
                            stored.set(item.cursor().toString());
                        }
                    }
                }
            } catch (Throwable e) {
                errors.add(e);
            }
        });

        // The workers: two threads, each sending a workflow's events and waiting for their answers.
        Map<Integer, List<String>> sentOrder = new ConcurrentHashMap<>();
        List<Thread> senders = new ArrayList<>();
        AtomicInteger applied = new AtomicInteger();
        AtomicInteger duplicates = new AtomicInteger();
        java.util.function.IntFunction<List<Thread>> sendPhase = from -> {
            List<Thread> threads = new ArrayList<>();
            for (int s = 0; s < 2; s++) {
                int first = from + s;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int wf = first; wf < from + workflows / 2; wf += 2) {
                            List<TaskEvent> events = events(wf);
                            sentOrder.put(wf, events.stream().map(TaskEvent::eventId).toList());
                            for (Ack ack : sender.sendAll(events).get(BOUND_SECONDS, TimeUnit.SECONDS)) {
                                switch (ack) {
                                    case Ack.Applied a -> applied.incrementAndGet();
                                    case Ack.Duplicate d -> duplicates.incrementAndGet();
                                    default -> errors.add(new AssertionError("answer " + ack));
                                }
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            return threads;
        };

        int parkedWaiters = -1;
        try {
            senders.addAll(sendPhase.apply(1));
            List<Integer> thresholds = new ArrayList<>();
            for (int i = 1; i < kills; i++) {
                thresholds.add(total * i / kills);
            }
            int killNo = 0;
            for (int at : thresholds.stream().filter(t -> t < half).toList()) {
                awaitCondition(at + " changes read", () -> distinct.get() >= at || !errors.isEmpty());
                crashNext.set(killNo++ % 2 == 0);
                serve.killAndRestart();
            }
            // Everything sent so far read; the reader's next poll parks in serve: kill it there.
            awaitCondition("the first half read", () -> distinct.get() >= half || !errors.isEmpty());
            AtomicInteger waiters = new AtomicInteger();
            awaitCondition("the reader's poll parked in serve", () -> {
                waiters.set(feedWaiters());
                return waiters.get() >= 1 || !errors.isEmpty();
            });
            parkedWaiters = waiters.get();
            serve.killAndRestart();
            senders.addAll(sendPhase.apply(workflows / 2 + 1));
            for (int at : thresholds.stream().filter(t -> t >= half).toList()) {
                awaitCondition(at + " changes read", () -> distinct.get() >= at || !errors.isEmpty());
                crashNext.set(killNo++ % 2 == 0);
                serve.killAndRestart();
            }
            awaitCondition("every change read", () -> distinct.get() >= total || !errors.isEmpty());
        } finally {
            stop.set(true);
            FeedReader feed = open.get();
            if (feed != null) {
                feed.close();
            }
            consumer.join(TimeUnit.SECONDS.toMillis(60));
            for (Thread s : senders) {
                s.join(TimeUnit.SECONDS.toMillis(BOUND_SECONDS));
            }
        }
        assertEquals(List.of(), List.copyOf(errors));
        assertEquals(List.of(), redeliveryWrong, "the event a consumer crashed on comes first again");
        assertEquals(total, applied.get() + duplicates.get(), "every event sent acknowledged");

        // The oracle: the rows' versions and the database's own feed.
        Map<Long, Row> rows = rows();
        Map<Long, List<StateEvent>> feed = databaseFeed();
        Map<String, String> committed = new HashMap<>(); // (task, version) -> event id, as the database holds them
        feed.values().forEach(events -> events.forEach(e -> {
            if (committed.put(key(e.taskInstanceId(), e.version()), e.eventId()) != null) {
                throw new AssertionError("the database's feed holds " + key(e.taskInstanceId(), e.version()) + " twice");
            }
        }));
        List<String> wrong = new ArrayList<>();
        Map<String, String> firstSeen = new LinkedHashMap<>();
        Map<Long, List<String>> firstByWorkflow = new TreeMap<>();
        Map<Long, List<Long>> versionsByTask = new TreeMap<>();
        int repeats = 0;
        for (StateEvent e : List.copyOf(sightings)) {
            String k = key(e.taskInstanceId(), e.version());
            if (!e.eventId().equals(committed.get(k))) {
                wrong.add("read " + e + " but the database holds " + committed.get(k) + " at " + k);
            }
            if (firstSeen.putIfAbsent(k, e.eventId()) == null) {
                firstByWorkflow.computeIfAbsent(e.workflowInstanceId(), w -> new ArrayList<>()).add(e.eventId());
                versionsByTask.computeIfAbsent(e.taskInstanceId(), t -> new ArrayList<>()).add(e.version());
            } else {
                repeats++;
            }
        }
        int missed = 0;
        for (Map.Entry<String, String> c : committed.entrySet()) {
            if (!c.getValue().equals(firstSeen.get(c.getKey()))) {
                missed++;
                wrong.add("committed " + c + " never read");
            }
        }
        for (Map.Entry<Long, Row> row : rows.entrySet()) {
            List<Long> expected = new ArrayList<>();
            for (long v = 1; v <= row.getValue().version(); v++) {
                expected.add(v);
            }
            if (!expected.equals(versionsByTask.get(row.getKey()))) {
                wrong.add("task " + row.getKey() + " at version " + row.getValue().version() + " was read as versions "
                        + versionsByTask.get(row.getKey()));
            }
            if (row.getValue().version() != 2) {
                wrong.add("task " + row.getKey() + " row " + row.getValue());
            }
        }
        for (Map.Entry<Integer, List<String>> w : sentOrder.entrySet()) {
            if (!w.getValue().equals(firstByWorkflow.get((long) w.getKey()))) {
                wrong.add("workflow " + w.getKey() + " committed " + w.getValue() + " but was first read as "
                        + firstByWorkflow.get((long) w.getKey()));
            }
        }
        System.out.printf("RELIABILITY client-feed: workflows=%d changes=%d kills=%d (one with %d poll(s) parked)"
                + " consumer-crashes=%d read=%d repeats=%d missed=%d wrong=%d applied=%d duplicates=%d%n", workflows,
                total, serve.kills, parkedWaiters, crashes.get(), sightings.size(), repeats, missed, wrong.size(),
                applied.get(), duplicates.get());
        assertEquals(total, committed.size(), "the database's feed holds each RUNNING and RESULT once, no DISPATCH");
        assertEquals(workflows * TASKS, rows.size());
        assertEquals(List.of(), wrong.subList(0, Math.min(20, wrong.size())), "a gap, a loss or out of order");
        assertEquals(crashes.get(), repeats, "a repeat only for each consumer crash: the reader itself skips nothing"
                + " and repeats nothing across serve's restarts");
        assertEquals(kills, serve.kills);
        assertTrue(crashes.get() > 0, "the consumer must have resumed from its stored cursor");
    }

    /** serve's {@code taskevents_feed_waiters} gauge; -1 while serve does not answer. */
    private int feedWaiters() throws InterruptedException {
        try {
            HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(uri().resolve("/metrics"))
                    .header("Authorization", "Bearer " + TOKEN).timeout(Duration.ofSeconds(10)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            Matcher m = WAITERS.matcher(metrics.body());
            return metrics.statusCode() == 200 && m.find() ? Integer.parseInt(m.group(1)) : -1;
        } catch (IOException e) {
            return -1;
        }
    }
}
