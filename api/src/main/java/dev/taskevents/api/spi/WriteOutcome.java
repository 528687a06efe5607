package dev.taskevents.api.spi;

/** What happened to one {@link RowUpdate} of a {@link WriteBatch}. */
public enum WriteOutcome {
    /** Written (and committed with the batch). */
    APPLIED,
    /** Not written: the stored version was not the expected one; someone else changed the row. */
    VERSION_CONFLICT,
    /** Not written: no row has this id. */
    NOT_FOUND,
    /**
     * Not written (cluster mode): the batch's {@link ShardFence} epoch for the row's shard is not
     * the shard's epoch in the store: another node took the shard, or this node released it.
     * Nothing of the row was written, locked or recorded in the outbox. Checked before
     * {@link #NOT_FOUND} and {@link #VERSION_CONFLICT}.
     */
    FENCED
}
