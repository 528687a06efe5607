package dev.taskevents.api;

import java.time.Instant;
import java.util.Objects;

/**
 * One report from a worker about one task instance. A {@code TaskEvent} that exists is valid:
 * the constructor refuses bad input with an {@link IllegalArgumentException} whose message
 * names the field and the value, so an invalid event never reaches the engine or a store.
 *
 * <p>Rules, beyond "ids are positive" and "strings are Unicode text without NUL" (no NUL
 * character and no unpaired surrogate: PostgreSQL keeps neither as given):
 * <ul>
 *   <li>{@code state} fits {@code type} ({@link TaskEventType#allowsTarget}): DISPATCH carries
 *       DISPATCHED, RUNNING carries RUNNING, DELAY carries DELAYED, RESULT a finished state;
 *   <li>DISPATCH, RUNNING and DELAY name the worker {@code host};
 *   <li>RUNNING and DELAY carry a {@code startTime}, RESULT an {@code endTime}, and
 *       {@code endTime} is not before {@code startTime};
 *   <li>{@code processId} is 0 (not reported) or positive;
 *   <li>every time is between {@code 1000-01-01T00:00:00Z} and {@code 9999-12-31T23:59:59.999999Z}
 *       (UTC), the range every store holds: MariaDB's and MySQL's DATETIME(6) hold years
 *       1000-9999, PostgreSQL's timestamp 4713 BC-294276 AD, while {@link Instant#parse} accepts
 *       years up to ±1,000,000,000. A time outside it would be accepted here and then fail the
 *       whole batch it is written in.
 * </ul>
 *
 * @param eventId a worker-chosen id, unique per event and kept on resends (1-128 chars); a
 *     RESULT resent with the same id is recognised as a duplicate
 * @param type what happened
 * @param workflowInstanceId the workflow instance the task belongs to: the ordering key
 * @param taskInstanceId the task instance the event is about
 * @param state the state the event moves the task to
 * @param eventTime when the worker saw it happen
 * @param host the worker's host, e.g. {@code "10.0.0.7:1234"} (up to 255 chars)
 * @param logPath the task's log file on the worker, or null
 * @param executePath the task's working folder on the worker, or null
 * @param processId the task's OS process id, or 0 when not reported
 * @param appIds ids of the jobs the task started on other systems (e.g. YARN), or null
 * @param varPool the task's out parameters (any text, any length), or null
 * @param startTime when the task started, or null
 * @param endTime when the task finished, or null
 */
public record TaskEvent(
        String eventId,
        TaskEventType type,
        long workflowInstanceId,
        long taskInstanceId,
        TaskState state,
        Instant eventTime,
        String host,
        String logPath,
        String executePath,
        int processId,
        String appIds,
        String varPool,
        Instant startTime,
        Instant endTime) {

    public TaskEvent {
        Fields.requiredText("eventId", eventId, Fields.MAX_EVENT_ID);
        Fields.required("type", type);
        Fields.positive("workflowInstanceId", workflowInstanceId);
        Fields.positive("taskInstanceId", taskInstanceId);
        Fields.required("state", state);
        if (!type.allowsTarget(state)) {
            throw new IllegalArgumentException("state " + state + " does not fit a " + type + " event: "
                    + switch (type) {
                        case DISPATCH -> "DISPATCH carries DISPATCHED";
                        case RUNNING -> "RUNNING carries RUNNING";
                        case DELAY -> "DELAY carries DELAYED";
                        case RESULT -> "RESULT carries a finished state (SUCCESS, FAILURE, KILLED, PAUSED)";
                    });
        }
        Fields.time("eventTime", Fields.required("eventTime", eventTime));
        Fields.time("startTime", startTime);
        Fields.time("endTime", endTime);
        if (type == TaskEventType.RESULT) {
            Fields.optionalText("host", host, Fields.MAX_HOST);
            if (endTime == null) {
                throw new IllegalArgumentException("endTime is required for a RESULT event, was null");
            }
        } else {
            Fields.requiredText("host", host, Fields.MAX_HOST);
            if (type != TaskEventType.DISPATCH && startTime == null) {
                throw new IllegalArgumentException("startTime is required for a " + type + " event, was null");
            }
        }
        Fields.optionalText("logPath", logPath, Fields.MAX_TEXT);
        Fields.optionalText("executePath", executePath, Fields.MAX_TEXT);
        if (processId < 0) {
            throw new IllegalArgumentException("processId must be 0 (not reported) or positive, was " + processId);
        }
        Fields.optionalText("appIds", appIds, Fields.MAX_TEXT);
        Fields.noNul("varPool", varPool);
        Fields.ordered(startTime, endTime);
    }

    /** A DISPATCH event: the task was handed to the worker at {@code host}. */
    public static TaskEvent dispatch(String eventId, long workflowInstanceId, long taskInstanceId,
                                     Instant eventTime, String host) {
        return builder(eventId, TaskEventType.DISPATCH, workflowInstanceId, taskInstanceId)
                .eventTime(eventTime).host(host).build();
    }

    /**
     * A builder for an event of {@code type}; its target state starts as the type's own
     * (DISPATCHED, RUNNING, DELAYED) and must be set for RESULT. {@link Builder#build()} runs
     * the same checks as the constructor.
     */
    public static Builder builder(String eventId, TaskEventType type, long workflowInstanceId,
                                  long taskInstanceId) {
        return new Builder(eventId, Objects.requireNonNull(type, "type"), workflowInstanceId, taskInstanceId);
    }

    /** Builds a {@link TaskEvent}; not thread-safe. */
    public static final class Builder {
        private final String eventId;
        private final TaskEventType type;
        private final long workflowInstanceId;
        private final long taskInstanceId;
        private TaskState state;
        private Instant eventTime;
        private String host;
        private String logPath;
        private String executePath;
        private int processId;
        private String appIds;
        private String varPool;
        private Instant startTime;
        private Instant endTime;

        private Builder(String eventId, TaskEventType type, long workflowInstanceId, long taskInstanceId) {
            this.eventId = eventId;
            this.type = type;
            this.workflowInstanceId = workflowInstanceId;
            this.taskInstanceId = taskInstanceId;
            this.state = switch (type) {
                case DISPATCH -> TaskState.DISPATCHED;
                case RUNNING -> TaskState.RUNNING;
                case DELAY -> TaskState.DELAYED;
                case RESULT -> null;
            };
        }

        public Builder state(TaskState state) { this.state = state; return this; }
        public Builder eventTime(Instant eventTime) { this.eventTime = eventTime; return this; }
        public Builder host(String host) { this.host = host; return this; }
        public Builder logPath(String logPath) { this.logPath = logPath; return this; }
        public Builder executePath(String executePath) { this.executePath = executePath; return this; }
        public Builder processId(int processId) { this.processId = processId; return this; }
        public Builder appIds(String appIds) { this.appIds = appIds; return this; }
        public Builder varPool(String varPool) { this.varPool = varPool; return this; }
        public Builder startTime(Instant startTime) { this.startTime = startTime; return this; }
        public Builder endTime(Instant endTime) { this.endTime = endTime; return this; }

        /** @throws IllegalArgumentException naming the first field that is invalid */
        public TaskEvent build() {
            return new TaskEvent(eventId, type, workflowInstanceId, taskInstanceId, state, eventTime, host,
                    logPath, executePath, processId, appIds, varPool, startTime, endTime);
        }
    }
}
