package dev.taskevents.engine.rules;

import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import java.time.Instant;
import java.util.Objects;

/**
 * The state rules of DESIGN.md, as one pure function of (stored row, event):
 *
 * <table>
 *   <caption>Rules</caption>
 *   <tr><th>event</th><th>applies when stored state is</th><th>result</th></tr>
 *   <tr><td>DISPATCH</td><td>SUBMITTED</td><td>DISPATCHED, host recorded</td></tr>
 *   <tr><td>RUNNING, DELAY</td><td>not finished</td><td>RUNNING/DELAYED, start time, host, log path,
 *       execute path, pid, app ids</td></tr>
 *   <tr><td>RESULT</td><td>not finished</td><td>final state, end time, var pool, the event id</td></tr>
 *   <tr><td>anything</td><td>finished</td><td>no change</td></tr>
 * </table>
 *
 * <p>An event whose change is already in the row is a {@link Decision.Duplicate}: a DISPATCH to
 * the same host of a DISPATCHED task, a RUNNING/DELAY that would write exactly what is stored, a
 * RESULT whose id is the one that finished the task. Every other event that does not apply is
 * {@link Decision.Stale}. Fields an event leaves null keep their stored value, so a RESULT that
 * arrives before RUNNING does not erase what RUNNING would have set, and vice versa.
 */
public final class TransitionRules {
    private TransitionRules() {}

    /**
     * Decides what {@code event} does to {@code current}. The caller has checked that both name
     * the same task and workflow instance.
     *
     * @param now the time written as the new row's {@code updatedAt}
     */
    public static Decision decide(TaskInstance current, TaskEvent event, Instant now) {
        return switch (event.type()) {
            case DISPATCH -> dispatch(current, event, now);
            case RUNNING, DELAY -> start(current, event, now);
            case RESULT -> result(current, event, now);
        };
    }

    private static Decision dispatch(TaskInstance current, TaskEvent event, Instant now) {
        if (current.state() == TaskState.SUBMITTED) {
            return new Decision.Change(current.toBuilder().state(TaskState.DISPATCHED).host(event.host())
                    .lastEventId(event.eventId()).version(current.version() + 1).updatedAt(now).build());
        }
        if (current.state() == TaskState.DISPATCHED && event.host().equals(current.host())) {
            return new Decision.Duplicate();
        }
        return new Decision.Stale();
    }

    private static Decision start(TaskInstance current, TaskEvent event, Instant now) {
        if (current.state().isFinished()) {
            return new Decision.Stale();
        }
        TaskInstance next = current.toBuilder().state(event.state()).host(event.host())
                .logPath(or(event.logPath(), current.logPath()))
                .executePath(or(event.executePath(), current.executePath()))
                .processId(event.processId() != 0 ? event.processId() : current.processId())
                .appIds(or(event.appIds(), current.appIds())).startTime(event.startTime())
                .lastEventId(event.eventId()).version(current.version() + 1).updatedAt(now).build();
        return sameContent(current, next) ? new Decision.Duplicate() : new Decision.Change(next);
    }

    private static Decision result(TaskInstance current, TaskEvent event, Instant now) {
        if (current.state().isFinished()) {
            return event.eventId().equals(current.finishEventId()) ? new Decision.Duplicate() : new Decision.Stale();
        }
        return new Decision.Change(current.toBuilder().state(event.state()).host(or(event.host(), current.host()))
                .logPath(or(event.logPath(), current.logPath()))
                .executePath(or(event.executePath(), current.executePath()))
                .processId(event.processId() != 0 ? event.processId() : current.processId())
                .appIds(or(event.appIds(), current.appIds())).startTime(or(current.startTime(), event.startTime()))
                .endTime(event.endTime()).varPool(or(event.varPool(), current.varPool()))
                .finishEventId(event.eventId()).lastEventId(event.eventId()).version(current.version() + 1)
                .updatedAt(now).build());
    }

    private static <T> T or(T preferred, T fallback) {
        return preferred != null ? preferred : fallback;
    }

    /** Equal but for the event id, version and updatedAt. */
    private static boolean sameContent(TaskInstance a, TaskInstance b) {
        return a.state() == b.state() && Objects.equals(a.host(), b.host())
                && Objects.equals(a.logPath(), b.logPath()) && Objects.equals(a.executePath(), b.executePath())
                && a.processId() == b.processId() && Objects.equals(a.appIds(), b.appIds())
                && Objects.equals(a.startTime(), b.startTime()) && Objects.equals(a.endTime(), b.endTime())
                && Objects.equals(a.varPool(), b.varPool()) && Objects.equals(a.finishEventId(), b.finishEventId());
    }
}
