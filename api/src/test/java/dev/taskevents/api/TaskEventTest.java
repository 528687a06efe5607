package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class TaskEventTest {
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

    private static TaskEvent.Builder running() {
        return TaskEvent.builder("e1", TaskEventType.RUNNING, 10, 20).eventTime(T).host("w1").startTime(T);
    }

    private static String error(UnaryOperator<TaskEvent.Builder> change) {
        return assertThrows(IllegalArgumentException.class, () -> change.apply(running()).build()).getMessage();
    }

    @Test
    void aValidEventKeepsEveryField() {
        TaskEvent e = running().logPath("/l").executePath("/x").processId(7).appIds("a").varPool("v").build();
        assertEquals(TaskState.RUNNING, e.state());
        assertEquals(7, e.processId());
        assertEquals("v", e.varPool());
    }

    @Test
    void missingOrInvalidIdsAreNamedWithTheirValue() {
        assertEquals("eventId is required, was null",
                assertThrows(IllegalArgumentException.class,
                        () -> TaskEvent.builder(null, TaskEventType.RUNNING, 1, 1).build()).getMessage());
        assertEquals("eventId must not be blank, was \" \"",
                assertThrows(IllegalArgumentException.class,
                        () -> TaskEvent.builder(" ", TaskEventType.RUNNING, 1, 1).build()).getMessage());
        assertEquals("workflowInstanceId must be positive, was 0",
                assertThrows(IllegalArgumentException.class,
                        () -> TaskEvent.builder("e", TaskEventType.RUNNING, 0, 1).build()).getMessage());
        assertEquals("taskInstanceId must be positive, was -3",
                assertThrows(IllegalArgumentException.class,
                        () -> TaskEvent.builder("e", TaskEventType.RUNNING, 1, -3).build()).getMessage());
    }

    @Test
    void stateMustFitTheType() {
        assertEquals("state SUCCESS does not fit a RUNNING event: RUNNING carries RUNNING",
                error(b -> b.state(TaskState.SUCCESS)));
        String result = assertThrows(IllegalArgumentException.class, () -> TaskEvent.builder("e", TaskEventType.RESULT, 1, 1)
                .eventTime(T).state(TaskState.RUNNING).endTime(T).build()).getMessage();
        assertEquals("state RUNNING does not fit a RESULT event: RESULT carries a finished state"
                + " (SUCCESS, FAILURE, KILLED, PAUSED)", result);
        assertEquals("state is required, was null", assertThrows(IllegalArgumentException.class,
                () -> TaskEvent.builder("e", TaskEventType.RESULT, 1, 1).eventTime(T).endTime(T).build()).getMessage());
    }

    @Test
    void perTypeRequiredFields() {
        assertEquals("host is required, was null", error(b -> b.host(null)));
        assertEquals("startTime is required for a RUNNING event, was null", error(b -> b.startTime(null)));
        assertEquals("eventTime is required, was null", error(b -> b.eventTime(null)));
        assertEquals("endTime is required for a RESULT event, was null", assertThrows(IllegalArgumentException.class,
                () -> TaskEvent.builder("e", TaskEventType.RESULT, 1, 1).eventTime(T).state(TaskState.SUCCESS).build())
                .getMessage());
        // DISPATCH needs a host but no start time; RESULT needs no host.
        TaskEvent.dispatch("d", 1, 1, T, "w1");
        TaskEvent.builder("r", TaskEventType.RESULT, 1, 1).eventTime(T).state(TaskState.FAILURE).endTime(T).build();
    }

    @Test
    void negativePidEndBeforeStartNulAndOverlongStringsAreRefused() {
        assertEquals("processId must be 0 (not reported) or positive, was -1", error(b -> b.processId(-1)));
        assertEquals("endTime 2025-12-31T23:59:59Z is before startTime 2026-01-01T00:00:00Z",
                error(b -> b.endTime(T.minusSeconds(1))));
        assertEquals("varPool contains a NUL character (U+0000) at index 1, which no store accepts: \"a\\0b\"",
                error(b -> b.varPool("a\0b")));
        String longHost = "h".repeat(256);
        assertEquals("host is 256 characters long, the limit is 255: \"" + "h".repeat(60) + "…\"",
                error(b -> b.host(longHost)));
    }

    @Test
    void taskInstanceValidatesToo() {
        assertEquals("name must not be blank, was \"\"", assertThrows(IllegalArgumentException.class,
                () -> TaskInstance.submitted(1, 1, "", T)).getMessage());
        assertEquals("id must be positive, was 0", assertThrows(IllegalArgumentException.class,
                () -> TaskInstance.submitted(0, 1, "n", T)).getMessage());
    }
}
