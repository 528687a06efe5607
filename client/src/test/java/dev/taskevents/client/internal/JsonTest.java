package dev.taskevents.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import dev.taskevents.client.Ack;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The client's JSON codec and serve's wire format, field by field, and fuzzed. */
class JsonTest {
    @Test
    void servesAnswersAsJsonCodecWritesThemAreReadFieldByField() {
        // Copied from the shapes JsonCodec.writeAck and EventServer.postEvents write.
        String body = "{\"acks\":[{\"eventId\":\"a\",\"outcome\":\"APPLIED\",\"state\":\"RUNNING\",\"version\":3},"
                + "{\"eventId\":\"b\",\"outcome\":\"DUPLICATE\",\"state\":\"SUCCESS\"},"
                + "{\"eventId\":\"c\",\"outcome\":\"STALE\",\"state\":\"FAILURE\"},"
                + "{\"eventId\":\"d\",\"outcome\":\"REJECTED\",\"reason\":\"UNKNOWN_TASK_INSTANCE\",\"message\":\"no task 7\"},"
                + "{\"eventId\":\"e\",\"outcome\":\"MOVED\",\"shard\":17,\"owner\":\"http://10.0.0.2:8080\"},"
                + "{\"eventId\":\"f\",\"outcome\":\"MOVED\",\"shard\":3,\"owner\":null},"
                + "{\"eventId\":\"g\",\"outcome\":\"NOT_APPLIED\",\"message\":\"not applied (error 1f): resend it\"}],"
                + "\"error\":\"some events were not applied: resend them\"}";
        assertEquals(List.of(
                new Wire.Final(new Ack.Applied("a", TaskState.RUNNING, 3)),
                new Wire.Final(new Ack.Duplicate("b", TaskState.SUCCESS)),
                new Wire.Final(new Ack.Stale("c", TaskState.FAILURE)),
                new Wire.Final(new Ack.Rejected("d", Acknowledgement.Rejected.Reason.UNKNOWN_TASK_INSTANCE, "no task 7")),
                new Wire.Moved("e", 17, "http://10.0.0.2:8080"),
                new Wire.Moved("f", 3, null),
                new Wire.NotApplied("g", "not applied (error 1f): resend it")), Wire.acks(Json.parse(body)));
        assertEquals("some events were not applied: resend them", Wire.error(body));
        assertEquals(List.of(new Wire.Moved("e1", 17, "http://10.0.0.2:8080")), Wire.moved(Json.parse(
                "{\"error\":\"this node does not own shard 17\",\"moved\":[{\"eventId\":\"e1\",\"shard\":17,"
                        + "\"owner\":\"http://10.0.0.2:8080\"}]}")));
        Json.Malformed e = assertThrows(Json.Malformed.class, () -> Wire.acks(Json.parse(
                "{\"acks\":[{\"eventId\":\"a\",\"outcome\":\"LOST\"}]}")));
        assertTrue(e.getMessage().contains("LOST"), e.getMessage());
        assertEquals("<html>busy</html>", Wire.error("<html>busy</html>"));
    }

    @Test
    void aFeedPageAsThePlanDescribesIt() {
        Wire.Page page = Wire.page(Json.parse("{\"events\":[{\"cursor\":\"te1.AAAAAAAAAAEAAAAAAAAAKg\","
                + "\"workflowInstanceId\":7,\"taskInstanceId\":71,\"eventType\":\"RESULT\",\"state\":\"SUCCESS\","
                + "\"eventId\":\"w7-t71-r\",\"version\":3,\"committedAt\":\"2026-11-27T09:00:00.123456Z\"}],"
                + "\"next\":\"te1.AAAAAAAAAAEAAAAAAAAAKg\",\"behind\":12}"), "te1.before");
        assertEquals(new dev.taskevents.api.StateEvent(7, 71, TaskEventType.RESULT, TaskState.SUCCESS, "w7-t71-r", 3,
                Instant.parse("2026-11-27T09:00:00.123456Z")), page.events().getFirst().event());
        assertEquals("te1.AAAAAAAAAAEAAAAAAAAAKg", page.events().getFirst().cursor());
        assertEquals(12, page.behind());
        assertEquals("te1.before", Wire.page(Json.parse("{\"events\":[]}"), "te1.before").next());
    }

    @Test
    void eventsAreWrittenWithServesFieldNamesAndReadBackExactly() {
        Instant t = Instant.parse("2026-11-27T09:00:00.000001Z");
        TaskEvent full = TaskEvent.builder("id \"1\"\n", TaskEventType.RESULT, 7, 71).state(TaskState.FAILURE)
                .eventTime(t).host("h:1").logPath("/l\\og").executePath("/x").processId(42).appIds("app_1")
                .varPool("{\"k\":\"\u00fc\ud83d\ude00\u0001\"}").startTime(t).endTime(t.plusSeconds(1)).build();
        TaskEvent minimal = TaskEvent.dispatch("d", 1, 2, t, "w:1");
        List<?> read = (List<?>) Json.parse(Wire.events(List.of(full, minimal)));
        Map<String, Object> expected = new LinkedHashMap<>();
        expected.put("eventId", "id \"1\"\n");
        expected.put("type", "RESULT");
        expected.put("workflowInstanceId", 7L);
        expected.put("taskInstanceId", 71L);
        expected.put("state", "FAILURE");
        expected.put("eventTime", "2026-11-27T09:00:00.000001Z");
        expected.put("host", "h:1");
        expected.put("logPath", "/l\\og");
        expected.put("executePath", "/x");
        expected.put("processId", 42L);
        expected.put("appIds", "app_1");
        expected.put("varPool", "{\"k\":\"\u00fc\ud83d\ude00\u0001\"}");
        expected.put("startTime", "2026-11-27T09:00:00.000001Z");
        expected.put("endTime", "2026-11-27T09:00:01.000001Z");
        assertEquals(expected, read.get(0));
        assertEquals(Map.of("eventId", "d", "type", "DISPATCH", "workflowInstanceId", 1L, "taskInstanceId", 2L,
                "state", "DISPATCHED", "eventTime", "2026-11-27T09:00:00.000001Z", "host", "w:1"), read.get(1));
    }

    @Test
    void malformedInputIsRefusedWithWhereAndWhat() {
        for (String bad : List.of("", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "\"\\x\"", "\"\u0001\"",
                "01", "-", "1.", "1e", "tru", "nul", "[1] 2", "{\"a\":1,\"a\":2}", "\"\\u12\"", "\"\\u12g4\"",
                "[".repeat(100) + "]".repeat(100), "'a'", "\"abc")) {
            Json.Malformed e = assertThrows(Json.Malformed.class, () -> Json.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("malformed JSON at character "), e.getMessage());
        }
        assertTrue(assertThrows(Json.Malformed.class, () -> Json.parse("{\"a\":1,\"a\":2}")).getMessage()
                .contains("\"a\" is repeated"));
    }

    @Test
    void valuesOfEveryKindParse() {
        assertEquals(List.of(0L, -12L, Long.MAX_VALUE, new BigDecimal("9223372036854775808"), new BigDecimal("1.5e-3"),
                true, false, Json.NULL, "é\ud800/", Map.of()), Json.parse(
                " [0,-12,9223372036854775807,9223372036854775808,1.5e-3,true,false,null,\"\\u00e9\\ud800\\/\",{}] "));
    }

    @Test
    void fuzzRoundTripsOfRandomValues() {
        Random random = new Random(20261127);
        for (int i = 0; i < 5_000; i++) {
            Object value = randomValue(random, 0);
            String text = write(value);
            assertEquals(value, Json.parse(text), text);
        }
    }

    @Test
    void fuzzMutatedTextGivesAValueOrMalformedNeverAnotherException() {
        Random random = new Random(14);
        String alphabet = "{}[]\",:\\u0123456789abcdefEe+-.tnul \t\n\ud800";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder text = new StringBuilder(write(randomValue(random, 0)));
            int edits = 1 + random.nextInt(3);
            for (int e = 0; e < edits && !text.isEmpty(); e++) {
                int at = random.nextInt(text.length());
                switch (random.nextInt(3)) {
                    case 0 -> text.deleteCharAt(at);
                    case 1 -> text.insert(at, alphabet.charAt(random.nextInt(alphabet.length())));
                    default -> text.setCharAt(at, alphabet.charAt(random.nextInt(alphabet.length())));
                }
            }
            try {
                Json.parse(text.toString());
            } catch (Json.Malformed expected) {
                // fine: refused with our message
            }
        }
    }

    private static Object randomValue(Random random, int depth) {
        int kind = random.nextInt(depth > 4 ? 5 : 7);
        return switch (kind) {
            case 0 -> randomString(random);
            case 1 -> random.nextLong();
            case 2 -> random.nextBoolean();
            case 3 -> Json.NULL;
            case 4 -> new BigDecimal(random.nextInt(1000) + "." + random.nextInt(1000) + "e" + (random.nextInt(20) - 10));
            case 5 -> {
                List<Object> list = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    list.add(randomValue(random, depth + 1));
                }
                yield list;
            }
            default -> {
                Map<String, Object> map = new LinkedHashMap<>();
                for (int i = random.nextInt(4); i > 0; i--) {
                    map.put(randomString(random), randomValue(random, depth + 1));
                }
                yield map;
            }
        };
    }

    private static String randomString(Random random) {
        StringBuilder s = new StringBuilder();
        for (int i = random.nextInt(8); i > 0; i--) {
            s.append(switch (random.nextInt(4)) {
                case 0 -> (char) random.nextInt(0x20);
                case 1 -> (char) (0xd800 + random.nextInt(0x800)); // surrogates, paired or not
                case 2 -> "\"\\/".charAt(random.nextInt(3));
                default -> (char) (0x20 + random.nextInt(0x3000));
            });
        }
        return s.toString();
    }

    private static String write(Object value) {
        if (value instanceof String s) {
            return Json.quote(s);
        }
        if (value instanceof List<?> list) {
            StringBuilder out = new StringBuilder("[");
            for (int i = 0; i < list.size(); i++) {
                out.append(i == 0 ? "" : ",").append(write(list.get(i)));
            }
            return out.append(']').toString();
        }
        if (value instanceof Map<?, ?> map) {
            StringBuilder out = new StringBuilder("{");
            for (Map.Entry<?, ?> e : map.entrySet()) {
                out.append(out.length() == 1 ? "" : ",").append(Json.quote((String) e.getKey())).append(':')
                        .append(write(e.getValue()));
            }
            return out.append('}').toString();
        }
        if (value instanceof BigDecimal d) {
            return d.unscaledValue() + "E" + (-d.scale()); // always with an exponent: read back as a BigDecimal
        }
        return value.toString();
    }
}
