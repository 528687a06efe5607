package dev.taskevents.engine.cache;

import dev.taskevents.api.TaskInstance;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The engine's copy of one workflow instance's task instances, as last committed.
 *
 * <p>Invariant: a row here is never newer than the store's, because it is put only after its
 * write returned. It may be older (another writer changed the store); the version check on the
 * next write finds that, and the engine then drops the snapshot and reloads. Only the task running
 * for this workflow's key changes the snapshot, one at a time; the map is concurrent so that an
 * evicted snapshot still being updated by its last writer stays safe to read.
 */
public final class WorkflowSnapshot {
    private final long workflowInstanceId;
    private final Map<Long, TaskInstance> tasks = new ConcurrentHashMap<>();

    public WorkflowSnapshot(long workflowInstanceId, List<TaskInstance> rows) {
        this.workflowInstanceId = workflowInstanceId;
        rows.forEach(this::put);
    }

    public long workflowInstanceId() {
        return workflowInstanceId;
    }

    /** The task instance, or null if this snapshot does not hold it. */
    public TaskInstance get(long taskInstanceId) {
        return tasks.get(taskInstanceId);
    }

    public void put(TaskInstance row) {
        if (row.workflowInstanceId() != workflowInstanceId) {
            throw new IllegalArgumentException("task instance " + row.id() + " belongs to workflow instance "
                    + row.workflowInstanceId() + ", not " + workflowInstanceId);
        }
        tasks.put(row.id(), row);
    }

    public void remove(long taskInstanceId) {
        tasks.remove(taskInstanceId);
    }

    /**
     * About how many bytes of heap this snapshot holds: per row an object overhead and two bytes
     * per character of its text. The cache's bound by weight uses it; what matters is that a var
     * pool of megabytes weighs megabytes.
     */
    public int weight() {
        long bytes = 64;
        for (TaskInstance row : tasks.values()) {
            bytes += 160 + 2L * (length(row.name()) + length(row.host()) + length(row.logPath())
                    + length(row.executePath()) + length(row.appIds()) + length(row.varPool())
                    + length(row.finishEventId()) + length(row.lastEventId()));
        }
        return (int) Math.min(Integer.MAX_VALUE, bytes);
    }

    private static int length(String s) {
        return s == null ? 0 : s.length();
    }
}
