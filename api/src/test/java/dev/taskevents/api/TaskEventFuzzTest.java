package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random field values for TaskEvent: construction either gives a valid event or fails with an
 * IllegalArgumentException whose message names a field. Never another exception type, never a
 * message that names nothing. Seeded; {@code -Dtaskevents.reliability.fuzz=N} runs N inputs.
 */
class TaskEventFuzzTest {
    private static final List<String> FIELDS = List.of("eventId", "type", "workflowInstanceId", "taskInstanceId",
            "state", "eventTime", "host", "logPath", "executePath", "processId", "appIds", "varPool", "startTime",
            "endTime");
    private static final String[] NASTY = {null, "", " ", "'; DROP TABLE task_instance; --", "$(rm -rf /)", "`id`",
            "a\0b", "ünï 😀", "\\\"", "x".repeat(300), "x".repeat(5000), "\n\r\t"};

    @Test
    void everyInputIsAValidEventOrANamedRefusal() {
        int inputs = Integer.getInteger("taskevents.reliability.fuzz", 100_000);
        Random random = new Random(20261124);
        int valid = 0;
        int refused = 0;
        for (int i = 0; i < inputs; i++) {
            try {
                TaskEvent event = new TaskEvent(text(random), pick(random, TaskEventType.values()), number(random),
                        number(random), pick(random, TaskState.values()), time(random), text(random), text(random),
                        text(random), (int) number(random), text(random), text(random), time(random), time(random));
                assertTrue(event.type().allowsTarget(event.state()));
                valid++;
            } catch (IllegalArgumentException e) {
                String message = e.getMessage();
                assertTrue(FIELDS.stream().anyMatch(message::startsWith), "message names no field: " + message);
                refused++;
            }
        }
        System.out.printf("RELIABILITY taskevent-fuzz: inputs=%d valid=%d refused-with-field=%d other=0%n", inputs,
                valid, refused);
        assertEquals(inputs, valid + refused);
        assertTrue(valid > 0 && refused > 0, "the generator must produce both");
    }

    private static <T> T pick(Random random, T[] values) {
        return random.nextInt(10) == 0 ? null : values[random.nextInt(values.length)];
    }

    private static String text(Random random) {
        return random.nextInt(3) == 0 ? NASTY[random.nextInt(NASTY.length)] : "v" + random.nextInt(1000);
    }

    private static long number(Random random) {
        return switch (random.nextInt(6)) {
            case 0 -> 0;
            case 1 -> -random.nextInt(1000);
            case 2 -> Long.MAX_VALUE;
            case 3 -> Long.MIN_VALUE;
            default -> 1 + random.nextInt(1000);
        };
    }

    private static Instant time(Random random) {
        return random.nextInt(5) == 0 ? null : Instant.ofEpochSecond(1_700_000_000L + random.nextInt(1000));
    }
}
