package dev.taskevents.api.spi;

import dev.taskevents.api.Shards;
import java.util.Map;
import java.util.Objects;

/**
 * The shard epochs a {@link WriteBatch} is written under in cluster mode: for each shard the
 * batch touches, the epoch at which the writing node holds it. The store checks them inside the
 * batch's transaction ({@link TaskInstanceStore#write}); a row whose shard's epoch differs is
 * {@link WriteOutcome#FENCED}. {@link #NONE} (single-node mode) checks nothing.
 *
 * @param shardCount the cluster's shard count (as {@link ShardLeases#shardCount()}); 0 for NONE
 * @param epochs the epoch per shard id
 */
public record ShardFence(int shardCount, Map<Integer, Long> epochs) {
    /** No fence: single-node mode. */
    public static final ShardFence NONE = new ShardFence(0, Map.of());

    public ShardFence {
        epochs = Map.copyOf(Objects.requireNonNull(epochs, "epochs"));
        if (shardCount == 0) {
            if (!epochs.isEmpty()) {
                throw new IllegalArgumentException("a fence with epochs needs a shard count");
            }
        } else {
            Shards.checkCount(shardCount);
            for (Map.Entry<Integer, Long> e : epochs.entrySet()) {
                if (e.getKey() < 0 || e.getKey() >= shardCount) {
                    throw new IllegalArgumentException("shard " + e.getKey() + " is not one of the "
                            + shardCount + " shards");
                }
                if (e.getValue() < 0) {
                    throw new IllegalArgumentException("epoch of shard " + e.getKey()
                            + " must not be negative, was " + e.getValue());
                }
            }
        }
    }

    /** Whether this fence checks anything (false for {@link #NONE}). */
    public boolean fenced() {
        return shardCount != 0;
    }

    /** The shard of a workflow instance under this fence's shard count. */
    public int shardOf(long workflowInstanceId) {
        if (!fenced()) {
            throw new IllegalStateException("the empty fence has no shards");
        }
        return Shards.of(workflowInstanceId, shardCount);
    }
}
