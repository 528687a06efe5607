package dev.taskevents.api;

import java.time.Instant;

/**
 * A task instance as the store holds it. Immutable; a change is a new instance with
 * {@code version} one higher, written with a version check ({@link dev.taskevents.api.spi.RowUpdate}).
 *
 * @param id the task instance id (positive)
 * @param workflowInstanceId the workflow instance it belongs to (positive)
 * @param name the task's name in its workflow (1-4096 chars)
 * @param state its current state
 * @param host the worker that has it, or null
 * @param logPath its log file on the worker, or null
 * @param executePath its working folder on the worker, or null
 * @param processId its OS process id, or 0
 * @param appIds ids of jobs it started on other systems, or null
 * @param startTime when it started, or null
 * @param endTime when it finished, or null
 * @param varPool its out parameters, or null
 * @param finishEventId the id of the RESULT event that finished it, or null while unfinished;
 *     a RESULT resent with this id is a duplicate, any other RESULT is stale
 * @param lastEventId the id of the event whose change this row is, or null for a row as created
 *     (or written before the store recorded it): after a commit whose outcome was unknown, it
 *     tells the engine that the row it finds is its own write
 * @param version the optimistic-concurrency version, 0 when created, +1 per change
 * @param updatedAt when it was last written
 */
public record TaskInstance(
        long id,
        long workflowInstanceId,
        String name,
        TaskState state,
        String host,
        String logPath,
        String executePath,
        int processId,
        String appIds,
        Instant startTime,
        Instant endTime,
        String varPool,
        String finishEventId,
        String lastEventId,
        long version,
        Instant updatedAt) {

    public TaskInstance {
        Fields.positive("id", id);
        Fields.positive("workflowInstanceId", workflowInstanceId);
        Fields.requiredText("name", name, Fields.MAX_TEXT);
        Fields.required("state", state);
        Fields.optionalText("host", host, Fields.MAX_HOST);
        Fields.optionalText("logPath", logPath, Fields.MAX_TEXT);
        Fields.optionalText("executePath", executePath, Fields.MAX_TEXT);
        if (processId < 0) {
            throw new IllegalArgumentException("processId must be 0 or positive, was " + processId);
        }
        Fields.optionalText("appIds", appIds, Fields.MAX_TEXT);
        Fields.noNul("varPool", varPool);
        Fields.optionalText("finishEventId", finishEventId, Fields.MAX_EVENT_ID);
        Fields.optionalText("lastEventId", lastEventId, Fields.MAX_EVENT_ID);
        if (version < 0) {
            throw new IllegalArgumentException("version must be 0 or positive, was " + version);
        }
        Fields.required("updatedAt", updatedAt);
    }

    /** A new task instance in state SUBMITTED, version 0, as the scheduler creates it. */
    public static TaskInstance submitted(long id, long workflowInstanceId, String name, Instant createdAt) {
        return new TaskInstance(id, workflowInstanceId, name, TaskState.SUBMITTED, null, null, null, 0, null,
                null, null, null, null, null, 0, createdAt);
    }

    /**
     * A builder that starts from this task instance: set the fields that change, by name, and
     * {@link Builder#build build} (which checks them as the constructor does).
     */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Sets a task instance's fields by name, starting from another one ({@link #toBuilder()}). */
    public static final class Builder {
        private long id;
        private long workflowInstanceId;
        private String name;
        private TaskState state;
        private String host;
        private String logPath;
        private String executePath;
        private int processId;
        private String appIds;
        private Instant startTime;
        private Instant endTime;
        private String varPool;
        private String finishEventId;
        private String lastEventId;
        private long version;
        private Instant updatedAt;

        private Builder(TaskInstance from) {
            this.id = from.id;
            this.workflowInstanceId = from.workflowInstanceId;
            this.name = from.name;
            this.state = from.state;
            this.host = from.host;
            this.logPath = from.logPath;
            this.executePath = from.executePath;
            this.processId = from.processId;
            this.appIds = from.appIds;
            this.startTime = from.startTime;
            this.endTime = from.endTime;
            this.varPool = from.varPool;
            this.finishEventId = from.finishEventId;
            this.lastEventId = from.lastEventId;
            this.version = from.version;
            this.updatedAt = from.updatedAt;
        }

        public Builder id(long id) {
            this.id = id;
            return this;
        }

        public Builder workflowInstanceId(long workflowInstanceId) {
            this.workflowInstanceId = workflowInstanceId;
            return this;
        }

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder state(TaskState state) {
            this.state = state;
            return this;
        }

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        public Builder logPath(String logPath) {
            this.logPath = logPath;
            return this;
        }

        public Builder executePath(String executePath) {
            this.executePath = executePath;
            return this;
        }

        public Builder processId(int processId) {
            this.processId = processId;
            return this;
        }

        public Builder appIds(String appIds) {
            this.appIds = appIds;
            return this;
        }

        public Builder startTime(Instant startTime) {
            this.startTime = startTime;
            return this;
        }

        public Builder endTime(Instant endTime) {
            this.endTime = endTime;
            return this;
        }

        public Builder varPool(String varPool) {
            this.varPool = varPool;
            return this;
        }

        public Builder finishEventId(String finishEventId) {
            this.finishEventId = finishEventId;
            return this;
        }

        public Builder lastEventId(String lastEventId) {
            this.lastEventId = lastEventId;
            return this;
        }

        public Builder version(long version) {
            this.version = version;
            return this;
        }

        public Builder updatedAt(Instant updatedAt) {
            this.updatedAt = updatedAt;
            return this;
        }

        /** The task instance, checked as {@link TaskInstance#TaskInstance the constructor} checks it. */
        public TaskInstance build() {
            return new TaskInstance(id, workflowInstanceId, name, state, host, logPath, executePath, processId, appIds,
                    startTime, endTime, varPool, finishEventId, lastEventId, version, updatedAt);
        }
    }
}
