package dev.taskevents.storecontract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Shards;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardLeases.NodeInfo;
import dev.taskevents.api.spi.ShardLeases.ShardInfo;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the cluster contracts share: a fresh store (on a fresh database) per test, its
 * {@link ShardLeases}, ids, nodes, and waits on the store's own clock: a bounded poll of
 * {@link ShardLeases#liveNodes()}, which compares with the database's time, never a sleep.
 */
public abstract class ClusterStoreFixture {
    private static final AtomicLong NEXT_ID = new AtomicLong(System.currentTimeMillis() % 1_000_000_000L * 1_000);
    protected static final Duration LONG = Duration.ofSeconds(60);
    protected static final Duration SHORT = Duration.ofMillis(300);

    protected TaskInstanceStore store;
    protected ShardLeases leases;

    /** A fresh store on a fresh database; the contract closes it after each test. */
    protected abstract TaskInstanceStore openStore();

    @BeforeEach
    void open() {
        store = openStore();
        leases = store.cluster().orElseThrow(() -> new AssertionError("the store offers no cluster operations"));
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    protected static long newId() {
        return NEXT_ID.incrementAndGet();
    }

    protected static String newNode(String name) {
        return name + "/" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** A new workflow id in {@code shard}. */
    protected long workflowIn(int shard) {
        while (true) {
            long id = newId();
            if (Shards.of(id, leases.shardCount()) == shard) {
                return id;
            }
        }
    }

    /** Waits (bounded) until the store's clock has passed the node's lease. */
    protected void awaitExpired(String nodeId) throws InterruptedException {
        Await.until(() -> leases.liveNodes().stream().noneMatch(n -> n.nodeId().equals(nodeId)));
    }

    protected ShardInfo shard(int shard) {
        return leases.shards().get(shard);
    }

    protected static TaskInstance next(TaskInstance row, String eventId, Instant t) {
        return new TaskInstance(row.id(), row.workflowInstanceId(), row.name(), dev.taskevents.api.TaskState.RUNNING,
                "h", row.logPath(), row.executePath(), row.processId(), row.appIds(), t, row.endTime(), row.varPool(),
                row.finishEventId(), eventId, row.version() + 1, t);
    }

    protected static StateEvent changeOf(TaskInstance row) {
        return new StateEvent(row.workflowInstanceId(), row.id(), TaskEventType.RUNNING, row.state(), row.lastEventId(),
                row.version(), row.updatedAt());
    }

}
