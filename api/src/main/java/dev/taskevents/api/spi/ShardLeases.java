package dev.taskevents.api.spi;

import dev.taskevents.api.StateEvent;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The cluster operations of a store that several engine nodes share
 * ({@link TaskInstanceStore#cluster()}): node leases, shard ownership and shard epochs.
 *
 * <p><b>Clocks decide when, epochs decide whether.</b> A lease is judged by the store's clock
 * (the database's), never by a node's: it decides only when another node may take a shard over.
 * Correctness rests on the epoch alone. {@link #acquire} and {@link #release} raise a shard's
 * epoch by one, and wait for every write in flight under the old epoch to end; a write carrying
 * an older epoch is {@link WriteOutcome#FENCED} afterwards. So a node paused for any time, or
 * one whose clock is wrong, writes nothing to a shard it lost.
 *
 * <p>Every method either does what it says or throws {@link StoreException} (the store could not
 * be reached; the call may be retried) or {@link IllegalArgumentException} (bad input).
 */
public interface ShardLeases {

    /** The shard count recorded when the schema was created; it never changes. */
    int shardCount();

    /**
     * Registers a node with a lease of {@code lease} from now, by the store's clock.
     *
     * @param nodeId a new node id (a node registers once per start)
     * @param address where the node takes events (e.g. {@code http://10.0.0.5:8080}), or null
     * @throws IllegalStateException if the id is registered already
     */
    void register(String nodeId, String address, Duration lease);

    /**
     * Extends the node's lease to the store's now plus {@code lease}, and says whether the lease
     * had run out before (by the store's clock).
     */
    Renewal heartbeat(String nodeId, Duration lease);

    /** What a {@link #heartbeat} found. */
    enum Renewal {
        /** The lease was live; it now lasts the lease from now. */
        RENEWED,
        /**
         * The lease had expired (the node could not reach the store, or was paused, for longer
         * than its lease); it lasts the lease from now again. Meanwhile other nodes may have
         * taken the node's shards, and other nodes' leases may have run out in the same outage.
         */
        RENEWED_AFTER_EXPIRY,
        /**
         * The node is not registered (its row was reaped): it must treat every shard it held as
         * lost and register anew.
         */
        NOT_REGISTERED
    }

    /** The nodes whose lease has not expired by the store's clock, ordered by id. */
    List<NodeInfo> liveNodes();

    /** Every shard, ordered by shard id: epoch, owner (or none), and whether the owner's lease is live. */
    List<ShardInfo> shards();

    /**
     * Takes the shard if its epoch is still {@code seenEpoch}, it has no owner or its owner's
     * lease has expired, and the acquiring node's own lease is live (all by the store's clock).
     * Returns once every write in flight under the old epoch has ended.
     *
     * @return the new epoch ({@code seenEpoch + 1}), or empty if the shard was not taken
     */
    OptionalLong acquire(int shard, String nodeId, long seenEpoch);

    /**
     * Gives the shard up: its epoch rises by one and it has no owner. Returns once every write in
     * flight under {@code epoch} has ended; any later write under it is FENCED.
     *
     * @return false if the node did not hold the shard at {@code epoch} (it was lost already)
     */
    boolean release(int shard, String nodeId, long epoch);

    /** Ends the node's lease now (a graceful leave, after releasing its shards). */
    void leave(String nodeId);

    /**
     * Deletes the rows of nodes whose lease expired more than {@code olderThan} ago and that own
     * no shard.
     *
     * @return how many were deleted
     */
    int reap(Duration olderThan);

    /**
     * The oldest {@code limit} outbox entries ({@link TaskInstanceStore#pendingStateEvents(int)})
     * of workflows in these shards, in commit order per workflow instance. A node that takes a
     * shard over tells these first: changes the old owner committed and may not have told.
     *
     * @throws IllegalArgumentException if {@code limit} is below 1 or a shard is out of range
     */
    List<StateEvent> pendingStateEvents(Set<Integer> shards, int limit);

    /**
     * How long the database lets a write transaction of this store sit idle before it ends it
     * (releasing its shard locks), if the store bounds it. Unbounded, a node paused inside a
     * write transaction delays the takeover of its shards until it resumes.
     */
    Optional<Duration> writerIdleTimeout();

    /**
     * A live node.
     *
     * @param nodeId the node's id
     * @param address where it takes events, or null
     * @param leaseLeft how long its lease has left by the store's clock
     */
    record NodeInfo(String nodeId, String address, Duration leaseLeft) {
        public NodeInfo {
            Objects.requireNonNull(nodeId, "nodeId");
            Objects.requireNonNull(leaseLeft, "leaseLeft");
        }
    }

    /**
     * One shard as the store records it.
     *
     * @param shard the shard id
     * @param epoch its epoch
     * @param ownerNode the owning node's id, or null if none owns it
     * @param ownerAddress the owner's address, or null
     * @param ownerAlive whether the owner's lease is live by the store's clock (false without owner)
     */
    record ShardInfo(int shard, long epoch, String ownerNode, String ownerAddress, boolean ownerAlive) {
    }
}
