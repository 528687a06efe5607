package dev.taskevents.engine.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * DESIGN.md's state-transition table, decided for one stored row and one event at a time: the
 * exact row written for a change, and Duplicate or Stale where nothing may change. The rows and
 * events are written out here, not derived from the rules.
 */
class StateTransitionTableTest {
    private static final Instant T = Instant.parse("2026-05-01T10:00:00Z");
    private static final Instant NOW = Instant.parse("2026-05-01T10:05:00Z");

    private static TaskInstance stored(TaskState state, String host, long version) {
        return new TaskInstance(7, 3, "load", state, host, "/log", "/exec", 11, "app-1", T, null, null, null,
                "prev", version, T);
    }

    private static TaskEvent running(String id, String host) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, 3, 7).eventTime(T).host(host).startTime(T)
                .logPath("/log").executePath("/exec").processId(11).appIds("app-1").build();
    }

    @Test
    void aDispatchOfASubmittedTaskRecordsTheHostAndTheEvent() {
        TaskInstance submitted = TaskInstance.submitted(7, 3, "load", T);
        Decision d = TransitionRules.decide(submitted, TaskEvent.dispatch("d1", 3, 7, T, "w1"), NOW);
        assertEquals(new Decision.Change(new TaskInstance(7, 3, "load", TaskState.DISPATCHED, "w1", null, null, 0,
                null, null, null, null, null, "d1", 1, NOW)), d);
    }

    @Test
    void aDispatchResentToTheSameHostIsADuplicateToAnotherHostStale() {
        TaskInstance dispatched = stored(TaskState.DISPATCHED, "w1", 1);
        assertInstanceOf(Decision.Duplicate.class,
                TransitionRules.decide(dispatched, TaskEvent.dispatch("d1", 3, 7, T, "w1"), NOW));
        assertInstanceOf(Decision.Stale.class,
                TransitionRules.decide(dispatched, TaskEvent.dispatch("d2", 3, 7, T, "w2"), NOW));
        assertInstanceOf(Decision.Stale.class,
                TransitionRules.decide(stored(TaskState.RUNNING, "w1", 2), TaskEvent.dispatch("d1", 3, 7, T, "w1"), NOW));
    }

    @Test
    void aRunningResentUnchangedIsADuplicateFromANewHostAChange() {
        TaskInstance run = stored(TaskState.RUNNING, "w1", 2);
        assertInstanceOf(Decision.Duplicate.class, TransitionRules.decide(run, running("r1", "w1"), NOW));
        assertEquals(new Decision.Change(new TaskInstance(7, 3, "load", TaskState.RUNNING, "w2", "/log", "/exec", 11,
                        "app-1", T, null, null, null, "r2", 3, NOW)),
                TransitionRules.decide(run, running("r2", "w2"), NOW));
    }

    @Test
    void aRunningOfADispatchedTaskStartsIt() {
        TaskInstance dispatched = stored(TaskState.DISPATCHED, "w1", 1);
        assertEquals(new Decision.Change(new TaskInstance(7, 3, "load", TaskState.RUNNING, "w1", "/log", "/exec", 11,
                        "app-1", T, null, null, null, "r1", 2, NOW)),
                TransitionRules.decide(dispatched, running("r1", "w1"), NOW));
    }

    @Test
    void nothingButTheSameResultChangesAFinishedTask() {
        TaskInstance done = new TaskInstance(7, 3, "load", TaskState.SUCCESS, "w1", "/log", "/exec", 11, "app-1", T,
                T.plusSeconds(9), "out", "fin", "fin", 4, T);
        TaskEvent sameResult = TaskEvent.builder("fin", TaskEventType.RESULT, 3, 7).state(TaskState.SUCCESS)
                .eventTime(T).endTime(T.plusSeconds(9)).build();
        TaskEvent otherResult = TaskEvent.builder("fin2", TaskEventType.RESULT, 3, 7).state(TaskState.FAILURE)
                .eventTime(T).endTime(T.plusSeconds(9)).build();
        assertInstanceOf(Decision.Duplicate.class, TransitionRules.decide(done, sameResult, NOW));
        assertInstanceOf(Decision.Stale.class, TransitionRules.decide(done, otherResult, NOW));
        assertInstanceOf(Decision.Stale.class, TransitionRules.decide(done, running("r9", "w1"), NOW));
        assertInstanceOf(Decision.Stale.class, TransitionRules.decide(done, TaskEvent.dispatch("d9", 3, 7, T, "w1"), NOW));
    }
}
