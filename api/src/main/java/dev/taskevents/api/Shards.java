package dev.taskevents.api;

/**
 * The shard of a workflow instance in cluster mode. Every node, every client that routes events,
 * and every tool that audits a cluster must compute the same shard for the same workflow, for
 * the whole life of a database: this function is frozen. Changing it would move every workflow
 * of every existing cluster to another shard (its golden values are pinned by tests).
 *
 * <p>The id is mixed with the SplitMix64 finaliser (Steele, Lea and Flood, 2014) before the
 * unsigned remainder, so that sequential ids and ids with a common stride (multiples of 1024,
 * say) spread evenly over any shard count, power of two or not.
 */
public final class Shards {
    /** The largest shard count a cluster can be created with. */
    public static final int MAX_SHARD_COUNT = 65_536;

    /** The shard count a cluster gets when none is given at creation. */
    public static final int DEFAULT_SHARD_COUNT = 256;

    private Shards() {
    }

    /**
     * The shard, from 0 to {@code shardCount - 1}, of the workflow instance.
     *
     * @throws IllegalArgumentException if {@code shardCount} is not between 1 and
     *     {@link #MAX_SHARD_COUNT}
     */
    public static int of(long workflowInstanceId, int shardCount) {
        checkCount(shardCount);
        long z = workflowInstanceId;
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        z = z ^ (z >>> 31);
        return (int) Long.remainderUnsigned(z, shardCount);
    }

    /**
     * Returns {@code shardCount} if it is a valid shard count.
     *
     * @throws IllegalArgumentException if it is not between 1 and {@link #MAX_SHARD_COUNT}
     */
    public static int checkCount(int shardCount) {
        if (shardCount < 1 || shardCount > MAX_SHARD_COUNT) {
            throw new IllegalArgumentException("shard count must be between 1 and " + MAX_SHARD_COUNT
                    + ", was " + shardCount);
        }
        return shardCount;
    }
}
