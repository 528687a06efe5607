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
}
