package dev.taskevents.api.spi;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskInstance;
import java.util.Objects;

/**
 * One row of a {@link WriteBatch}: replace the stored row {@code row.id()} by {@code row} if the
 * stored version is {@code expectedVersion}. The new row carries {@code expectedVersion + 1}.
 *
 * @param row the row to write
 * @param expectedVersion the version the stored row must have
 * @param notification the change to record in the store's outbox in the same transaction, if
 *     the row is written ({@link TaskInstanceStore#pendingStateEvents}); null for none
 */
public record RowUpdate(TaskInstance row, long expectedVersion, StateEvent notification) {
    public RowUpdate {
        Objects.requireNonNull(row, "row");
        if (row.version() != expectedVersion + 1) {
            throw new IllegalArgumentException("row " + row.id() + " has version " + row.version()
                    + " but an update from version " + expectedVersion + " must write version "
                    + (expectedVersion + 1));
        }
        if (notification != null && (notification.taskInstanceId() != row.id()
                || notification.workflowInstanceId() != row.workflowInstanceId()
                || notification.version() != row.version())) {
            throw new IllegalArgumentException("the notification " + notification + " does not describe row "
                    + row.id() + " of workflow instance " + row.workflowInstanceId() + " at version " + row.version());
        }
    }

    /** An update that records nothing in the outbox. */
    public RowUpdate(TaskInstance row, long expectedVersion) {
        this(row, expectedVersion, null);
    }
}
