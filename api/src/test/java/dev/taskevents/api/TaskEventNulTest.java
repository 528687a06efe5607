package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * NUL (U+0000) in any text field of a {@link TaskEvent} is refused, naming the field and the
 * index, for every event type: PostgreSQL cannot store it in a text column, and one such event
 * would fail the whole batch it is written in. The optional fields (logPath,
 * executePath, appIds, a RESULT's host) go through another check than the required ones, so each
 * is tried on its own, at the start, the middle and the end of the value.
 */
class TaskEventNulTest {
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

    /** A valid event of {@code type} with {@code field} set to {@code value}, every other field valid. */
    private static TaskEvent event(TaskEventType type, String field, String value) {
        TaskEvent.Builder b = TaskEvent.builder(field.equals("eventId") ? value : "e1", type, 10, 20).eventTime(T)
                .host("w1").startTime(T).logPath("/log").executePath("/exec").appIds("app_1").varPool("{}");
        if (type == TaskEventType.RESULT) {
            b.state(TaskState.SUCCESS).endTime(T);
        }
        Map<String, BiFunction<TaskEvent.Builder, String, TaskEvent.Builder>> setters = Map.of(
                "eventId", (x, v) -> x,
                "host", TaskEvent.Builder::host,
                "logPath", TaskEvent.Builder::logPath,
                "executePath", TaskEvent.Builder::executePath,
                "appIds", TaskEvent.Builder::appIds,
                "varPool", TaskEvent.Builder::varPool);
        return setters.get(field).apply(b, value).build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"eventId", "host", "logPath", "executePath", "appIds", "varPool"})
    void nulIsRefusedInEveryTextFieldOfEveryEventType(String field) {
        for (TaskEventType type : TaskEventType.values()) {
            // The same values without NUL make a valid event: the refusal is the NUL's alone.
            for (String clean : List.of("ab", "a")) {
                assertEquals(clean, text(event(type, field, clean), field), type + " " + field);
            }
            for (String value : List.of("\0ab", "a\0b", "ab\0")) {
                int at = value.indexOf('\0');
                String message = assertThrows(IllegalArgumentException.class, () -> event(type, field, value),
                        type + " event accepted a NUL in " + field).getMessage();
                assertTrue(message.startsWith(field + " contains a NUL character (U+0000) at index " + at + ","),
                        type + " " + field + ": " + message);
                assertTrue(message.indexOf('\0') < 0, "the message is NUL-free text: " + message);
            }
        }
    }

    /** A RESULT may leave its host out; one it gives is still checked. */
    @ParameterizedTest
    @ValueSource(strings = {"host", "logPath", "executePath", "appIds", "varPool"})
    void anOptionalFieldLeftOutIsNullAndOneGivenIsChecked(String field) {
        TaskEvent result = event(TaskEventType.RESULT, field, null);
        assertEquals(null, text(result, field));
        assertThrows(IllegalArgumentException.class, () -> event(TaskEventType.RESULT, field, "\0"));
    }

    private static String text(TaskEvent e, String field) {
        return switch (field) {
            case "eventId" -> e.eventId();
            case "host" -> e.host();
            case "logPath" -> e.logPath();
            case "executePath" -> e.executePath();
            case "appIds" -> e.appIds();
            case "varPool" -> e.varPool();
            default -> throw new IllegalArgumentException(field);
        };
    }
}
