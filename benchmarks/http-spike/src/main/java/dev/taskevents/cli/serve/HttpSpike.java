package dev.taskevents.cli.serve;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WorkflowStateSink;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HTTP server spike: one engine in serve's feed mode on one JDBC store, behind four servers at
 * once (serve as shipped, the bare JDK server, Helidon SE, Jetty), each loaded in turn by wrk with
 * {@code post-events.lua}, and the same load in process (32 clients, each submitting 20 events and
 * waiting for their acks, straight to the engine), in rounds whose order rotates so that drift hits
 * all alike. Applied events are counted from the rows' versions before and after each turn.
 *
 * <pre>
 * benchmarks/http-spike/run --store jdbc:postgresql://127.0.0.1:5432/test?user=postgres&amp;currentSchema=spike
 *     [--tasks 20000] [--seconds 20] [--rounds 5] [--connections 32] [--warmup 5] [--hold SECONDS]
 * </pre>
 */
public final class HttpSpike {
    private static final int EVENTS_PER_REQUEST = 20;

    /** One in-process turn: its length, the requests that failed, and each completed request's latency. */
    private record InProcessRun(long elapsedNanos, long failedRequests, long[] latencyNanos) {}

    private record Turn(String mode, double requestsPerSecond, double eventsPerSecond, double p50Ms, double p99Ms,
            long failed, String load) {}

    public static void main(String[] args) throws Exception {
        Map<String, String> options = options(args);
        String url = required(options, "store");
        int tasks = Integer.parseInt(options.getOrDefault("tasks", "20000"));
        int seconds = Integer.parseInt(options.getOrDefault("seconds", "20"));
        int rounds = Integer.parseInt(options.getOrDefault("rounds", "5"));
        int connections = Integer.parseInt(options.getOrDefault("connections", "32"));
        int warmup = Integer.parseInt(options.getOrDefault("warmup", "5"));
        Path lua = Path.of(options.getOrDefault("lua", "benchmarks/http-spike/post-events.lua"));

        SpikeFronts.jdkDefaults(); // before the JVM's first JDK server reads them
        TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url));
        TaskEventEngine engine = TaskEventEngine.builder().store(store).maxQueued(100_000)
                .stateSink(WorkflowStateSink.NONE).submitTimeout(Duration.ofMillis(100))
                .stateFeed(Duration.ofHours(24)).build();
        createTasks(store, tasks);
        analyze(url);
        SpikeHandlers handlers = new SpikeHandlers(engine, store.stateFeed().orElseThrow());
        List<SpikeFronts.Front> fronts = List.of(SpikeFronts.serve(engine, store), SpikeFronts.jdk(handlers),
                SpikeFronts.helidon(handlers), SpikeFronts.jetty(handlers));
        try {
            for (SpikeFronts.Front front : fronts) {
                checkFeed(front, store.stateFeed().orElseThrow().head());
            }
            int hold = Integer.parseInt(options.getOrDefault("hold", "0"));
            if (hold > 0) { // serve, measure nothing
                fronts.forEach(front -> System.out.printf("%s: http://127.0.0.1:%d/%n", front.name(), front.port()));
                System.out.flush();
                Thread.sleep(TimeUnit.SECONDS.toMillis(hold));
                return;
            }
            List<String> modes = new ArrayList<>();
            fronts.forEach(front -> modes.add(front.name()));
            modes.add("in process (no HTTP)");
            System.out.printf("warming up: %d s per mode%n", warmup);
            for (String mode : modes) {
                turn(mode, fronts, engine, url, tasks, warmup, connections, lua);
            }
            Map<String, List<Turn>> turns = new LinkedHashMap<>();
            modes.forEach(mode -> turns.put(mode, new ArrayList<>()));
            for (int round = 0; round < rounds; round++) {
                for (int i = 0; i < modes.size(); i++) {
                    String mode = modes.get((i + round) % modes.size());
                    Turn turn = turn(mode, fronts, engine, url, tasks, seconds, connections, lua);
                    turns.get(mode).add(turn);
                    System.out.printf(Locale.ROOT, "round %d %-32s %8.0f req/s %9.0f events/s p50 %7.1f ms p99 %7.1f"
                            + " ms failed %d load %s%n", round + 1, mode, turn.requestsPerSecond,
                            turn.eventsPerSecond, turn.p50Ms, turn.p99Ms, turn.failed, turn.load);
                }
            }
            report(turns, rounds, seconds, connections, tasks);
            imageCost();
        } finally {
            fronts.forEach(SpikeFronts.Front::close);
            engine.close(Duration.ofSeconds(10));
            store.close();
        }
    }

    /** GET /v1/state-events answers on every front: a page, then (but serve) an empty long poll at the head. */
    private static void checkFeed(SpikeFronts.Front front, long head) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + front.port() + "/v1/state-events";
        boolean serve = front.name().startsWith("serve");
        HttpResponse<String> page = client.send(HttpRequest.newBuilder(URI.create(base + "?limit=2")).build(),
                HttpResponse.BodyHandlers.ofString());
        if (page.statusCode() != 200 || !page.body().contains("\"events\"")) {
            throw new IllegalStateException(front.name() + ": GET /v1/state-events answered " + page.statusCode()
                    + " " + page.body());
        }
        if (!serve) { // serve's cursor is opaque; the spike's handlers take a position
            long start = System.nanoTime();
            HttpResponse<String> poll = client.send(HttpRequest.newBuilder(URI.create(base
                    + "?after=" + head + "&wait=1")).build(), HttpResponse.BodyHandlers.ofString());
            System.out.printf(Locale.ROOT, "%s: feed page ok; a poll past the head answered %d after %d ms%n",
                    front.name(), poll.statusCode(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        }
    }

    private static Turn turn(String mode, List<SpikeFronts.Front> fronts, TaskEventEngine engine, String url,
            int tasks, int seconds, int connections, Path lua) throws Exception {
        String loadBefore = loadAverage();
        long versionsBefore = versions(url);
        SpikeFronts.Front front = fronts.stream().filter(f -> f.name().equals(mode)).findFirst().orElse(null);
        double requestsPerSecond;
        double p50;
        double p99;
        long failed;
        double elapsedSeconds;
        if (front != null) {
            String nonce = "r" + System.nanoTime();
            ProcessBuilder command = new ProcessBuilder("wrk", "-t2", "-c" + connections, "-d" + seconds + "s",
                    "--latency", "-s", lua.toString(), "http://127.0.0.1:" + front.port() + "/v1/events", "--", nonce)
                    .redirectErrorStream(true);
            command.environment().put("TASKS", Integer.toString(tasks));
            Process wrk = command.start();
            wrk.getOutputStream().close();
            String out = new String(wrk.getInputStream().readAllBytes());
            if (wrk.waitFor() != 0) {
                throw new IllegalStateException("wrk failed: " + out);
            }
            Matcher done = Pattern.compile("(\\d+) requests in ([0-9.]+)(ms|s|m)").matcher(out);
            if (!done.find()) {
                throw new IllegalStateException("no request count in wrk's output: " + out);
            }
            elapsedSeconds = millis(done.group(2), done.group(3)) / 1000;
            requestsPerSecond = Long.parseLong(done.group(1)) / elapsedSeconds;
            p50 = percentile(out, "50%");
            p99 = percentile(out, "99%");
            Matcher bad = Pattern.compile("Non-2xx or 3xx responses: (\\d+)").matcher(out);
            failed = bad.find() ? Long.parseLong(bad.group(1)) : 0;
            Matcher errors = Pattern.compile("Socket errors: connect (\\d+), read (\\d+), write (\\d+), timeout (\\d+)")
                    .matcher(out);
            if (errors.find()) {
                for (int g = 1; g <= 4; g++) {
                    failed += Long.parseLong(errors.group(g));
                }
            }
        } else {
            InProcessRun run = inProcess(engine, tasks, seconds, connections);
            elapsedSeconds = run.elapsedNanos() / 1e9;
            long[] latencies = run.latencyNanos();
            requestsPerSecond = latencies.length / elapsedSeconds;
            Arrays.sort(latencies);
            p50 = latencies.length == 0 ? Double.NaN : latencies[(int) (latencies.length * 0.50)] / 1e6;
            p99 = latencies.length == 0 ? Double.NaN : latencies[(int) Math.min(latencies.length - 1,
                    latencies.length * 0.99)] / 1e6;
            failed = run.failedRequests();
        }
        long applied = versions(url) - versionsBefore;
        return new Turn(mode, requestsPerSecond, applied / elapsedSeconds, p50, p99, failed,
                loadBefore + " -> " + loadAverage());
    }

    /**
     * {@code connections} virtual threads for {@code seconds}, each a closed loop of 20 RUNNING events
     * for random tasks, one host per request (every event changes its row), waiting for all 20 acks.
     *
     */
    private static InProcessRun inProcess(TaskEventEngine engine, int tasks, int seconds, int connections)
            throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        AtomicBoolean stop = new AtomicBoolean();
        List<List<Long>> latencies = new ArrayList<>();
        long[] failed = new long[connections];
        List<Thread> clients = new ArrayList<>();
        String nonce = "p" + System.nanoTime();
        long start = System.nanoTime();
        for (int c = 0; c < connections; c++) {
            List<Long> mine = new ArrayList<>();
            latencies.add(mine);
            int client = c;
            clients.add(Thread.ofVirtual().start(() -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                for (long request = 0; !stop.get() && System.nanoTime() < end; request++) {
                    String host = nonce + "-" + client + "-" + request;
                    long sent = System.nanoTime();
                    List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>(EVENTS_PER_REQUEST);
                    try {
                        for (int i = 1; i <= EVENTS_PER_REQUEST; i++) {
                            long task = random.nextLong(1, tasks + 1);
                            acks.add(engine.submit(TaskEvent.builder(host + "-" + i, TaskEventType.RUNNING,
                                    (task - 1) / 10 + 1, task).state(TaskState.RUNNING)
                                    .eventTime(Instant.parse("2026-01-01T00:00:00Z")).host(host)
                                    .startTime(Instant.parse("2026-01-01T00:00:00Z")).build()));
                        }
                        for (CompletableFuture<Acknowledgement> ack : acks) {
                            ack.get(30, TimeUnit.SECONDS);
                        }
                        mine.add(System.nanoTime() - sent);
                    } catch (Exception e) {
                        failed[client]++;
                    }
                }
            }));
        }
        for (Thread client : clients) {
            client.join();
        }
        long elapsed = System.nanoTime() - start;
        long[] all = latencies.stream().flatMap(List::stream).mapToLong(Long::longValue).toArray();
        return new InProcessRun(elapsed, Arrays.stream(failed).sum(), all);
    }

    private static void report(Map<String, List<Turn>> turns, int rounds, int seconds, int connections, int tasks) {
        System.out.printf(Locale.ROOT, "%n%d rounds of %d s per mode, order rotating; %d connections (clients), %d"
                + " RUNNING events per request over %d tasks; medians (min-max)%n%n", rounds, seconds, connections,
                EVENTS_PER_REQUEST, tasks);
        System.out.println("| server | requests/s | events/s applied | p50 ms | p99 ms | failed | events/s vs in process |");
        System.out.println("|---|---|---|---|---|---|---|");
        double inProcess = median(turns.get("in process (no HTTP)").stream().mapToDouble(Turn::eventsPerSecond)
                .toArray());
        turns.forEach((mode, list) -> {
            double[] rps = list.stream().mapToDouble(Turn::requestsPerSecond).toArray();
            double[] eps = list.stream().mapToDouble(Turn::eventsPerSecond).toArray();
            double[] p50 = list.stream().mapToDouble(Turn::p50Ms).toArray();
            double[] p99 = list.stream().mapToDouble(Turn::p99Ms).toArray();
            System.out.printf(Locale.ROOT, "| %s | %s | %s | %s | %s | %d | %.2fx |%n", mode, spread(rps, "%,.0f"),
                    spread(eps, "%,.0f"), spread(p50, "%.1f"), spread(p99, "%.1f"),
                    list.stream().mapToLong(Turn::failed).sum(), median(eps) / inProcess);
        });
    }

    /** What each server's jars weigh on the class path (the image would add about as much). */
    private static void imageCost() throws IOException {
        Map<String, Long> bytes = new LinkedHashMap<>();
        Map<String, Integer> jars = new LinkedHashMap<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            String kind = name.startsWith("helidon-") ? "Helidon" : name.startsWith("jetty-") ? "Jetty" : null;
            if (kind != null && Files.isRegularFile(Path.of(entry))) {
                bytes.merge(kind, Files.size(Path.of(entry)), Long::sum);
                jars.merge(kind, 1, Integer::sum);
            }
        }
        System.out.println();
        bytes.forEach((kind, size) -> System.out.printf(Locale.ROOT, "%s: %d jars, %,d KiB%n", kind, jars.get(kind),
                size / 1024));
    }

    private static String spread(double[] values, String format) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return String.format(Locale.ROOT, format + " (" + format + "-" + format + ")", median(sorted), sorted[0],
                sorted[sorted.length - 1]);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static double percentile(String wrkOutput, String label) {
        Matcher m = Pattern.compile(Pattern.quote(label) + "\\s+([0-9.]+)(us|ms|s|m)").matcher(wrkOutput);
        if (!m.find()) {
            throw new IllegalStateException("no " + label + " latency in wrk's output: " + wrkOutput);
        }
        return millis(m.group(1), m.group(2));
    }

    private static double millis(String value, String unit) {
        double v = Double.parseDouble(value);
        return switch (unit) {
            case "us" -> v / 1000;
            case "ms" -> v;
            case "s" -> v * 1000;
            case "m" -> v * 60_000;
            default -> throw new IllegalArgumentException(unit);
        };
    }

    private static void createTasks(TaskInstanceStore store, int tasks) {
        Instant now = Instant.now();
        for (int from = 1; from <= tasks; from += 1_000) {
            List<TaskInstance> rows = new ArrayList<>();
            for (long id = from; id < from + 1_000 && id <= tasks; id++) {
                rows.add(TaskInstance.submitted(id, (id - 1) / 10 + 1, "task-" + id, now));
            }
            store.insert(rows);
        }
    }

    /** Planner statistics for the new rows (PostgreSQL), so the first seconds plan like the rest. */
    private static void analyze(String url) throws SQLException {
        if (url.startsWith("jdbc:postgresql:")) {
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("analyze");
            }
        }
    }

    private static long versions(String url) throws SQLException {
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                ResultSet r = s.executeQuery("select coalesce(sum(version), 0) from task_instance")) {
            r.next();
            return r.getLong(1);
        }
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "?";
        }
    }

    private static Map<String, String> options(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value pairs, got " + args[i]);
            }
            options.put(args[i].substring(2), args[i + 1]);
        }
        return options;
    }

    private static String required(Map<String, String> options, String name) {
        String value = options.get(name);
        if (value == null) {
            throw new IllegalArgumentException("--" + name + " is required");
        }
        return value;
    }
}
