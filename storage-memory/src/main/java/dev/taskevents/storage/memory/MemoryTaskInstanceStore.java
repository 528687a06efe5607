package dev.taskevents.storage.memory;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.DuplicateTaskInstanceException;
import dev.taskevents.api.spi.FeedPage;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
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
 * all; readers do not block each other. Every read that spans several workflows
 * ({@link #findByWorkflows}) takes the lock once, so it too sees a batch whole or not at all. The
 * outbox is a map in insertion order, written under the same write lock as the rows, so an entry
 * exists exactly when its change does and the map's order is commit order. The state-event feed
 * ({@link MemoryStateFeed}) is appended in that same critical section.
 *
 * <p>The data ({@link Data}) and the handle are separate: {@code memory:NAME} gives every open its
 * own handle onto one shared {@code Data}, so that closing one handle (after which it throws
 * {@link StoreException}, as the SPI promises) does not close the others.
 */
final class MemoryTaskInstanceStore implements TaskInstanceStore {
    /** The rows and the outbox, shared by every handle of one named store. */
    static final class Data {
        private final ReadWriteLock lock = new ReentrantReadWriteLock();
        private final Map<Long, TaskInstance> rows = new HashMap<>();
        private final Map<Long, TreeMap<Long, TaskInstance>> byWorkflow = new HashMap<>();
        private final LinkedHashMap<OutboxKey, StateEvent> outbox = new LinkedHashMap<>();
        private final MemoryStateFeed feed = new MemoryStateFeed(lock, Clock.systemUTC());
    }

    private final ReadWriteLock lock;
    private final Map<Long, TaskInstance> rows;
    private final Map<Long, TreeMap<Long, TaskInstance>> byWorkflow;
    private final LinkedHashMap<OutboxKey, StateEvent> outbox;
    private final String name;
    private final MemoryStateFeed feed;
    private final StateEventFeed feedView = new FeedView();
    private volatile boolean closed;

    /** A handle onto {@code data}; {@code name} is for messages ("memory:" or "memory:NAME"). */
    MemoryTaskInstanceStore(Data data, String name) {
        this.lock = data.lock;
        this.rows = data.rows;
        this.byWorkflow = data.byWorkflow;
        this.outbox = data.outbox;
        this.feed = data.feed;
        this.name = name;
    }

    private record OutboxKey(long taskInstanceId, long version) {
        static OutboxKey of(StateEvent event) {
            return new OutboxKey(event.taskInstanceId(), event.version());
        }
    }

    @Override
    public Optional<TaskInstance> find(long taskInstanceId) {
        lock.readLock().lock();
        try {
            ensureOpen("find task instance " + taskInstanceId);
            return Optional.ofNullable(rows.get(taskInstanceId));
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<TaskInstance> findByWorkflow(long workflowInstanceId) {
        lock.readLock().lock();
        try {
            ensureOpen("find the task instances of workflow instance " + workflowInstanceId);
            return tasksOf(workflowInstanceId);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Under one read lock: a batch that spans several of these workflows is seen whole or not at all. */
    @Override
    public Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> workflowInstanceIds) {
        lock.readLock().lock();
        try {
            ensureOpen("find the task instances of " + workflowInstanceIds.size() + " workflow instances");
            Map<Long, List<TaskInstance>> result = new HashMap<>();
            for (Long id : workflowInstanceIds) {
                result.put(id, tasksOf(id));
            }
            return result;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Call under the lock. */
    private List<TaskInstance> tasksOf(long workflowInstanceId) {
        TreeMap<Long, TaskInstance> tasks = byWorkflow.get(workflowInstanceId);
        return tasks == null ? List.of() : List.copyOf(tasks.values());
    }

    @Override
    public void insert(List<TaskInstance> newRows) {
        lock.writeLock().lock();
        try {
            ensureOpen("insert " + newRows.size() + " task instances");
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
        List<StateEvent> toFeed = new ArrayList<>();
        List<WriteOutcome> result = writeLocked(batch, toFeed);
        if (!toFeed.isEmpty()) {
            feed.appended();
        }
        return result;
    }

    private List<WriteOutcome> writeLocked(WriteBatch batch, List<StateEvent> toFeed) {
        lock.writeLock().lock();
        try {
            ensureOpen("write a batch of " + batch.updates().size() + " task instance updates");
            if (batch.fence().fenced()) {
                throw new IllegalArgumentException("this store does not take part in cluster mode (it lives in"
                        + " one process), so it cannot check a write batch's shard fence");
            }
            List<WriteOutcome> outcomes = new ArrayList<>(batch.updates().size());
            for (RowUpdate update : batch.updates()) {
                TaskInstance stored = rows.get(update.row().id());
                if (stored == null) {
                    outcomes.add(WriteOutcome.NOT_FOUND);
                } else if (stored.workflowInstanceId() != update.row().workflowInstanceId()) {
                    // Refused whatever the version, as the JDBC store does: the input is wrong, not stale.
                    throw new IllegalArgumentException("task instance " + stored.id() + " belongs to workflow instance "
                            + stored.workflowInstanceId() + "; an update cannot move it to "
                            + update.row().workflowInstanceId());
                } else if (stored.version() != update.expectedVersion()) {
                    outcomes.add(WriteOutcome.VERSION_CONFLICT);
                } else {
                    outcomes.add(WriteOutcome.APPLIED);
                }
            }
            for (int i = 0; i < outcomes.size(); i++) {
                if (outcomes.get(i) == WriteOutcome.APPLIED) {
                    RowUpdate update = batch.updates().get(i);
                    put(update.row());
                    if (update.notification() != null) {
                        if (batch.recordsIn(StateEventLog.OUTBOX)) {
                            outbox.put(OutboxKey.of(update.notification()), update.notification());
                        }
                        if (batch.recordsIn(StateEventLog.FEED)) {
                            toFeed.add(update.notification());
                        }
                    }
                }
            }
            feed.append(toFeed);
            return outcomes;
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** The feed in memory ({@link MemoryStateFeed}): positions, retention and 410s as the JDBC store's; not durable. */
    @Override
    public Optional<StateEventFeed> stateFeed() {
        return Optional.of(feedView);
    }

    /** The shared feed, refused once this handle is closed. */
    private final class FeedView implements StateEventFeed {
        @Override
        public long feedId() {
            return feed.feedId();
        }

        @Override
        public FeedPage read(long after, int limit) {
            ensureOpen("read the state-event feed");
            return feed.read(after, limit);
        }

        @Override
        public long head() {
            ensureOpen("read the state-event feed's head");
            return feed.head();
        }

        @Override
        public long prunedThrough() {
            ensureOpen("read the state-event feed's pruned position");
            return feed.prunedThrough();
        }

        @Override
        public long prune(Duration retention, int maxEvents) {
            ensureOpen("prune the state-event feed");
            return feed.prune(retention, maxEvents);
        }

        @Override
        public void addListener(Runnable appended) {
            feed.addListener(appended);
        }

        @Override
        public void removeListener(Runnable appended) {
            feed.removeListener(appended);
        }
    }

    @Override
    public List<StateEvent> pendingStateEvents(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, was " + limit);
        }
        lock.readLock().lock();
        try {
            ensureOpen("read the outbox");
            return outbox.values().stream().limit(limit).toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<StateEvent> pendingStateEvents(long workflowInstanceId) {
        lock.readLock().lock();
        try {
            ensureOpen("read the outbox of workflow instance " + workflowInstanceId);
            return outbox.values().stream().filter(e -> e.workflowInstanceId() == workflowInstanceId).toList();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void removeStateEvents(Collection<StateEvent> told) {
        lock.writeLock().lock();
        try {
            ensureOpen("remove " + told.size() + " told entries from the outbox");
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

    private void ensureOpen(String what) {
        if (closed) {
            throw new StoreException("the store " + name + " is closed; cannot " + what);
        }
    }

    /** Closes this handle only: the data of a named store stays for its other handles and later opens. */
    @Override
    public void close() {
        // Under the write lock, and every call checks it under the lock: a call that returns after
        // close() returned has not read or changed anything.
        lock.writeLock().lock();
        try {
            closed = true;
        } finally {
            lock.writeLock().unlock();
        }
    }
}
