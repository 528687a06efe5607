package dev.taskevents.storecontract;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A store for tests that forwards everything to another store (by default a fresh memory store);
 * a test overrides {@link #write} to hold, slow down or fail writes.
 */
public class ForwardingTaskInstanceStore implements TaskInstanceStore {
    /** The store everything goes to; tests may write to it directly, behind the engine's back. */
    public final TaskInstanceStore delegate;

    /** Forwards to a fresh memory store. */
    public ForwardingTaskInstanceStore() {
        this(Stores.open("memory:"));
    }

    /** Forwards to {@code delegate}, which it closes on close. */
    public ForwardingTaskInstanceStore(TaskInstanceStore delegate) {
        this.delegate = delegate;
    }

    /** The delegate's feed: a batch written through this store records in it, and the engine may use it. */
    @Override
    public Optional<dev.taskevents.api.spi.StateEventFeed> stateFeed() {
        return delegate.stateFeed();
    }

    @Override
    public Optional<TaskInstance> find(long taskInstanceId) {
        return delegate.find(taskInstanceId);
    }

    @Override
    public List<TaskInstance> findByWorkflow(long workflowInstanceId) {
        return delegate.findByWorkflow(workflowInstanceId);
    }

    @Override
    public Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> workflowInstanceIds) {
        return delegate.findByWorkflows(workflowInstanceIds);
    }

    @Override
    public void insert(List<TaskInstance> rows) {
        delegate.insert(rows);
    }

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        return delegate.write(batch);
    }

    @Override
    public List<StateEvent> pendingStateEvents(int limit) {
        return delegate.pendingStateEvents(limit);
    }

    @Override
    public List<StateEvent> pendingStateEvents(long workflowInstanceId) {
        return delegate.pendingStateEvents(workflowInstanceId);
    }

    @Override
    public void removeStateEvents(Collection<StateEvent> told) {
        delegate.removeStateEvents(told);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
