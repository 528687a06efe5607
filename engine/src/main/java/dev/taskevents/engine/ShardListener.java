package dev.taskevents.engine;

/**
 * Told when this node's hold on a shard begins or ends (cluster mode, {@link ClusterSettings}).
 * An embedded host runs the workflow state machines of a shard where the engine owns it: it starts
 * them on {@link #acquired} (called before the shard's untold state events are re-told to the
 * sink, so the machines exist when those arrive) and stops them on {@link #released} or
 * {@link #lost}. Called on the engine's cluster thread: keep it short, and do not throw.
 */
public interface ShardListener {
    /** A listener that does nothing. */
    ShardListener NONE = new ShardListener() {};

    /** This node took {@code shard} at {@code epoch}; its events are held until the re-tell is done. */
    default void acquired(int shard, long epoch) {}

    /** This node gave {@code shard} up in order (drained, then released in the store). */
    default void released(int shard) {}

    /**
     * This node lost {@code shard} without giving it up (another node took it, a write was fenced,
     * the node's lease ran out, the store refused its release, or its release failed while the
     * node was closing). Told only after {@link #acquired} of the same hold, never instead of it:
     * a hold lost before it was announced is not told at all.
     */
    default void lost(int shard) {}
}
