package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
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

    @Test
    void timesOutsideTheRangeEveryStoreHoldsAreRefusedNamingTheField() {
        Instant far = Instant.parse("+300000-01-01T00:00:00Z"); // Instant.parse takes it; PostgreSQL does not
        assertEquals("startTime must be between 1000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z (the range"
                + " every store holds), was +300000-01-01T00:00:00Z", error(b -> b.startTime(far)));
        assertTrue(error(b -> b.eventTime(Instant.parse("-1000000000-01-01T00:00:00Z"))).startsWith("eventTime must be"));
        assertTrue(error(b -> b.eventTime(Instant.parse("+1000000000-12-31T23:59:59.999999999Z")))
                .startsWith("eventTime must be"));
        assertTrue(error(b -> b.eventTime(Instant.parse("0999-12-31T23:59:59.999999999Z"))).startsWith("eventTime"));
        assertTrue(error(b -> b.endTime(Instant.parse("9999-12-31T23:59:59.9999991Z"))).startsWith("endTime must be"));
        Instant first = Instant.parse("1000-01-01T00:00:00Z");
        Instant last = Instant.parse("9999-12-31T23:59:59.999999Z");
        running().eventTime(first).startTime(first).build();
        TaskEvent.builder("r", TaskEventType.RESULT, 1, 1).eventTime(last).state(TaskState.SUCCESS)
                .startTime(first).endTime(last).build();
    }

    @Test
    void unpairedSurrogatesAreRefusedInEveryTextFieldPairsAreKept() {
        for (UnaryOperator<TaskEvent.Builder> lone : List.<UnaryOperator<TaskEvent.Builder>>of(
                b -> b.host("w\udc00"), b -> b.logPath("\ud800"), b -> b.executePath("x\ud83d"),
                b -> b.appIds("\udfffa"), b -> b.varPool("{\"k\":\"\udc00\"}"))) {
            String message = error(lone);
            assertTrue(message.contains(" contains an unpaired surrogate (U+D"), message);
            assertFalse(message.chars().anyMatch(c -> Character.isSurrogate((char) c)), "the message is valid text: " + message);
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TaskEvent.builder("e\udc00", TaskEventType.RUNNING,
                1, 1).eventTime(T).host("w").startTime(T).build()).getMessage().startsWith("eventId contains an unpaired"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TaskInstance.submitted(1, 1, "n\ud800", T))
                .getMessage().startsWith("name contains an unpaired surrogate (U+D800) at index 1"));
        assertEquals("v\ud83d\ude00", running().varPool("v\ud83d\ude00").build().varPool(), "a pair is one character");
    }

    @Test
    void aHugeBlankValueIsNotEchoedWhole() {
        String blank = " ".repeat(1_000_000);
        String message = assertThrows(IllegalArgumentException.class,
                () -> TaskEvent.builder(blank, TaskEventType.RUNNING, 1, 1).build()).getMessage();
        assertTrue(message.length() < 120, message.length() + " characters");
    }
}
