package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.engine.TaskEventEngine;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes POST /v1/events over real HTTP with seeded mutations of a valid event: truncation, byte
 * flips and insertions (invalid UTF-8 included), fields of the wrong type, huge and negative and
 * zero numbers, unknown fields and enum values, SQL and shell metacharacters in every string
 * field, and a 10 MB body. Every answer must be 200 or 4xx with a JSON error and no stack trace;
 * no 5xx; only events answered APPLIED may change the task; the server stays healthy.
 * {@code -Dtaskevents.reliability.fuzz=N} sets the number of inputs (CI: 2,000).
 */
class ServeFuzzTest {
    private static final String[] STRING_FIELDS = {"eventId", "host", "logPath", "executePath", "appIds", "varPool"};
    private static final String[] NASTY = {"'; DROP TABLE task_instance; --", "$(rm -rf /)", "`reboot`", "\\u0000",
            "\\ud800", "ünï 😀", "\\\"\\\\", "%s%n", "../../etc/passwd", "<script>x</script>"};

    @Test
    void noInputGetsA5xxAStackTraceOrAnUnacknowledgedChange() throws Exception {
        int inputs = Integer.getInteger("taskevents.reliability.fuzz", 2_000);
        HeldStore store = new HeldStore();
        store.insert(List.of(TaskInstance.submitted(10, 1, "t", Instant.EPOCH)));
        TaskEventEngine engine = TaskEventEngine.builder().store(store).build();
        EventServer server = new EventServer(engine, store, ServerSettings.local(0, 16 * 1024 * 1024));
        server.start();
        HttpClient http = HttpClient.newHttpClient();
        URI events = URI.create("http://127.0.0.1:" + server.address().getPort() + "/v1/events");
        Random random = new Random(42);
        Map<Integer, Integer> statuses = new TreeMap<>();
        int appliedAnswers = 0;
        try {
            for (int i = 0; i < inputs; i++) {
                byte[] body = mutate(random, i);
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(events)
                        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
                int status = response.statusCode();
                statuses.merge(status, 1, Integer::sum);
                assertTrue(status == 200 || (status >= 400 && status < 500), "status " + status + " for input " + i
                        + ": " + response.body());
                assertFalse(response.body().contains("\tat ") || response.body().contains("Exception"),
                        "stack trace in the answer to input " + i + ": " + response.body());
                if (status != 200) {
                    assertTrue(response.body().startsWith("{\"error\":\""), response.body());
                } else if (response.body().contains("\"outcome\":\"APPLIED\"")) {
                    appliedAnswers++;
                }
            }
            long version = store.find(10).orElseThrow().version();
            System.out.printf("RELIABILITY serve-fuzz: inputs=%d statuses=%s applied-answers=%d task-version=%d%n",
                    inputs, statuses, appliedAnswers, version);
            assertEquals(appliedAnswers, version, "only APPLIED answers may have changed the task");
            HttpResponse<String> health = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + server.address().getPort() + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode(), "healthy after the fuzz");
            assertTrue(statuses.keySet().stream().anyMatch(s -> s >= 400), "the fuzz must produce refusals");
        } finally {
            server.stop(Duration.ZERO);
            engine.close();
        }
    }

    private static String valid(Random random) {
        String type = new String[] {"RUNNING", "DELAY", "RESULT", "DISPATCH"}[random.nextInt(4)];
        String state = switch (type) {
            case "RUNNING" -> "RUNNING";
            case "DELAY" -> "DELAYED";
            case "DISPATCH" -> "DISPATCHED";
            default -> "SUCCESS";
        };
        return "{\"eventId\":\"e" + random.nextInt(50) + "\",\"type\":\"" + type + "\",\"workflowInstanceId\":1,"
                + "\"taskInstanceId\":10,\"state\":\"" + state + "\",\"eventTime\":\"2026-01-01T00:00:00Z\","
                + "\"host\":\"w1\",\"startTime\":\"2026-01-01T00:00:00Z\",\"endTime\":\"2026-01-01T00:00:01Z\","
                + "\"processId\":7,\"varPool\":\"v\"}";
    }

    private static byte[] mutate(Random random, int i) {
        String json = valid(random);
        if (i == 0) {
            String big = "x".repeat(10 * 1024 * 1024);
            return json.replace("\"varPool\":\"v\"", "\"varPool\":\"" + big + "\"").getBytes(StandardCharsets.UTF_8);
        }
        switch (random.nextInt(9)) {
            case 0 -> json = json.substring(0, random.nextInt(json.length()));
            case 1 -> {
                byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
                bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
                return bytes;
            }
            case 2 -> {
                int at = random.nextInt(json.length());
                json = json.substring(0, at) + "{}[]\",:\\\0".charAt(random.nextInt(9)) + json.substring(at);
            }
            case 3 -> {
                String field = new String[] {"workflowInstanceId", "taskInstanceId", "processId"}[random.nextInt(3)];
                String value = new String[] {"0", "-1", "1e400", "99999999999999999999999", "\"7\"", "true", "null",
                        "[1]", "{}", "1.5"}[random.nextInt(10)];
                json = json.replaceFirst("\"" + field + "\":[^,}]+", "\"" + field + "\":" + value);
            }
            case 4 -> json = json.replace("\"type\":\"", "\"type\":\"X");
            case 5 -> json = json.replace("{\"eventId\"", "{\"surprise\":1,\"eventId\"");
            case 6 -> {
                String field = STRING_FIELDS[random.nextInt(STRING_FIELDS.length)];
                String nasty = NASTY[random.nextInt(NASTY.length)];
                json = json.contains("\"" + field + "\":\"")
                        ? json.replaceFirst("\"" + field + "\":\"[^\"]*\"", "\"" + field + "\":\""
                                + java.util.regex.Matcher.quoteReplacement(nasty) + "\"")
                        : json.replace("}", ",\"" + field + "\":\"" + nasty.replace("\\", "\\\\") + "\"}");
            }
            case 7 -> json = "[" + json + "," + json.replace("\"e", "\"f") + "]";
            default -> { } // unchanged: a valid event, duplicates and stale ones included
        }
        return json.getBytes(StandardCharsets.UTF_8);
    }
}
