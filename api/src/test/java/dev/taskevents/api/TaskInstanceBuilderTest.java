package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/** {@link TaskInstance#toBuilder()}: a copy whose fields change by name, checked as the constructor checks them. */
class TaskInstanceBuilderTest {
    private static final Instant T = Instant.parse("2026-03-04T05:06:07Z");

    @Test
    void aBuilderKeepsEveryFieldItIsNotToldToChange() {
        TaskInstance full = new TaskInstance(1, 2, "n", TaskState.RUNNING, "h", "l", "e", 3, "a", T, T.plusSeconds(1),
                "v", "f", "x", 4, T.plusSeconds(2));
        assertEquals(full, full.toBuilder().build());
        TaskInstance changed = full.toBuilder().state(TaskState.SUCCESS).varPool("w").version(5).build();
        assertEquals(new TaskInstance(1, 2, "n", TaskState.SUCCESS, "h", "l", "e", 3, "a", T, T.plusSeconds(1),
                "w", "f", "x", 5, T.plusSeconds(2)), changed);
    }

    @Test
    void aBuiltInstanceIsCheckedAsTheConstructorChecksIt() {
        TaskInstance.Builder b = TaskInstance.submitted(1, 2, "n", T).toBuilder().version(-1);
        assertEquals("version must be 0 or positive, was -1",
                assertThrows(IllegalArgumentException.class, b::build).getMessage());
    }
}
