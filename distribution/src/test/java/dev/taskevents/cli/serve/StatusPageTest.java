package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.testkit.Await;
import dev.taskevents.testkit.TempDirs;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The status page in a real browser: headless Chromium loads {@code GET /} from serve, runs its
 * script against {@code /v1/status} and {@code /v1/cluster}, and the DOM it leaves is checked.
 * Skipped with a message where Chromium is not installed, unless
 * {@code TASKEVENTS_TEST_REQUIRE_BROWSER=true} (CI installs it and sets that).
 */
class StatusPageTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final int SHARDS = 16;
    private static final int EVENTS = 60;
    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final String url = "jdbc:h2:mem:status-page-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";


    private static void assumeChromium() {
        boolean required = "true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_BROWSER"));
        if (required) {
            assertTrue(Files.isExecutable(CHROMIUM), "TASKEVENTS_TEST_REQUIRE_BROWSER=true, but " + CHROMIUM
                    + " is not installed (apt-get install chromium)");
        }
        assumeTrue(Files.isExecutable(CHROMIUM), "the status page test needs Chromium at " + CHROMIUM
                + " (apt-get install chromium); skipped");
    }

    private ServeClusterNode node(String name) throws Exception {
        return ServeClusterNode.start(name, url, SHARDS, true, toClose);
    }

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    @Test
    void showsBothNodesTheirShardsAndTheThroughput() throws Exception {
        assumeChromium();
        ServeClusterNode a = node("a");
        ServeClusterNode b = node("b");
        Await.until(() -> a.active().size() == SHARDS / 2 && b.active().size() == SHARDS / 2
                && ownersSeenBy(a).equals(Map.of(a.id(), SHARDS / 2, b.id(), SHARDS / 2)));
        // RUNNING events for a's shards, applied by a: its throughput chart has a non-zero second, and
        // each change is in the feed (a DISPATCH would not be: the feed tells what a scheduler acts on).
        List<Long> workflows = new ArrayList<>();
        for (long w = 1; workflows.size() < EVENTS; w++) {
            if (a.active().contains(dev.taskevents.api.Shards.of(w, SHARDS))) {
                workflows.add(w);
            }
        }
        StringBuilder tasks = new StringBuilder("[");
        StringBuilder events = new StringBuilder("[");
        for (long w : workflows) {
            tasks.append(tasks.length() > 1 ? "," : "").append("{\"id\":").append(w).append(",\"workflowInstanceId\":")
                    .append(w).append(",\"name\":\"t\"}");
            events.append(events.length() > 1 ? "," : "").append("{\"eventId\":\"e").append(w)
                    .append("\",\"type\":\"RUNNING\",\"workflowInstanceId\":").append(w).append(",\"taskInstanceId\":")
                    .append(w).append(",\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"w\",")
                    .append("\"startTime\":\"2026-01-01T00:00:00Z\"}");
        }
        assertEquals(201, post(a, "/v1/task-instances", tasks + "]").statusCode());
        HttpResponse<String> acks = post(a, "/v1/events", events + "]");
        assertEquals(200, acks.statusCode(), acks.body());
        // The page charts complete seconds: wait for the second of the acks to end.
        Instant sent = Instant.now();
        Await.until(() -> Instant.now().getEpochSecond() > sent.getEpochSecond());

        String dom = render(a.address() + "/", "cluster");
        Map<String, Integer> owners = ownersSeenBy(a);
        for (ServeClusterNode n : List.of(a, b)) {
            assertTrue(dom.contains("data-node=\"" + n.id() + "\""), "the node table lists " + n.id() + ": " + dom);
            assertEquals(owners.get(n.id()).intValue(), count(dom, "data-owner=\"" + n.id() + "\""),
                    "the shard grid colours as many shards for " + n.id() + " as /v1/cluster gives it");
        }
        assertEquals(SHARDS, count(dom, "class=\"shard\""), "every shard is in the grid, owned");
        Matcher rate = Pattern.compile("<span id=\"rate\" class=\"big\">([0-9,]+)</span>").matcher(dom);
        assertTrue(rate.find(), "the page shows a rate: " + dom);
        assertTrue(Integer.parseInt(rate.group(1).replace(",", "")) > 0, "the throughput after "
                + EVENTS + " events is " + rate.group(1));
        assertTrue(dom.contains("<tr data-name=\"applied\"><td>applied</td><td class=\"num\">" + EVENTS + "</td></tr>"),
                "the outcomes table counts the events applied: " + dom);
        assertTrue(dom.contains("<tr data-name=\"head position\"><td>head position</td><td class=\"num\">" + EVENTS
                + "</td></tr>"), "the feed's head is past every change: " + dom);
        assertTrue(dom.contains("<div id=\"problem\" role=\"alert\" style=\"display: none;\">"),
                "the page read its JSON without a problem: " + dom);
    }

    @Test
    void withTokensThePageShowsNoDataAndAsksForOne() throws Exception {
        assumeChromium();
        try (TaskInstanceStore store = dev.taskevents.api.Stores.open("memory:");
             TaskEventEngine engine = TaskEventEngine.builder().store(store).build()) {
            EventServer server = new EventServer(engine, store, ServerSettings.builder(
                    new InetSocketAddress("127.0.0.1", 0)).tokens(List.of("token-status-page-0123456789")).build());
            server.start();
            try {
                HttpResponse<String> status = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + server.address().getPort() + "/v1/status")).GET().build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(401, status.statusCode(), "the JSON needs a token");
                String dom = render("http://127.0.0.1:" + server.address().getPort() + "/status", "token");
                assertTrue(dom.contains("<form id=\"token-form\" style=\"display: block;\">"),
                        "the token form is shown: " + dom);
                assertTrue(dom.contains("this server needs a bearer token"), dom);
                assertTrue(dom.contains("<span id=\"rate\" class=\"big\">–</span>"), "no data is shown: " + dom);
            } finally {
                server.stop(Duration.ZERO);
            }
        }
    }

    /** Owners and their shard counts in {@code node}'s {@code /v1/cluster}. */
    private Map<String, Integer> ownersSeenBy(ServeClusterNode node) {
        JsonNode cluster;
        try {
            cluster = json.readTree(http.send(HttpRequest.newBuilder(URI.create(node.address() + "/v1/cluster")).GET()
                    .build(), HttpResponse.BodyHandlers.ofString()).body());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        Map<String, Integer> owners = new HashMap<>();
        for (JsonNode shard : cluster.get("shards")) {
            if (shard.get("ownerAlive").asBoolean()) {
                owners.merge(shard.get("owner").asText(), 1, Integer::sum);
            }
        }
        return owners;
    }

    private HttpResponse<String> post(ServeClusterNode node, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(node.address() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length())) {
            n++;
        }
        return n;
    }

    /**
     * The DOM of {@code page} once its script ran: Chromium headless, with a virtual time budget
     * that covers the first read of the JSON and one refresh. A screenshot goes to
     * {@code target/status-page-NAME.png} beside it, for a person to look at.
     */
    private static String render(String page, String name) throws Exception {
        Path profile = TempDirs.create("chromium-profile");
        Path out = Files.createDirectories(Path.of("target"));
        List<String> flags = List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile, "--virtual-time-budget=4000", "--window-size=1280,900");
        List<String> screenshot = new ArrayList<>(List.of(CHROMIUM.toString()));
        screenshot.addAll(flags);
        screenshot.addAll(List.of("--screenshot=" + out.resolve("status-page-" + name + ".png").toAbsolutePath(), page));
        run(screenshot, profile);
        List<String> dump = new ArrayList<>(List.of(CHROMIUM.toString()));
        dump.addAll(flags);
        dump.addAll(List.of("--dump-dom", page));
        return run(dump, profile);
    }

    private static String run(List<String> command, Path profile) throws Exception {
        Path stdout = profile.resolve("stdout-" + UUID.randomUUID() + ".html");
        Process chromium = new ProcessBuilder(command).redirectOutput(stdout.toFile())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            assertTrue(chromium.waitFor(90, TimeUnit.SECONDS), "Chromium did not finish within 90 s");
        } finally {
            chromium.descendants().forEach(ProcessHandle::destroyForcibly);
            chromium.destroyForcibly();
        }
        assertEquals(0, chromium.exitValue(), "Chromium's exit status");
        return Files.readString(stdout, StandardCharsets.UTF_8);
    }
}
