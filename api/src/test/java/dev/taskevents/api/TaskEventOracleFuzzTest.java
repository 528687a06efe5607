package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Random {@link TaskEvent} inputs judged by an oracle written from the rules in TaskEvent's
 * javadoc, not by the constructor's own code ({@link TaskEventType#allowsTarget} and the
 * {@code Fields} checks are not called): each input is valid, and then the event keeps every
 * field as given, or it is refused naming the first invalid field in declaration order. Each
 * field is valid with a high probability, so about a fifth of the inputs are valid events and
 * every rule is also broken alone, NUL in each text field included ({@code TaskEventFuzzTest}
 * made 665 valid events of 100,000 and checked them against {@code allowsTarget} only). Seeded;
 * {@code -Dtaskevents.reliability.fuzz=N} runs N inputs.
 */
class TaskEventOracleFuzzTest {
    private static final Instant MIN = Instant.parse("1000-01-01T00:00:00Z");
    private static final Instant MAX = Instant.parse("9999-12-31T23:59:59.999999Z");

    /** The inputs of one construction. */
    private record Input(String eventId, TaskEventType type, long workflowInstanceId, long taskInstanceId,
                         TaskState state, Instant eventTime, String host, String logPath, String executePath,
                         int processId, String appIds, String varPool, Instant startTime, Instant endTime) {}

    @Test
    void everyInputIsRefusedExactlyWhenTheOracleFindsAFaultNamingItOrKeptWhole() {
        int inputs = Integer.getInteger("taskevents.reliability.fuzz", 100_000);
        Random random = new Random(20261127);
        Map<String, Integer> refusedBy = new TreeMap<>();
        int valid = 0;
        for (int i = 0; i < inputs; i++) {
            Input in = generate(random);
            String fault = firstFault(in);
            TaskEvent event = null;
            String message = null;
            try {
                event = new TaskEvent(in.eventId, in.type, in.workflowInstanceId, in.taskInstanceId, in.state,
                        in.eventTime, in.host, in.logPath, in.executePath, in.processId, in.appIds, in.varPool,
                        in.startTime, in.endTime);
            } catch (IllegalArgumentException e) {
                message = e.getMessage();
            }
            if (fault == null) {
                assertNotNull(event, () -> "input " + in + " is valid by the rules, yet refused");
                assertEquals(in, new Input(event.eventId(), event.type(), event.workflowInstanceId(),
                        event.taskInstanceId(), event.state(), event.eventTime(), event.host(), event.logPath(),
                        event.executePath(), event.processId(), event.appIds(), event.varPool(), event.startTime(),
                        event.endTime()), "a valid event keeps every field as given");
                valid++;
            } else {
                if (message == null) {
                    fail("input " + printable(in.toString()) + " breaks the rule on " + fault + ", yet was accepted");
                }
                assertTrue(message.startsWith(fault + " "), "expected a refusal naming " + fault + " for "
                        + printable(in.toString()) + ", got: " + message);
                refusedBy.merge(fault, 1, Integer::sum);
            }
        }
        System.out.printf("RELIABILITY taskevent-oracle-fuzz: inputs=%d valid=%d refused-by-field=%s%n", inputs,
                valid, refusedBy);
        assertTrue(valid > inputs / 10, "the generator must make many valid events, made " + valid);
        for (String field : new String[] {"eventId", "type", "workflowInstanceId", "taskInstanceId", "state",
                "eventTime", "host", "logPath", "executePath", "processId", "appIds", "varPool", "startTime",
                "endTime"}) {
            assertTrue(refusedBy.getOrDefault(field, 0) > 0, "no input broke a rule on " + field + ": " + refusedBy);
        }
    }

    /**
     * The first field, in the record's order, whose rule {@code in} breaks, or null if it breaks
     * none. Written from TaskEvent's javadoc; RESULT's missing endTime is named where the host
     * rule is checked, startTime/endTime order last (the constructor checks in that order).
     */
    private static String firstFault(Input in) {
        if (!text(in.eventId, true, 128)) {
            return "eventId";
        }
        if (in.type == null) {
            return "type";
        }
        if (in.workflowInstanceId <= 0) {
            return "workflowInstanceId";
        }
        if (in.taskInstanceId <= 0) {
            return "taskInstanceId";
        }
        if (in.state == null || !fits(in.type, in.state)) {
            return "state";
        }
        if (in.eventTime == null || !inRange(in.eventTime)) {
            return "eventTime";
        }
        if (in.startTime != null && !inRange(in.startTime)) {
            return "startTime";
        }
        if (in.endTime != null && !inRange(in.endTime)) {
            return "endTime";
        }
        boolean result = in.type == TaskEventType.RESULT;
        if (!text(in.host, !result, 255)) {
            return "host";
        }
        if (result && in.endTime == null) {
            return "endTime";
        }
        if ((in.type == TaskEventType.RUNNING || in.type == TaskEventType.DELAY) && in.startTime == null) {
            return "startTime";
        }
        if (!text(in.logPath, false, 4096)) {
            return "logPath";
        }
        if (!text(in.executePath, false, 4096)) {
            return "executePath";
        }
        if (in.processId < 0) {
            return "processId";
        }
        if (!text(in.appIds, false, 4096)) {
            return "appIds";
        }
        if (!text(in.varPool, false, Integer.MAX_VALUE)) {
            return "varPool";
        }
        if (in.startTime != null && in.endTime != null && in.endTime.isBefore(in.startTime)) {
            return "endTime";
        }
        return null;
    }

    /** The state table of DESIGN.md and TaskEvent's javadoc, spelled out. */
    private static boolean fits(TaskEventType type, TaskState state) {
        return switch (type) {
            case DISPATCH -> state == TaskState.DISPATCHED;
            case RUNNING -> state == TaskState.RUNNING;
            case DELAY -> state == TaskState.DELAYED;
            case RESULT -> state == TaskState.SUCCESS || state == TaskState.FAILURE || state == TaskState.KILLED
                    || state == TaskState.PAUSED;
        };
    }

    private static boolean inRange(Instant t) {
        return t.compareTo(MIN) >= 0 && t.compareTo(MAX) <= 0;
    }

    /**
     * Unicode text without NUL, within {@code max} characters, present and not all white space if
     * {@code required}. Unicode text: exactly what a strict UTF-8 encoder can encode (it refuses
     * unpaired surrogates).
     */
    private static boolean text(String s, boolean required, int max) {
        if (s == null) {
            return !required;
        }
        if (required && s.chars().allMatch(Character::isWhitespace)) {
            return false;
        }
        return s.length() <= max && s.indexOf('\0') < 0 && StandardCharsets.UTF_8.newEncoder().canEncode(s);
    }

    private static Input generate(Random r) {
        TaskEventType type = r.nextInt(60) == 0 ? null : TaskEventType.values()[r.nextInt(4)];
        TaskState state;
        if (r.nextInt(30) == 0) {
            state = r.nextBoolean() ? null : TaskState.values()[r.nextInt(TaskState.values().length)];
        } else {
            state = type == null ? TaskState.RUNNING : switch (type) {
                case DISPATCH -> TaskState.DISPATCHED;
                case RUNNING -> TaskState.RUNNING;
                case DELAY -> TaskState.DELAYED;
                case RESULT -> new TaskState[] {TaskState.SUCCESS, TaskState.FAILURE, TaskState.KILLED,
                        TaskState.PAUSED}[r.nextInt(4)];
            };
        }
        boolean needsStart = type == TaskEventType.RUNNING || type == TaskEventType.DELAY;
        Instant start = needsStart || r.nextBoolean() ? time(r) : null;
        Instant end = type == TaskEventType.RESULT || r.nextBoolean() ? time(r) : null;
        if (start != null && end != null && end.isBefore(start) && r.nextInt(40) != 0) {
            Instant swap = start;
            start = end;
            end = swap;
        }
        return new Input(text(r, true, 128, "e"), type, id(r), id(r), state, r.nextInt(40) == 0 ? null : time(r),
                type != TaskEventType.RESULT || r.nextBoolean() ? text(r, true, 255, "w") : text(r, false, 255, "w"),
                text(r, false, 4096, "/log/"), text(r, false, 4096, "/exec/"),
                r.nextInt(40) == 0 ? -1 - r.nextInt(1000) : r.nextInt(3) == 0 ? 0 : 1 + r.nextInt(100_000),
                text(r, false, 4096, "application_"), text(r, false, -1, "{\"k\":"), start, end);
    }

    /** Usually a valid value; one in 30 times a value that breaks the field's rule or sits at its edge. */
    private static String text(Random r, boolean required, int max, String prefix) {
        if (r.nextInt(30) != 0) {
            return !required && r.nextInt(4) == 0 ? null : prefix + r.nextInt(1000);
        }
        return switch (r.nextInt(max > 0 ? 12 : 9)) {
            case 0 -> null;
            case 1 -> "";
            case 2 -> " \t\n";
            case 3 -> "\0";
            case 4 -> prefix + "\0" + r.nextInt(10);
            case 5 -> prefix + r.nextInt(10) + "\0";
            case 6 -> prefix + "\ud800";
            case 7 -> "\udc00" + prefix;
            case 8 -> prefix + "😀 ünï '; DROP TABLE task_instance; --";
            case 9 -> "x".repeat(max);
            case 10 -> "x".repeat(max + 1);
            default -> "\0".repeat(max + 1);
        };
    }

    private static long id(Random r) {
        return switch (r.nextInt(40)) {
            case 0 -> 0;
            case 1 -> -1 - r.nextInt(1000);
            case 2 -> Long.MIN_VALUE;
            case 3 -> Long.MAX_VALUE;
            default -> 1 + r.nextInt(1000);
        };
    }

    private static Instant time(Random r) {
        return switch (r.nextInt(40)) {
            case 0 -> MIN;
            case 1 -> MAX;
            case 2 -> MIN.minusNanos(1);
            case 3 -> MAX.plusNanos(1);
            case 4 -> Instant.parse("+300000-01-01T00:00:00Z");
            default -> Instant.ofEpochSecond(1_700_000_000L + r.nextInt(1000), r.nextInt(1_000_000) * 1000L);
        };
    }

    private static String printable(String s) {
        String cut = s.length() > 400 ? s.substring(0, 400) + "…" : s;
        return cut.replace("\0", "\\0");
    }
}
