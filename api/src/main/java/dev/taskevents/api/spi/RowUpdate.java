package dev.taskevents.api.spi;

import dev.taskevents.api.TaskInstance;
import java.util.Objects;

/**
 * One row of a {@link WriteBatch}: replace the stored row {@code row.id()} by {@code row} if the
 * stored version is {@code expectedVersion}. The new row carries {@code expectedVersion + 1}.
 */
public record RowUpdate(TaskInstance row, long expectedVersion) {
    public RowUpdate {
        Objects.requireNonNull(row, "row");
        if (row.version() != expectedVersion + 1) {
            throw new IllegalArgumentException("row " + row.id() + " has version " + row.version()
                    + " but an update from version " + expectedVersion + " must write version "
                    + (expectedVersion + 1));
        }
    }
}
