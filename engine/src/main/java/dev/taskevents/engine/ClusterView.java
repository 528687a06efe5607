package dev.taskevents.engine;

import dev.taskevents.api.spi.ShardLeases;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What one cluster node knows of the cluster at one moment ({@link TaskEventEngine#cluster()}).
 *
 * @param nodeId this node's id: its node name, "/" and 8 random hex digits, new at every start
 *     (and after its lease was found gone)
 * @param shardCount the cluster's shard count, fixed when the schema was created
 * @param owned the shards this node holds or is taking, by shard id
 * @param liveNodes the live nodes as the store answered them at the last claim round, by id,
 *     each with the lease it had left then (empty before the first round)
 * @param shardMap the shard map as the store answered it at the last claim round (empty before
 *     the first)
 * @param mapAge how long ago the last claim round read {@code liveNodes} and {@code shardMap};
 *     null before the first
 * @param counters what happened since the start
 */
public record ClusterView(String nodeId, int shardCount, List<OwnedShard> owned,
                          List<ShardLeases.NodeInfo> liveNodes, List<ShardLeases.ShardInfo> shardMap,
                          Duration mapAge, Counters counters) {
    public ClusterView {
        Objects.requireNonNull(nodeId, "nodeId");
        owned = List.copyOf(owned);
        liveNodes = List.copyOf(liveNodes);
        shardMap = List.copyOf(shardMap);
        Objects.requireNonNull(counters, "counters");
    }

    /**
     * Where this node's tenure of a shard is. Events of a shard run only while it is
     * {@code ACTIVE}; in the three states before and after, they wait (in arrival order); a shard
     * not held at all (or {@code RELEASED}, {@code LOST}) answers them
     * {@link dev.taskevents.api.Acknowledgement.Moved}.
     */
    public enum ShardState {
        /** Taken in the store at a new epoch; the shard's cached state is being dropped. */
        ACQUIRING,
        /** Telling the sink the state events the previous owner committed and may not have told. */
        RETELLING,
        /** Serving the shard's events. */
        ACTIVE,
        /** Giving the shard up: waiting for its events in flight, new ones wait. */
        DRAINING,
        /** Given up in order. */
        RELEASED,
        /** Lost: another node took it, or this node's hold ended without a release. */
        LOST
    }

    /**
     * A shard this node holds.
     *
     * @param shard the shard id
     * @param epoch the epoch this node holds it at (its writes carry it)
     * @param state where the tenure is
     */
    public record OwnedShard(int shard, long epoch, ShardState state) {
        public OwnedShard {
            Objects.requireNonNull(state, "state");
        }
    }

    /**
     * Counts since this node started.
     *
     * @param takeovers shards acquired
     * @param releases shards given up in order
     * @param shardsLost shards lost without a release
     * @param fencedRows writes the store answered FENCED (or that the node fenced itself: an older
     *     epoch of a shard beside a newer one in one batch)
     * @param movedAnswers events answered {@link dev.taskevents.api.Acknowledgement.Moved}
     * @param heartbeatFailures heartbeats that failed or found the node's lease gone
     */
    public record Counters(long takeovers, long releases, long shardsLost, long fencedRows, long movedAnswers,
                           long heartbeatFailures) {}
}
