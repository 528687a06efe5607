package dev.taskevents.engine;

/**
 * Told when this node's hold on a shard begins or ends (cluster mode, {@link ClusterSettings}).
 * An embedded host runs the workflow state machines of a shard where the engine owns it: it starts
 * them on {@link #acquired} and stops them on {@link #released} or {@link #lost}.
 *
 * <p>Each hold of a shard is one epoch: {@code acquired(s, e)} begins it, and at most one of
 * {@code released(s, e)} and {@code lost(s, e)} ends it, with the same {@code e}. The calls come
 * on one engine thread, one at a time, in the order this node's ownership changed: the end of a
 * hold always comes before {@code acquired} of the next hold of the same shard, and the end of a
 * hold is told only after its {@code acquired} (a hold that ends before it was announced is not
 * told at all). The shard's untold state events are re-told to the sink only after
 * {@code acquired} returned, so the machines exist when those arrive; until then the shard's
 * events wait.
 *
 * <p>Keep each call short: the calls after it wait for it. Whatever a call throws (an
 * {@link Error} too) is logged and costs only that call.
 */
public interface ShardListener {
    /** A listener that does nothing. */
    ShardListener NONE = new ShardListener() {};

    /** This node took {@code shard} at {@code epoch}; its events are held until the re-tell is done. */
    default void acquired(int shard, long epoch) {}

    /** This node gave up its hold of {@code shard} at {@code epoch} in order (drained, then released in the store). */
    default void released(int shard, long epoch) {}

    /**
     * This node's hold of {@code shard} at {@code epoch} ended without a release (another node
     * took the shard, a write was fenced, the node's lease ran out, the store refused its
     * release, or its release failed while the node was closing).
     */
    default void lost(int shard, long epoch) {}
}
