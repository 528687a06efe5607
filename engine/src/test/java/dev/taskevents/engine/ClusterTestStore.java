package dev.taskevents.engine;

import dev.taskevents.api.Shards;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Predicate;

/**
 * The engine tests' shared cluster store: a memory store with {@link ShardLeases}, as a database
 * would do them. A fenced write holds the shard table's shared lock ({@code fenceLock}) from its
 * epoch check to its commit, and {@link #acquire}/{@link #release} take it exclusively, so the
 * check and the writes are atomic with respect to them (and a release waits for a write in flight,
 * as the database's row lock makes it). The other lease operations read and write under the
 * {@code nodes} monitor only (as plain statements would not wait for writers); epochs and owners
 * change only with both held. Leases are judged by a manual clock the test advances ({@link #advance}).
 * A test can hold a write after its fence check, with the lock held ({@link #holdWritesIf}), or
 * before it ({@link #holdBeforeFenceIf}).
 */
final class ClusterTestStore extends ForwardingTaskInstanceStore implements ShardLeases {
    private final int shardCount;
    private final ReentrantReadWriteLock fenceLock = new ReentrantReadWriteLock(true);
    private final long[] epochs;
    private final String[] owners;
    private final Map<String, Node> nodes = new HashMap<>();
    private final AtomicLong nowMillis = new AtomicLong();

    /** Every workflow loaded through {@link #findByWorkflows}, in order. */
    final ConcurrentLinkedQueue<Long> loads = new ConcurrentLinkedQueue<>();
    /** Every fenced batch given to {@link #write}, as given. */
    final ConcurrentLinkedQueue<WriteBatch> batches = new ConcurrentLinkedQueue<>();
    /** Calls of {@link #release} begun (counted before the lock is asked for). */
    final AtomicInteger releasesBegun = new AtomicInteger();
    /** Writes matching this are held after their fence check (lock held) until {@link #releaseHeld}. */
    volatile Predicate<WriteBatch> holdWritesIf = b -> false;
    /**
     * Writes matching this are held before their fence check, holding no lock (a batch waiting
     * for a connection), until {@link #releaseHeld}.
     */
    volatile Predicate<WriteBatch> holdBeforeFenceIf = b -> false;
    final CountDownLatch heldWriteEntered = new CountDownLatch(1);
    private final CountDownLatch releaseHeld = new CountDownLatch(1);
    /** While set, every lease operation throws {@link StoreException} (the database is away). */
    volatile boolean leasesDown;
    /**
     * While set, reading the outbox for a re-tell throws {@link StoreException}, as when the
     * batch pool it reads through is stuck while the lease connections work.
     */
    volatile boolean outboxReadsFail;
    /** Thrown once by the next {@link #shards} (a driver's or the JVM's Error in a claim round). */
    final AtomicReference<Error> shardsThrows = new AtomicReference<>();

    private record Node(String address, long expiresAt) {}

    ClusterTestStore(int shardCount) {
        super();
        this.shardCount = shardCount;
        this.epochs = new long[shardCount];
        this.owners = new String[shardCount];
    }

    /** The shards' epochs now, by shard id. */
    long epoch(int shard) {
        synchronized (nodes) {
            return epochs[shard];
        }
    }

    /** Advances the lease clock. */
    void advance(Duration d) {
        nowMillis.addAndGet(d.toMillis());
    }

    /** Lets the held write go on. */
    void releaseHeld() {
        releaseHeld.countDown();
    }

    /** Deletes a node's row, as reaping does after its lease ran out. */
    void forgetNode(String nodeId) {
        leaseOp(() -> nodes.remove(nodeId));
    }

    /** Whether a node row exists (live or not). */
    boolean registered(String nodeId) {
        return leaseOp(() -> nodes.containsKey(nodeId));
    }

    /** The workflow ids of {@code count} workflows in {@code shard}, from {@code from} on. */
    List<Long> workflowsIn(int shard, int count, long from) {
        List<Long> ids = new ArrayList<>();
        for (long id = from; ids.size() < count; id++) {
            if (Shards.of(id, shardCount) == shard) {
                ids.add(id);
            }
        }
        return ids;
    }

    @Override
    public Optional<ShardLeases> cluster() {
        return Optional.of(this);
    }

    @Override
    public Map<Long, List<TaskInstance>> findByWorkflows(Collection<Long> workflowInstanceIds) {
        loads.addAll(workflowInstanceIds);
        return super.findByWorkflows(workflowInstanceIds);
    }

    @Override
    public List<WriteOutcome> write(WriteBatch batch) {
        if (!batch.fence().fenced()) {
            return super.write(batch);
        }
        if (batch.fence().shardCount() != shardCount) {
            throw new IllegalArgumentException("the fence has " + batch.fence().shardCount() + " shards, the store "
                    + shardCount);
        }
        batches.add(batch);
        if (holdBeforeFenceIf.test(batch)) {
            holdBeforeFenceIf = b -> false;
            heldWriteEntered.countDown();
            await(releaseHeld);
        }
        fenceLock.readLock().lock();
        try {
            List<RowUpdate> pass = new ArrayList<>();
            boolean[] fenced = new boolean[batch.updates().size()];
            for (int i = 0; i < fenced.length; i++) {
                RowUpdate u = batch.updates().get(i);
                int shard = batch.fence().shardOf(u.row().workflowInstanceId());
                fenced[i] = epochs[shard] != batch.fence().epochs().get(shard);
                if (!fenced[i]) {
                    pass.add(u);
                }
            }
            if (holdWritesIf.test(batch)) {
                holdWritesIf = b -> false;
                heldWriteEntered.countDown();
                await(releaseHeld);
            }
            List<WriteOutcome> written = pass.isEmpty() ? List.of() : super.write(new WriteBatch(pass));
            List<WriteOutcome> outcomes = new ArrayList<>();
            int next = 0;
            for (boolean f : fenced) {
                outcomes.add(f ? WriteOutcome.FENCED : written.get(next++));
            }
            return outcomes;
        } finally {
            fenceLock.readLock().unlock();
        }
    }

    // ---- ShardLeases ----

    @Override
    public int shardCount() {
        return shardCount;
    }

    @Override
    public void register(String nodeId, String address, Duration lease) {
        leaseOp(() -> {
            if (nodes.containsKey(nodeId)) {
                throw new IllegalStateException("node " + nodeId + " is registered already");
            }
            nodes.put(nodeId, new Node(address, nowMillis.get() + lease.toMillis()));
            return null;
        });
    }

    @Override
    public Renewal heartbeat(String nodeId, Duration lease) {
        return leaseOp(() -> {
            Node n = nodes.get(nodeId);
            if (n == null) {
                return Renewal.NOT_REGISTERED;
            }
            boolean live = alive(nodeId);
            nodes.put(nodeId, new Node(n.address, nowMillis.get() + lease.toMillis()));
            return live ? Renewal.RENEWED : Renewal.RENEWED_AFTER_EXPIRY;
        });
    }

    @Override
    public List<NodeInfo> liveNodes() {
        return leaseOp(() -> nodes.entrySet().stream().filter(e -> alive(e.getKey()))
                .map(e -> new NodeInfo(e.getKey(), e.getValue().address,
                        Duration.ofMillis(e.getValue().expiresAt - nowMillis.get())))
                .sorted(java.util.Comparator.comparing(NodeInfo::nodeId)).toList());
    }

    @Override
    public List<ShardInfo> shards() {
        Error error = shardsThrows.getAndSet(null);
        if (error != null) {
            throw error;
        }
        return leaseOp(() -> {
            List<ShardInfo> map = new ArrayList<>();
            for (int s = 0; s < shardCount; s++) {
                Node n = owners[s] == null ? null : nodes.get(owners[s]);
                map.add(new ShardInfo(s, epochs[s], owners[s], n == null ? null : n.address, alive(owners[s])));
            }
            return map;
        });
    }

    @Override
    public OptionalLong acquire(int shard, String nodeId, long seenEpoch) {
        return fenced(() -> {
            if (epochs[shard] != seenEpoch || (owners[shard] != null && alive(owners[shard])) || !alive(nodeId)) {
                return OptionalLong.empty();
            }
            epochs[shard]++;
            owners[shard] = nodeId;
            return OptionalLong.of(epochs[shard]);
        });
    }

    @Override
    public boolean release(int shard, String nodeId, long epoch) {
        releasesBegun.incrementAndGet();
        return fenced(() -> {
            if (epochs[shard] != epoch || !nodeId.equals(owners[shard])) {
                return false;
            }
            epochs[shard]++;
            owners[shard] = null;
            return true;
        });
    }

    @Override
    public void leave(String nodeId) {
        leaseOp(() -> {
            Node n = nodes.get(nodeId);
            if (n != null) {
                nodes.put(nodeId, new Node(n.address, nowMillis.get()));
            }
            return null;
        });
    }

    @Override
    public int reap(Duration olderThan) {
        return leaseOp(() -> {
            List<String> dead = nodes.entrySet().stream()
                    .filter(e -> e.getValue().expiresAt < nowMillis.get() - olderThan.toMillis())
                    .map(Map.Entry::getKey).filter(id -> !List.of(owners).contains(id)).toList();
            dead.forEach(nodes::remove);
            return dead.size();
        });
    }

    @Override
    public List<StateEvent> pendingStateEvents(Set<Integer> shards, int limit) {
        if (outboxReadsFail) {
            throw new StoreException("injected: no connection of the batch pool answered within 5000 ms");
        }
        if (leasesDown) {
            throw new StoreException("injected: the database is away");
        }
        return delegate.pendingStateEvents(Integer.MAX_VALUE).stream()
                .filter(e -> shards.contains(Shards.of(e.workflowInstanceId(), shardCount))).limit(limit).toList();
    }

    @Override
    public Optional<Duration> writerIdleTimeout() {
        return Optional.of(Duration.ofSeconds(5));
    }

    private boolean alive(String nodeId) {
        Node n = nodeId == null ? null : nodes.get(nodeId);
        return n != null && n.expiresAt > nowMillis.get();
    }

    /** A lease operation that does not touch epochs: under the nodes monitor only. */
    private <T> T leaseOp(java.util.function.Supplier<T> op) {
        if (leasesDown) {
            throw new StoreException("injected: the database is away");
        }
        synchronized (nodes) {
            return op.get();
        }
    }

    /** A takeover or release: waits for every fenced write in flight, then changes the epoch. */
    private <T> T fenced(java.util.function.Supplier<T> op) {
        if (leasesDown) {
            throw new StoreException("injected: the database is away");
        }
        fenceLock.writeLock().lock();
        try {
            synchronized (nodes) {
                return op.get();
            }
        } finally {
            fenceLock.writeLock().unlock();
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            if (!latch.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the test never released a held write");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted", e);
        }
    }
}
