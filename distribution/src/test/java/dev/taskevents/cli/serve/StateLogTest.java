package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code serve --state-log}: one JSON line per state event, appended, every field as told. */
class StateLogTest {
    @TempDir
    Path dir;

    @Test
    void appendsOneLinePerEventWithEveryField() throws Exception {
        Path file = dir.resolve("states.jsonl");
        Files.writeString(file, "{\"earlier\":true}\n");
        StateEvent first = new StateEvent(7, 42, TaskEventType.RUNNING, TaskState.RUNNING, "ev-\"1\"\n", 1,
                Instant.parse("2026-11-27T10:00:00.123456Z"));
        StateEvent second = new StateEvent(7, 42, TaskEventType.RESULT, TaskState.FAILURE, "ev-2", 2,
                Instant.parse("2026-11-27T10:00:01Z"));
        try (StateLog log = StateLog.open(file)) {
            log.taskStateChanged(first);
            log.taskStateChanged(second);
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals(3, lines.size(), lines.toString());
        assertEquals("{\"earlier\":true}", lines.get(0), "opened for appending: what was there stays");
        ObjectMapper mapper = new ObjectMapper();
        JsonNode a = mapper.readTree(lines.get(1));
        assertEquals(7, a.get("workflowInstanceId").asLong());
        assertEquals(42, a.get("taskInstanceId").asLong());
        assertEquals("RUNNING", a.get("eventType").asText());
        assertEquals("RUNNING", a.get("state").asText());
        assertEquals("ev-\"1\"\n", a.get("eventId").asText());
        assertEquals(1, a.get("version").asLong());
        assertEquals("2026-11-27T10:00:00.123456Z", a.get("committedAt").asText());
        JsonNode b = mapper.readTree(lines.get(2));
        assertEquals("FAILURE", b.get("state").asText());
        assertEquals("RESULT", b.get("eventType").asText());
        assertEquals(2, b.get("version").asLong());
    }

    @Test
    void aFailedWriteThrowsSoTheEngineKeepsTheChangeInItsOutbox() {
        Path file = dir.resolve("closed.jsonl");
        StateLog log = StateLog.open(file);
        log.close();
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> log.taskStateChanged(
                new StateEvent(1, 2, TaskEventType.RUNNING, TaskState.RUNNING, "e", 1, Instant.EPOCH)));
        assertTrue(e.getMessage().startsWith("cannot append to the state log " + file), e.getMessage());
    }

    @Test
    void aFileThatCannotBeOpenedIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StateLog.open(dir));
        assertTrue(e.getMessage().startsWith("cannot open the state log " + dir + " for appending"), e.getMessage());
    }
}
