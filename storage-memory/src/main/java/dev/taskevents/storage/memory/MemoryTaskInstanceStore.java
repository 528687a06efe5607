package dev.taskevents.storage.memory;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.DuplicateTaskInstanceException;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Task instances in memory, with the JDBC store's semantics: version-checked updates, all-or-none
 * inserts, batches applied atomically. A read-write lock makes every batch visible whole or not at
 * all; readers do not block each other. The outbox is a map in insertion order, written under
 * the same write lock as the rows, so an entry exists exactly when its change does and the map's
 * order is commit order.
 */
final class MemoryTaskInstanceStore implements TaskInstanceStore {
    private final ReadWriteLock lock = new ReentrantReadWriteLock();
    private final Map<Long, TaskInstance> rows = new HashMap<>();
    private final Map<Long, TreeMap<Long, TaskInstance>> byWorkflow = new HashMap<>();
    private final LinkedHashMap<OutboxKey, StateEvent> outbox = new LinkedHashMap<>();

    private record OutboxKey(long taskInstanceId, long version) {
        static OutboxKey of(StateEvent event) {
            return new OutboxKey(event.taskInstanceId(), event.version());
        }
    }

    @Override
    public Optional<TaskInstance> find(long taskInstanceId) {
        lock.readLock().lock();
        try {
            return Optional.ofNullable(rows.get(taskInstanceId));
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<TaskInstance> findByWorkflow(long workflowInstanceId) {
        lock.readLock().lock();
        try {
            TreeMap<Long, TaskInstance> tasks = byWorkflow.get(workflowInstanceId);
            return tasks == null ? List.of() : List.copyOf(tasks.values());
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void insert(List<TaskInstance> newRows) {
        lock.writeLock().lock();
        try {
            Set<Long> seen = new HashSet<>();
            List<Long> clashes = new ArrayList<>();
            for (TaskInstance row : newRows) {
                if (!seen.add(row.id()) || rows.containsKey(row.id())) {
                    clashes.add(row.id());
                }
            }
            if (!clashes.isEmpty()) {
                throw new DuplicateTaskInstanceException(clashes);
            }
            newRows.forEach(this::put);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        lock.writeLock().lock();
        try {
            List<WriteOutcome> outcomes = new ArrayList<>(batch.updates().size());
            for (RowUpdate update : batch.updates()) {
                TaskInstance stored = rows.get(update.row().id());
                if (stored == null) {
                    outcomes.add(WriteOutcome.NOT_FOUND);
                } else if (stored.version() != update.expectedVersion()) {
                    outcomes.add(WriteOutcome.VERSION_CONFLICT);
                } else if (stored.workflowInstanceId() != update.row().workflowInstanceId()) {
                    throw new IllegalArgumentException("task instance " + stored.id() + " belongs to workflow instance "
                            + stored.workflowInstanceId() + "; an update cannot move it to "
                            + update.row().workflowInstanceId());
                } else {
                    outcomes.add(WriteOutcome.APPLIED);
                }
            }
            for (int i = 0; i < outcomes.size(); i++) {
                if (outcomes.get(i) == WriteOutcome.APPLIED) {
                    RowUpdate update = batch.updates().get(i);
                    put(update.row());
                    if (update.notification() != null) {
                        outbox.put(OutboxKey.of(update.notification()), update.notification());
                    }
                }
            }
            return outcomes;
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public List<StateEvent> pendingStateEvents(int limit) {
        lock.readLock().lock();
        try {
            return outbox.values().stream().limit(limit).toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<StateEvent> pendingStateEvents(long workflowInstanceId) {
        lock.readLock().lock();
        try {
            return outbox.values().stream().filter(e -> e.workflowInstanceId() == workflowInstanceId).toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void removeStateEvents(Collection<StateEvent> told) {
        lock.writeLock().lock();
        try {
            told.forEach(e -> outbox.remove(OutboxKey.of(e)));
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void put(TaskInstance row) {
        rows.put(row.id(), row);
        byWorkflow.computeIfAbsent(row.workflowInstanceId(), w -> new TreeMap<>(Comparator.naturalOrder()))
                .put(row.id(), row);
    }

    @Override
    public void close() {
        // Nothing to release: the rows live as long as the store object.
    }
}
