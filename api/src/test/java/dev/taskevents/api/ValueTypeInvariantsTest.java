package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/**
 * The rules the API's value types enforce on construction, beyond those of {@link TaskEvent}
 * (TaskEventTest): the rows a store keeps, the events a sink is told, the acknowledgements a
 * worker reads.
 */
class ValueTypeInvariantsTest {
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

    private static TaskInstance row(int processId, long version) {
        return new TaskInstance(1, 2, "t", TaskState.RUNNING, "h", null, null, processId, null,
                null, null, null, null, null, version, T);
    }

    @Test
    void aSubmittedTaskInstanceIsVersionZeroWithNothingButItsIdsNameAndTime() {
        TaskInstance t = TaskInstance.submitted(5, 6, "extract", T);
        assertEquals(new TaskInstance(5, 6, "extract", TaskState.SUBMITTED, null, null, null, 0, null,
                null, null, null, null, null, 0, T), t);
    }

    @Test
    void aTaskInstanceTakesProcessIdAndVersionZeroAndRefusesNegatives() {
        assertEquals(0, row(0, 0).processId());
        assertEquals(0, row(0, 0).version());
        assertEquals("processId must be 0 or positive, was -1",
                assertThrows(IllegalArgumentException.class, () -> row(-1, 0)).getMessage());
        assertEquals("version must be 0 or positive, was -1",
                assertThrows(IllegalArgumentException.class, () -> row(0, -1)).getMessage());
    }

    @Test
    void aStateEventIsOfACommittedChangeVersionOneOrAbove() {
        assertEquals(1, new StateEvent(1, 2, TaskEventType.RUNNING, TaskState.RUNNING, "e", 1, T).version());
        assertEquals("version of a committed change must be at least 1, was 0",
                assertThrows(IllegalArgumentException.class,
                        () -> new StateEvent(1, 2, TaskEventType.RUNNING, TaskState.RUNNING, "e", 0, T)).getMessage());
    }

    @Test
    void onlyRejectedIsUndelivered() {
        assertTrue(new Acknowledgement.Applied("e", row(0, 1)).delivered());
        assertTrue(new Acknowledgement.Duplicate("e", TaskState.RUNNING).delivered());
        assertTrue(new Acknowledgement.Stale("e", TaskState.SUCCESS).delivered());
        assertFalse(new Acknowledgement.Rejected("e", Acknowledgement.Rejected.Reason.UNKNOWN_TASK_INSTANCE, "m")
                .delivered());
    }

    @Test
    void eachEventTypeAllowsExactlyItsTargetStates() {
        for (TaskEventType type : TaskEventType.values()) {
            EnumSet<TaskState> expected = switch (type) {
                case DISPATCH -> EnumSet.of(TaskState.DISPATCHED);
                case RUNNING -> EnumSet.of(TaskState.RUNNING);
                case DELAY -> EnumSet.of(TaskState.DELAYED);
                case RESULT -> EnumSet.of(TaskState.SUCCESS, TaskState.FAILURE, TaskState.KILLED, TaskState.PAUSED);
            };
            for (TaskState state : TaskState.values()) {
                assertEquals(expected.contains(state), type.allowsTarget(state), type + " carrying " + state);
            }
        }
    }

    @Test
    void dispatchBuildsADispatchedEventForTheHost() {
        TaskEvent e = TaskEvent.dispatch("d1", 3, 4, T, "w7");
        assertEquals("d1", e.eventId());
        assertEquals(TaskEventType.DISPATCH, e.type());
        assertEquals(TaskState.DISPATCHED, e.state());
        assertEquals(3, e.workflowInstanceId());
        assertEquals(4, e.taskInstanceId());
        assertEquals(T, e.eventTime());
        assertEquals("w7", e.host());
        assertNull(e.startTime());
    }
}
