package dev.taskevents.storage.jdbc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OutboxTableTest {
    private static final Instant T = Instant.parse("2026-01-02T03:04:05.123456Z");

    @Test
    void eventIdsWithSeparatorsAndEscapesSurviveTheRoundTrip() {
        List<StateEvent> events = new ArrayList<>();
        String[] ids = {"plain", "tab\there", "new\nline", "cr\rx", "back\\slash", "\\t literal", "\\", "ü ✓ 名前 😀",
                "trailing\\", "a\tb\nc\\d\re"};
        long task = 1;
        for (String id : ids) {
            events.add(new StateEvent(7, task++, TaskEventType.RESULT, TaskState.FAILURE, id, 3, T));
        }
        events.add(new StateEvent(Long.MAX_VALUE, Long.MAX_VALUE, TaskEventType.DELAY, TaskState.DELAYED, "x",
                Long.MAX_VALUE, Instant.parse("9999-12-31T23:59:59.999999Z")));
        assertEquals(events, OutboxTable.decode(OutboxTable.encode(events)));
        assertEquals(List.of(), OutboxTable.decode(OutboxTable.encode(List.of())));
    }

    @Test
    void randomEventIdsSurviveTheRoundTrip() {
        Random random = new Random(1);
        String alphabet = "ab\\\t\n\r \u00e9\u540d";
        for (int round = 0; round < 2_000; round++) {
            StringBuilder id = new StringBuilder();
            for (int i = 1 + random.nextInt(20); i > 0; i--) {
                id.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            List<StateEvent> events = List.of(new StateEvent(1, 2, TaskEventType.RUNNING, TaskState.RUNNING,
                    id.toString(), 1, T));
            assertEquals(events, OutboxTable.decode(OutboxTable.encode(events)), id.toString());
        }
    }

    @Test
    void aCutRowIsRefusedNotMisread() {
        String text = OutboxTable.encode(List.of(new StateEvent(1, 2, TaskEventType.RUNNING, TaskState.RUNNING,
                "e", 1, T)));
        assertThrows(IllegalStateException.class, () -> OutboxTable.decode(text.substring(0, text.length() - 1)));
        assertThrows(IllegalStateException.class, () -> OutboxTable.decode("1\t2\n"));
    }
}
