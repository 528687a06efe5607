package dev.taskevents.api.spi;

import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The updates the engine commits together (group commit). Each task instance appears at most
 * once: the engine holds a workflow's next event until its previous write has returned.
 *
 * @param updates the row updates, in no particular order
 * @param fence the shard epochs the batch is written under; {@link ShardFence#NONE} outside
 *     cluster mode. With a fence, every row's shard has an epoch in it.
 * @param recordIn where the notifications of the APPLIED rows are recorded, in the batch's
 *     transaction: the outbox, the feed, both, or (empty) nowhere. The constructors without it
 *     record in the {@link StateEventLog#OUTBOX} only. A store without a
 *     {@link TaskInstanceStore#stateFeed()} refuses a batch that asks for the
 *     {@link StateEventLog#FEED} ({@link IllegalArgumentException}).
 */
public record WriteBatch(List<RowUpdate> updates, ShardFence fence, Set<StateEventLog> recordIn) {
    public WriteBatch {
        updates = List.copyOf(updates);
        Objects.requireNonNull(fence, "fence");
        Objects.requireNonNull(recordIn, "recordIn");
        recordIn = recordIn.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(recordIn));
        Set<Long> ids = new HashSet<>();
        for (RowUpdate u : updates) {
            if (!ids.add(u.row().id())) {
                throw new IllegalArgumentException("task instance " + u.row().id()
                        + " appears twice in one write batch");
            }
            if (fence.fenced() && !fence.epochs().containsKey(fence.shardOf(u.row().workflowInstanceId()))) {
                throw new IllegalArgumentException("task instance " + u.row().id() + " of workflow instance "
                        + u.row().workflowInstanceId() + " is in shard " + fence.shardOf(u.row().workflowInstanceId())
                        + ", for which the batch's fence has no epoch");
            }
        }
    }

    /** A batch under {@code fence} that records its notifications in the outbox only. */
    public WriteBatch(List<RowUpdate> updates, ShardFence fence) {
        this(updates, fence, Set.of(StateEventLog.OUTBOX));
    }

    /** A batch outside cluster mode: nothing fenced; notifications recorded in the outbox only. */
    public WriteBatch(List<RowUpdate> updates) {
        this(updates, ShardFence.NONE);
    }

    /** This batch, recording its notifications in {@code places} instead (empty: nowhere). */
    public WriteBatch withRecordIn(Set<StateEventLog> places) {
        return new WriteBatch(updates, fence, places);
    }

    /** Whether the notifications are recorded in {@code place}. */
    public boolean recordsIn(StateEventLog place) {
        return recordIn.contains(place);
    }
}
