package dev.taskevents.engine;

/**
 * A {@link TaskEventEngine}'s counters at one moment.
 *
 * @param queued events accepted and not yet answered
 * @param activeKeys workflow instances with an event queued or in progress
 * @param applied events that changed a task (acknowledged {@code Applied})
 * @param duplicates events already applied before (resends)
 * @param stale events the task had moved past
 * @param rejected events for unknown task instances or the wrong workflow
 * @param moved events answered {@code Moved} (cluster mode: the shard is not this node's)
 * @param failed events whose future failed (the store could not write them)
 * @param sinkFailures state events the workflow state sink threw on
 * @param pendingWrites changes waiting for the next batch write
 * @param batches batch writes committed
 * @param rowsWritten rows in those batches
 * @param writeRetries failed batch attempts that were retried
 * @param cachedWorkflows workflow snapshots in the cache (estimate)
 * @param stateEventsRetold state events told again from the store's outbox: at start, or after a
 *     write whose outcome was unknown or a sink that threw
 */
public record EngineStats(long queued, int activeKeys, long applied, long duplicates, long stale, long rejected, long moved,
                          long failed, long sinkFailures, long pendingWrites, long batches, long rowsWritten, long writeRetries,
                          long cachedWorkflows, long stateEventsRetold) {}
