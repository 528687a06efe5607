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
}
