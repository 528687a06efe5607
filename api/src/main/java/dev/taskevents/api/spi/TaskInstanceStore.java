package dev.taskevents.api.spi;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskInstance;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Persisted task instances. Implementations are thread-safe: the engine reads from many threads
 * and writes batches from its commit thread while other batches may be in flight.
 *
 * <p>Every method either does what it says or throws: {@link StoreException} when the store
 * could not be reached or failed (the call may be retried), {@link IllegalArgumentException}
 * for input the store refuses. A method that throws {@code StoreException} after the database
 * may have committed (e.g. the connection dropped during commit) leaves the outcome unknown;
 * the version checks make a retry safe: a batch replayed after it committed gets
 * {@link WriteOutcome#VERSION_CONFLICT} for every row it changed, and records nothing twice.
 *
 * <p>Reads are atomic with respect to batches: a read that runs while a batch commits sees all of
 * the batch's rows changed or none of them ({@link #findByWorkflows} included, over any number of
 * workflows). After {@link #close} every other method throws {@code StoreException}.
 */
public interface TaskInstanceStore extends AutoCloseable {

    /** The task instance with this id, or empty if there is none. */
    Optional<TaskInstance> find(long taskInstanceId);

    /** All task instances of a workflow instance, ordered by id; empty if there are none. */
    List<TaskInstance> findByWorkflow(long workflowInstanceId);

    /**
     * The task instances of several workflow instances at once, each list ordered by id; a
     * workflow without tasks maps to an empty list. The engine loads the workflows its cache
     * misses in batches through this. All lists are read at one moment, so that a batch which
     * changed rows of several of these workflows is seen whole or not at all. The default asks
     * {@link #findByWorkflow} for each, which keeps that only within each workflow: a store whose
     * batches span workflows must override it (read under one lock, or in one snapshot).
     */
    default Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> workflowInstanceIds) {
        Map<Long, List<TaskInstance>> result = new HashMap<>();
        for (Long id : workflowInstanceIds) {
            result.put(id, findByWorkflow(id));
        }
        return result;
    }

    /**
     * Creates task instances, all or none, as they are given (normally SUBMITTED, version 0): every
     * component is stored as it is, whatever the state, version, var pool or times.
     *
     * @throws DuplicateTaskInstanceException if one of the ids exists already or repeats in
     *     {@code rows}; nothing is written
     */
    void insert(List<TaskInstance> rows);

    /**
     * Writes a batch of updates in one transaction. For each update the row is written only if
     * its stored version equals {@link RowUpdate#expectedVersion()}; the outcome of each update is
     * returned at the same index as the update. The rows whose outcome is
     * {@link WriteOutcome#APPLIED} are committed together, or, if this throws, none of them is.
     * Rows of different batches written concurrently are disjoint or serialised by the version
     * check; implementations lock rows in id order so that concurrent batches cannot deadlock.
     *
     * <p>An update that would move a row to another workflow instance is refused input: this
     * throws {@link IllegalArgumentException}, whatever the row's version, and writes nothing.
     *
     * <p>The outbox: for each APPLIED update that carries a {@link RowUpdate#notification()}, the
     * notification is recorded in the same transaction, so that it exists if and only if the row
     * change was committed, in each place the batch's {@link WriteBatch#recordIn()} names: in the
     * outbox it stays until {@link #removeStateEvents} removes it; in the {@link #stateFeed()} it
     * gets the next positions. A batch that asks for the feed of a store without one is refused
     * input ({@link IllegalArgumentException}).
     *
     * <p>Cluster mode: with a {@link WriteBatch#fence()}, for each shard the epoch check and the
     * writes of its rows happen atomically with respect to {@link ShardLeases#acquire} and
     * {@link ShardLeases#release} of that shard: a row is APPLIED only if its shard's epoch in the
     * store equals the fence's when the batch commits; the rows of other shards are
     * {@link WriteOutcome#FENCED} and nothing of them is written or recorded. A store without
     * {@link #cluster()} throws {@link IllegalArgumentException} for a fenced batch, as it does
     * for a fence whose shard count is not the store's.
     */
    List<WriteOutcome> write(WriteBatch batch);

    /**
     * The cluster operations of this store, if several engine nodes can share it: leases, shard
     * epochs, and the fence on {@link #write}. Empty for a store that cannot take part (one that
     * lives in one process, such as {@code memory:}).
     */
    default Optional<ShardLeases> cluster() {
        return Optional.empty();
    }

    /**
     * The durable feed of state changes this store keeps ({@link StateEventFeed}), if it can keep
     * one; empty otherwise (the default).
     */
    default Optional<StateEventFeed> stateFeed() {
        return Optional.empty();
    }

    /**
     * The oldest {@code limit} outbox entries (state events committed and not yet removed), in
     * commit order per workflow instance: an entry recorded by a batch that committed before
     * another batch began comes first. The engine tells these to its sink at start, as changes
     * that may have been committed without the sink hearing of them (a crash, an unknown commit
     * outcome).
     *
     * @throws IllegalArgumentException if {@code limit} is below 1
     */
    List<StateEvent> pendingStateEvents(int limit);

    /**
     * The outbox entries of one workflow instance, in commit order. A write of the workflow that
     * is still committing (its outcome unknown to its caller: a COMMIT waiting for a synchronous
     * standby, or one the server finishes after the connection dropped) is waited for, and its
     * entries are returned if it commits; a store whose commits are never in doubt just reads.
     */
    List<StateEvent> pendingStateEvents(long workflowInstanceId);

    /**
     * Removes the given outbox entries (matched by task instance id and version) once they were
     * told; entries that are not there are ignored, so a repeated removal is harmless.
     */
    void removeStateEvents(Collection<StateEvent> told);

    /**
     * Releases the store's resources (connections, files); idempotent. Every later call of another
     * method throws {@link StoreException}.
     */
    @Override
    void close();
}
