package dev.taskevents.engine;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StoreException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.LongSupplier;

/**
 * The store's {@link ShardLeases} as the engine's cluster member uses them, cut off at the
 * deadline of the engine's close: from then on {@link #release}, {@link #leave} and
 * {@link #heartbeat} are not sent to the store and throw {@link StoreException} at once. From the
 * start of the close, {@link #register} is refused the same way: a node registered by a late
 * heartbeat would count as live, holding nothing, until its lease ran out.
 *
 * <p>Why that is safe: a graceful close releases each shard it holds, one statement each, then
 * ends the node's lease; a store that answers slowly (a database away, each try waiting its
 * connection timeout, or a release waiting for a lock) would make the close last one wait per
 * shard. A release not sent leaves the shard held at its epoch by a node whose lease is no longer
 * renewed; another node takes it over once the lease runs out, raising the epoch, so nothing is
 * written under the old one afterwards. The member treats a release that throws at close as
 * lost (ClusterMember, invariant 5). Calls sent before the deadline run to their end: a close
 * lasts at most its deadline plus the calls in flight then (a release, a heartbeat; each bounded
 * by the store, e.g. its connection timeout): the member bounds its own waits (the drain of
 * events in flight, the shard listener) by the same deadline.
 */
final class CloseBoundedLeases implements ShardLeases {
    /** Deadlines beyond this are taken as this: far enough, and {@code now + it} cannot overflow. */
    private static final Duration LONGEST = Duration.ofDays(365L * 100);

    private final ShardLeases store;
    private final LongSupplier nanoClock;
    /** Set once, by {@link #cutOffAfter}, after {@link #deadline}. */
    private volatile boolean closing;
    /** By {@link #nanoClock}, the member's clock. */
    private volatile long deadline;

    CloseBoundedLeases(ShardLeases store, LongSupplier nanoClock) {
        this.store = Objects.requireNonNull(store, "store");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
    }

    /** From {@code deadline} after now on, release, leave and heartbeat are refused. */
    void cutOffAfter(Duration deadline) {
        long nanos = deadline.isNegative() ? 0
                : deadline.compareTo(LONGEST) > 0 ? LONGEST.toNanos() : deadline.toNanos();
        this.deadline = nanoClock.getAsLong() + nanos;
        closing = true;
    }

    private void refuseAfterDeadline(String what, String consequence) {
        if (closing && nanoClock.getAsLong() - deadline >= 0) {
            throw new StoreException("did not " + what + ": the engine's close reached its deadline; " + consequence);
        }
    }

    @Override
    public int shardCount() {
        return store.shardCount();
    }

    @Override
    public void register(String nodeId, String address, Duration lease) {
        if (closing) {
            throw new StoreException("did not register node " + nodeId + ": the engine is closing, and a node"
                    + " registered now would count as live while holding nothing");
        }
        store.register(nodeId, address, lease);
    }

    @Override
    public Renewal heartbeat(String nodeId, Duration lease) {
        refuseAfterDeadline("renew the lease of node " + nodeId, "it runs out by itself");
        return store.heartbeat(nodeId, lease);
    }

    @Override
    public List<NodeInfo> liveNodes() {
        return store.liveNodes();
    }

    @Override
    public List<ShardInfo> shards() {
        return store.shards();
    }

    @Override
    public OptionalLong acquire(int shard, String nodeId, long seenEpoch) {
        return store.acquire(shard, nodeId, seenEpoch);
    }

    @Override
    public boolean release(int shard, String nodeId, long epoch) {
        refuseAfterDeadline("release shard " + shard + " of node " + nodeId, "it stays held at epoch " + epoch
                + " until the node's lease runs out");
        return store.release(shard, nodeId, epoch);
    }

    @Override
    public void leave(String nodeId) {
        refuseAfterDeadline("end the lease of node " + nodeId, "it runs out by itself");
        store.leave(nodeId);
    }

    @Override
    public int reap(Duration olderThan) {
        return store.reap(olderThan);
    }

    @Override
    public List<StateEvent> pendingStateEvents(Set<Integer> shards, int limit) {
        return store.pendingStateEvents(shards, limit);
    }

    @Override
    public Optional<Duration> writerIdleTimeout() {
        return store.writerIdleTimeout();
    }
}
