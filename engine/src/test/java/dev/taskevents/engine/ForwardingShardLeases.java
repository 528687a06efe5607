package dev.taskevents.engine;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A {@link ClusterTestStore} behind a store that forwards every call, task store and leases alike;
 * a test overrides the calls it delays, gates or fails.
 */
class ForwardingShardLeases extends ForwardingTaskInstanceStore implements ShardLeases {
    final ClusterTestStore inner;

    ForwardingShardLeases(ClusterTestStore inner) {
        super(inner);
        this.inner = inner;
    }

    @Override
    public Optional<ShardLeases> cluster() {
        return Optional.of(this);
    }

    @Override
    public int shardCount() {
        return inner.shardCount();
    }

    @Override
    public void register(String nodeId, String address, Duration lease) {
        inner.register(nodeId, address, lease);
    }

    @Override
    public Renewal heartbeat(String nodeId, Duration lease) {
        return inner.heartbeat(nodeId, lease);
    }

    @Override
    public List<NodeInfo> liveNodes() {
        return inner.liveNodes();
    }

    @Override
    public List<ShardInfo> shards() {
        return inner.shards();
    }

    @Override
    public OptionalLong acquire(int shard, String nodeId, long seenEpoch) {
        return inner.acquire(shard, nodeId, seenEpoch);
    }

    @Override
    public boolean release(int shard, String nodeId, long epoch) {
        return inner.release(shard, nodeId, epoch);
    }

    @Override
    public void leave(String nodeId) {
        inner.leave(nodeId);
    }

    @Override
    public int reap(Duration olderThan) {
        return inner.reap(olderThan);
    }

    @Override
    public List<StateEvent> pendingStateEvents(Set<Integer> shards, int limit) {
        return inner.pendingStateEvents(shards, limit);
    }

    @Override
    public Optional<Duration> writerIdleTimeout() {
        return inner.writerIdleTimeout();
    }
}
