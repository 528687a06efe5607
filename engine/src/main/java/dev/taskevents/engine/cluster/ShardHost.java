package dev.taskevents.engine.cluster;

import java.util.Set;

/** What the {@link ClusterMember} asks of the engine when a tenure begins or ends. */
public interface ShardHost {
    /**
     * Drops everything the engine caches of the shard's workflows (snapshots, the outbox relay's
     * unsettled marks): on loss or release, and again on acquisition (a load in flight at the
     * loss may have filled the cache again).
     */
    void sweep(int shard);

    /**
     * Tells the sink every outbox entry of these shards and removes it (the previous owner's
     * committed, maybe untold changes).
     *
     * @return false if the sink refused one (the shards stay RETELLING, retried next round)
     * @throws RuntimeException if the store could not be read (the same)
     */
    boolean retell(Set<Integer> shards);

    /**
     * How far the engine's store work has got, read at each heartbeat: the member renews its
     * lease only while that work moves ({@link ClusterMember}, invariant 10).
     */
    Progress progress();

    /**
     * @param completed a count that rises with every batch write the store answered and every
     *     state event re-told
     * @param pending whether writes wait for the store now
     */
    record Progress(long completed, boolean pending) {
    }
}
