package dev.taskevents.engine.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A snapshot weighs 64 bytes plus, per row, 160 bytes and two bytes per character of its text
 * fields: the cache's memory bound relies on a large var pool weighing what it holds.
 */
class SnapshotWeightTest {
    private static final Instant T = Instant.parse("2026-05-01T10:00:00Z");

    @Test
    void everyTextFieldCountsTwoBytesPerCharacter() {
        // name 4, host 2, logPath 3, executePath 5, appIds 6, varPool 1000, finishEventId 7, lastEventId 8
        TaskInstance row = new TaskInstance(1, 9, "load", TaskState.SUCCESS, "w1", "/lg", "/exec", 0, "app-12",
                T, T, "v".repeat(1000), "fin-123", "last-123", 3, T);
        WorkflowSnapshot snapshot = new WorkflowSnapshot(9, List.of(row, TaskInstance.submitted(2, 9, "ab", T)));
        assertEquals(64 + 160 + 2 * (4 + 2 + 3 + 5 + 6 + 1000 + 7 + 8) + 160 + 2 * 2, snapshot.weight());
        assertEquals(9, snapshot.workflowInstanceId());
    }

    @Test
    void aSnapshotHoldsOnlyItsOwnWorkflowsRows() {
        WorkflowSnapshot snapshot = new WorkflowSnapshot(9, List.of(TaskInstance.submitted(2, 9, "ab", T)));
        assertEquals("task instance 3 belongs to workflow instance 8, not 9", assertThrows(IllegalArgumentException.class,
                () -> snapshot.put(TaskInstance.submitted(3, 8, "x", T))).getMessage());
        snapshot.remove(2);
        assertNull(snapshot.get(2));
        assertEquals(64, snapshot.weight());
    }
}
