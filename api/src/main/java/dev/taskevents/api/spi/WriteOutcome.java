package dev.taskevents.api.spi;

/** What happened to one {@link RowUpdate} of a {@link WriteBatch}. */
public enum WriteOutcome {
    /** Written (and committed with the batch). */
    APPLIED,
    /** Not written: the stored version was not the expected one; someone else changed the row. */
    VERSION_CONFLICT,
    /** Not written: no row has this id. */
    NOT_FOUND
}
