package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.engine.rules.Decision;
import dev.taskevents.engine.rules.TransitionRules;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Resends that differ from the applied event in one field each. Only a resend that would write
 * exactly what is stored is a Duplicate; one that differs in any field the rules keep (host, log
 * path, execute path, pid, app ids, start time, the state DELAY carries) is applied, and the
 * stored row holds the new value and the old values of every other field. The verdict is checked
 * twice: the rules' own {@link Decision}, and what the engine answers and the store then holds
 * (read from the store, the expected row written out field by field here).
 */
class ResendRulesTest {
    private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");
    private static final long WF = 100;

    private final TestStore store = new TestStore();
    private final TaskEventEngine engine = TaskEventEngine.builder().store(store)
            .clock(Clock.fixed(T, ZoneOffset.UTC)).build();
    private long nextTask = 1;

    @AfterEach
    void tearDown() {
        engine.close(Duration.ofSeconds(10));
        store.close();
    }

    /** The fields the rules keep, in the order they are shown in a failure. */
    private record Row(TaskState state, String host, String logPath, String executePath, int pid, String appIds,
                       Instant startTime, Instant endTime, String varPool, long version) {
        static Row of(TaskInstance t) {
            return new Row(t.state(), t.host(), t.logPath(), t.executePath(), t.processId(), t.appIds(),
                    t.startTime(), t.endTime(), t.varPool(), t.version());
        }
    }

    private static final Row AFTER_RUNNING = new Row(TaskState.RUNNING, "w1", "/log/1", "/exec/1", 77, "app_1", T,
            null, null, 1);

    private static TaskEvent.Builder running(String id, long task) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, WF, task).eventTime(T).host("w1").startTime(T)
                .logPath("/log/1").executePath("/exec/1").processId(77).appIds("app_1");
    }

    private Acknowledgement send(TaskEvent event) throws Exception {
        return engine.submit(event).get(30, TimeUnit.SECONDS);
    }

    private Row stored(long task) {
        return Row.of(store.find(task).orElseThrow());
    }

    /**
     * A fresh task, RUNNING applied, then the same event with {@code change}: asserts the rules'
     * decision, the engine's answer and the stored row.
     */
    private void resendRunning(String name, UnaryOperator<TaskEvent.Builder> change,
                               Class<? extends Acknowledgement> answer, Row expected) throws Exception {
        long task = nextTask++;
        store.insert(List.of(TaskInstance.submitted(task, WF, "t" + task, T)));
        assertInstanceOf(Acknowledgement.Applied.class, send(running("r1", task).build()));
        assertEquals(AFTER_RUNNING, stored(task));
        TaskEvent resend = change.apply(running("r2", task)).build();

        Decision decision = TransitionRules.decide(store.find(task).orElseThrow(), resend, T);
        Class<? extends Decision> expectedDecision = answer == Acknowledgement.Applied.class
                ? Decision.Change.class : Decision.Duplicate.class;
        assertInstanceOf(expectedDecision, decision, name + ": the rules' decision");
        assertInstanceOf(answer, send(resend), name + ": the engine's answer");
        assertEquals(expected, stored(task), name + ": the stored row");
    }

    @Test
    void aRunningResendWithOneFieldChangedIsAppliedAndStored() throws Exception {
        resendRunning("a new host", b -> b.host("w2"), Acknowledgement.Applied.class,
                new Row(TaskState.RUNNING, "w2", "/log/1", "/exec/1", 77, "app_1", T, null, null, 2));
        resendRunning("a new log path", b -> b.logPath("/log/2"), Acknowledgement.Applied.class,
                new Row(TaskState.RUNNING, "w1", "/log/2", "/exec/1", 77, "app_1", T, null, null, 2));
        resendRunning("a new execute path", b -> b.executePath("/exec/2"), Acknowledgement.Applied.class,
                new Row(TaskState.RUNNING, "w1", "/log/1", "/exec/2", 77, "app_1", T, null, null, 2));
        resendRunning("a new pid", b -> b.processId(78), Acknowledgement.Applied.class,
                new Row(TaskState.RUNNING, "w1", "/log/1", "/exec/1", 78, "app_1", T, null, null, 2));
        resendRunning("new app ids", b -> b.appIds("app_2"), Acknowledgement.Applied.class,
                new Row(TaskState.RUNNING, "w1", "/log/1", "/exec/1", 77, "app_2", T, null, null, 2));
        resendRunning("a new start time", b -> b.startTime(T.plusSeconds(1)), Acknowledgement.Applied.class,
                new Row(TaskState.RUNNING, "w1", "/log/1", "/exec/1", 77, "app_1", T.plusSeconds(1), null, null, 2));
    }

    @Test
    void aDelayAfterRunningWithTheSameFieldsIsApplied() throws Exception {
        long task = nextTask++;
        store.insert(List.of(TaskInstance.submitted(task, WF, "t" + task, T)));
        send(running("r1", task).build());
        TaskEvent delay = TaskEvent.builder("d1", TaskEventType.DELAY, WF, task).eventTime(T).host("w1").startTime(T)
                .logPath("/log/1").executePath("/exec/1").processId(77).appIds("app_1").build();
        assertInstanceOf(Decision.Change.class, TransitionRules.decide(store.find(task).orElseThrow(), delay, T));
        assertInstanceOf(Acknowledgement.Applied.class, send(delay));
        assertEquals(new Row(TaskState.DELAYED, "w1", "/log/1", "/exec/1", 77, "app_1", T, null, null, 2),
                stored(task));
    }

    /** Left out (null, pid 0) means "as stored": such a resend writes nothing new, under any event id. */
    @Test
    void aRunningResendThatWouldWriteWhatIsStoredIsADuplicate() throws Exception {
        resendRunning("the same fields", b -> b, Acknowledgement.Duplicate.class, AFTER_RUNNING);
        resendRunning("no log path", b -> b.logPath(null), Acknowledgement.Duplicate.class, AFTER_RUNNING);
        resendRunning("no execute path", b -> b.executePath(null), Acknowledgement.Duplicate.class, AFTER_RUNNING);
        resendRunning("no pid", b -> b.processId(0), Acknowledgement.Duplicate.class, AFTER_RUNNING);
        resendRunning("no app ids", b -> b.appIds(null), Acknowledgement.Duplicate.class, AFTER_RUNNING);
    }

    @Test
    void aDispatchResendToTheSameHostIsADuplicateToAnotherHostStale() throws Exception {
        store.insert(List.of(TaskInstance.submitted(50, WF, "t50", T)));
        assertInstanceOf(Acknowledgement.Applied.class, send(TaskEvent.dispatch("d1", WF, 50, T, "w1")));
        TaskInstance dispatched = store.find(50).orElseThrow();
        Row expected = new Row(TaskState.DISPATCHED, "w1", null, null, 0, null, null, null, null, 1);
        assertEquals(expected, Row.of(dispatched));

        TaskEvent same = TaskEvent.dispatch("d2", WF, 50, T, "w1");
        assertInstanceOf(Decision.Duplicate.class, TransitionRules.decide(dispatched, same, T));
        assertInstanceOf(Acknowledgement.Duplicate.class, send(same));
        TaskEvent other = TaskEvent.dispatch("d3", WF, 50, T, "w2");
        assertInstanceOf(Decision.Stale.class, TransitionRules.decide(dispatched, other, T));
        assertInstanceOf(Acknowledgement.Stale.class, send(other), "a second dispatch to another host");
        assertEquals(expected, stored(50), "neither resend changed the row");
    }

    @Test
    void aResultResendIsADuplicateOnlyWithTheIdThatFinishedTheTask() throws Exception {
        store.insert(List.of(TaskInstance.submitted(60, WF, "t60", T)));
        TaskEvent.Builder result = TaskEvent.builder("f1", TaskEventType.RESULT, WF, 60).eventTime(T)
                .state(TaskState.SUCCESS).host("w1").endTime(T.plusSeconds(9)).varPool("out-1");
        assertInstanceOf(Acknowledgement.Applied.class, send(result.build()));
        Row expected = new Row(TaskState.SUCCESS, "w1", null, null, 0, null, null, T.plusSeconds(9), "out-1", 1);
        assertEquals(expected, stored(60));
        TaskInstance finished = store.find(60).orElseThrow();

        TaskEvent sameId = TaskEvent.builder("f1", TaskEventType.RESULT, WF, 60).eventTime(T)
                .state(TaskState.SUCCESS).host("w1").endTime(T.plusSeconds(9)).varPool("out-1").build();
        assertInstanceOf(Decision.Duplicate.class, TransitionRules.decide(finished, sameId, T));
        assertInstanceOf(Acknowledgement.Duplicate.class, send(sameId));
        for (TaskEvent other : List.of(
                TaskEvent.builder("f2", TaskEventType.RESULT, WF, 60).eventTime(T).state(TaskState.SUCCESS)
                        .host("w1").endTime(T.plusSeconds(9)).varPool("out-1").build(),
                TaskEvent.builder("f3", TaskEventType.RESULT, WF, 60).eventTime(T).state(TaskState.FAILURE)
                        .host("w2").endTime(T.plusSeconds(10)).varPool("out-2").build(),
                running("r9", 60).host("w2").build())) {
            assertInstanceOf(Decision.Stale.class, TransitionRules.decide(finished, other, T), other.eventId());
            assertInstanceOf(Acknowledgement.Stale.class, send(other), other.eventId());
        }
        assertEquals(expected, stored(60), "no resend changed the finished row");
    }
}
