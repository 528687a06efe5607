package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.taskevents.engine.TaskEventEngine;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Fuzzes serve's event path through many tasks and every state, against a model: a plain
 * re-statement of DESIGN.md's transition table kept by the test, which predicts each event's
 * outcome (APPLIED, DUPLICATE, STALE, REJECTED) and every field of every stored row. Tasks are
 * registered as the fuzz goes, so new ones keep arriving while old ones finish; values come from
 * small pools and earlier events are resent, so duplicates and one-field differences are common;
 * events name unknown tasks and wrong workflows; and some requests are made invalid on purpose
 * (each must be a 400 that changes nothing). Every answer is compared with the model's
 * prediction, each touched row is read back with GET /v1/task-instances/{id} after its request,
 * and all rows at the end. ({@link ServeFuzzTest} fuzzes the bytes, with one task that finishes
 * at its first applied RESULT.) Seeded; {@code -Dtaskevents.reliability.fuzz=N} sets the number
 * of requests.
 */
class ServeModelFuzzTest {
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");
    private static final String[] HOSTS = {"w1", "w2"};
    private static final String[] LOG_PATHS = {null, "/log/1", "/log/2"};
    private static final String[] EXECUTE_PATHS = {null, "/exec/1"};
    private static final int[] PIDS = {0, 7, 8};
    private static final String[] APP_IDS = {null, "app_1"};
    private static final String[] VAR_POOLS = {null, "v1", "v2"};
    private static final String[] FINISHED = {"SUCCESS", "FAILURE", "KILLED", "PAUSED"};

    private final ObjectMapper mapper = new ObjectMapper();

    /** A row as the model predicts it and as GET shows it (times as ISO text). */
    private record Row(long workflow, String state, String host, String logPath, String executePath, int pid,
                       String appIds, String startTime, String endTime, String varPool, String finishEventId,
                       long version) {
        static Row submitted(long workflow) {
            return new Row(workflow, "SUBMITTED", null, null, null, 0, null, null, null, null, null, 0);
        }

        boolean finished() {
            return List.of(FINISHED).contains(state);
        }

        /** Equal in everything the rules compare: all but the version. */
        boolean sameContent(Row o) {
            return state.equals(o.state) && Objects.equals(host, o.host) && Objects.equals(logPath, o.logPath)
                    && Objects.equals(executePath, o.executePath) && pid == o.pid && Objects.equals(appIds, o.appIds)
                    && Objects.equals(startTime, o.startTime) && Objects.equals(endTime, o.endTime)
                    && Objects.equals(varPool, o.varPool) && Objects.equals(finishEventId, o.finishEventId);
        }
    }

    /** One generated event, as sent. */
    private record Event(String eventId, String type, long workflow, long task, String state, String host,
                         String logPath, String executePath, int pid, String appIds, String varPool,
                         String startTime, String endTime) {
        String json() {
            ObjectNode node = new ObjectMapper().createObjectNode().put("eventId", eventId).put("type", type)
                    .put("workflowInstanceId", workflow).put("taskInstanceId", task).put("state", state)
                    .put("eventTime", T.toString());
            putIfSet(node, "host", host);
            putIfSet(node, "logPath", logPath);
            putIfSet(node, "executePath", executePath);
            if (pid != 0) {
                node.put("processId", pid);
            }
            putIfSet(node, "appIds", appIds);
            putIfSet(node, "varPool", varPool);
            putIfSet(node, "startTime", startTime);
            putIfSet(node, "endTime", endTime);
            return node.toString();
        }

        private static void putIfSet(ObjectNode node, String field, String value) {
            if (value != null) {
                node.put(field, value);
            }
        }
    }

    /** The model: the outcome {@code e} must get, and the row it leaves in {@code rows}. */
    private static String apply(Map<Long, Row> rows, Event e) {
        Row cur = rows.get(e.task);
        if (cur == null) {
            return "REJECTED UNKNOWN_TASK_INSTANCE";
        }
        if (cur.workflow != e.workflow) {
            return "REJECTED WRONG_WORKFLOW_INSTANCE";
        }
        Row next;
        switch (e.type) {
            case "DISPATCH" -> {
                if (cur.state.equals("SUBMITTED")) {
                    next = new Row(cur.workflow, "DISPATCHED", e.host, cur.logPath, cur.executePath, cur.pid,
                            cur.appIds, cur.startTime, cur.endTime, cur.varPool, cur.finishEventId, cur.version + 1);
                    break;
                }
                return cur.state.equals("DISPATCHED") && e.host.equals(cur.host) ? "DUPLICATE" : "STALE";
            }
            case "RUNNING", "DELAY" -> {
                if (cur.finished()) {
                    return "STALE";
                }
                next = new Row(cur.workflow, e.state, e.host, or(e.logPath, cur.logPath),
                        or(e.executePath, cur.executePath), e.pid != 0 ? e.pid : cur.pid, or(e.appIds, cur.appIds),
                        e.startTime, cur.endTime, cur.varPool, cur.finishEventId, cur.version + 1);
                if (next.sameContent(cur)) {
                    return "DUPLICATE";
                }
            }
            default -> {
                if (cur.finished()) {
                    return e.eventId.equals(cur.finishEventId) ? "DUPLICATE" : "STALE";
                }
                next = new Row(cur.workflow, e.state, or(e.host, cur.host), or(e.logPath, cur.logPath),
                        or(e.executePath, cur.executePath), e.pid != 0 ? e.pid : cur.pid, or(e.appIds, cur.appIds),
                        or(cur.startTime, e.startTime), e.endTime, or(e.varPool, cur.varPool), e.eventId,
                        cur.version + 1);
            }
        }
        rows.put(e.task, next);
        return "APPLIED";
    }

    private static <V> V or(V preferred, V fallback) {
        return preferred != null ? preferred : fallback;
    }

    private static <V> V pick(Random r, V[] values) {
        return values[r.nextInt(values.length)];
    }

    private static Event generate(Random r, long task, long workflow) {
        String type = new String[] {"DISPATCH", "DISPATCH", "RUNNING", "RUNNING", "RUNNING", "DELAY", "DELAY",
            "RESULT"}[r.nextInt(8)];
        String start = r.nextBoolean() ? T.toString() : T.plusSeconds(1).toString();
        return switch (type) {
            case "DISPATCH" -> new Event("e" + r.nextInt(8), type, workflow, task, "DISPATCHED", pick(r, HOSTS), null,
                    null, 0, null, null, null, null);
            case "RUNNING", "DELAY" -> new Event("e" + r.nextInt(8), type, workflow, task,
                    type.equals("RUNNING") ? "RUNNING" : "DELAYED", pick(r, HOSTS), pick(r, LOG_PATHS),
                    pick(r, EXECUTE_PATHS), PIDS[r.nextInt(PIDS.length)], pick(r, APP_IDS), null, start, null);
            default -> new Event("e" + r.nextInt(8), type, workflow, task, pick(r, FINISHED),
                    r.nextBoolean() ? pick(r, HOSTS) : null, pick(r, LOG_PATHS), null, PIDS[r.nextInt(PIDS.length)],
                    null, pick(r, VAR_POOLS), r.nextBoolean() ? start : null, T.plusSeconds(5).toString());
        };
    }

    /** A request body no valid event has: each one must be refused whole with 400. */
    private static String invalid(Random r, Event e) {
        String json = e.json();
        return switch (r.nextInt(6)) {
            case 0 -> json.substring(0, json.length() - 1 - r.nextInt(json.length() / 2));
            case 1 -> json.replace("\"type\":\"", "\"type\":\"X");
            case 2 -> json.replace("\"taskInstanceId\":" + e.task, "\"taskInstanceId\":-" + e.task);
            case 3 -> json.replace("\"eventId\":\"", "\"eventId\":\"\\u0000");
            case 4 -> json.replace("\"state\":\"" + e.state + "\"", "\"state\":\"SUBMITTED\"");
            default -> "[" + e.json() + "," + json.replace("\"eventTime\":\"", "\"eventTime\":\"+300000-") + "]";
        };
    }

    @Test
    void everyAnswerAndEveryStoredRowIsWhatTheModelPredicts() throws Exception {
        int requests = Integer.getInteger("taskevents.reliability.fuzz", 2_000);
        HeldStore store = new HeldStore();
        TaskEventEngine engine = TaskEventEngine.builder().store(store).build();
        EventServer server = new EventServer(engine, store, ServerSettings.local(0, 1 << 20));
        server.start();
        HttpClient http = HttpClient.newHttpClient();
        String base = "http://127.0.0.1:" + server.address().getPort();
        Random random = new Random(20261127);
        Map<Long, Row> model = new HashMap<>();
        List<Long> tasks = new ArrayList<>();
        List<Event> sent = new ArrayList<>();
        Map<String, Integer> outcomes = new TreeMap<>();
        try {
            for (int i = 0; i < requests; i++) {
                if (tasks.isEmpty() || random.nextInt(12) == 0) {
                    long id = tasks.size() + 1L;
                    long workflow = 1 + id % 5;
                    HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create(base
                            + "/v1/task-instances")).POST(HttpRequest.BodyPublishers.ofString("{\"id\":" + id
                            + ",\"workflowInstanceId\":" + workflow + ",\"name\":\"t" + id + "\"}")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertEquals(201, created.statusCode(), created.body());
                    model.put(id, Row.submitted(workflow));
                    tasks.add(id);
                }
                // Mostly the newest tasks, so that work goes on while old tasks are finished.
                long task = tasks.get(Math.max(0, tasks.size() - 1 - random.nextInt(Math.min(tasks.size(), 6))));
                long workflow = model.get(task).workflow;
                List<Event> events = new ArrayList<>();
                int n = 1 + (random.nextInt(4) == 0 ? random.nextInt(4) : 0);
                for (int k = 0; k < n; k++) {
                    int kind = random.nextInt(20);
                    Event e;
                    if (kind < 5 && !sent.isEmpty()) {
                        e = sent.get(Math.max(0, sent.size() - 1 - random.nextInt(Math.min(sent.size(), 10))));
                    } else if (kind == 5) {
                        e = generate(random, 10_000 + random.nextInt(10), workflow);
                    } else if (kind == 6) {
                        e = generate(random, task, workflow + 100);
                    } else {
                        e = generate(random, task, workflow);
                    }
                    events.add(e);
                }
                boolean broken = random.nextInt(10) == 0;
                String body = broken ? invalid(random, events.getFirst())
                        : events.size() == 1 ? events.getFirst().json()
                        : "[" + String.join(",", events.stream().map(Event::json).toList()) + "]";
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/events"))
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (broken) {
                    assertEquals(400, response.statusCode(), "request " + i + " " + body + ": " + response.body());
                    outcomes.merge("400", 1, Integer::sum);
                } else {
                    assertEquals(200, response.statusCode(), "request " + i + " " + body + ": " + response.body());
                    JsonNode acks = mapper.readTree(response.body()).get("acks");
                    assertEquals(events.size(), acks.size(), response.body());
                    // One request's events are applied in order (one workflow per request, or
                    // events of other workflows, which the model keeps apart by task).
                    for (int k = 0; k < events.size(); k++) {
                        Event e = events.get(k);
                        String expected = apply(model, e);
                        JsonNode ack = acks.get(k);
                        String actual = ack.get("outcome").asText()
                                + (ack.has("reason") ? " " + ack.get("reason").asText() : "");
                        assertEquals(expected, actual, "request " + i + " event " + k + " " + e.json()
                                + " against " + model.get(e.task));
                        outcomes.merge(expected.split(" ")[0], 1, Integer::sum);
                        sent.add(e);
                    }
                }
                for (Event e : events) {
                    if (model.containsKey(e.task)) {
                        assertEquals(model.get(e.task), read(http, base, e.task), "task " + e.task + " after request "
                                + i + ": " + body);
                    }
                }
            }
            for (long task : tasks) {
                assertEquals(model.get(task), read(http, base, task), "task " + task + " at the end");
            }
            long finished = model.values().stream().filter(Row::finished).count();
            System.out.printf("RELIABILITY serve-model-fuzz: requests=%d tasks=%d finished=%d outcomes=%s%n", requests,
                    tasks.size(), finished, outcomes);
            for (String outcome : List.of("APPLIED", "DUPLICATE", "STALE", "REJECTED", "400")) {
                assertTrue(outcomes.getOrDefault(outcome, 0) >= requests / 100, "too few " + outcome + ": " + outcomes);
            }
        } finally {
            server.stop(Duration.ZERO);
            engine.close();
        }
    }

    private Row read(HttpClient http, String base, long task) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/task-instances/"
                + task)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode(), response.body());
        JsonNode row = mapper.readTree(response.body());
        return new Row(row.get("workflowInstanceId").asLong(), text(row, "state"), text(row, "host"),
                text(row, "logPath"), text(row, "executePath"), row.get("processId").asInt(), text(row, "appIds"),
                text(row, "startTime"), text(row, "endTime"), text(row, "varPool"), text(row, "finishEventId"),
                row.get("version").asLong());
    }

    private static String text(JsonNode row, String field) {
        JsonNode value = row.get(field);
        return value == null || value.isNull() ? null : value.asText();
    }
}
