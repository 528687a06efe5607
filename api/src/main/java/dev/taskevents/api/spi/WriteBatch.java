package dev.taskevents.api.spi;

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
 */
public record WriteBatch(List<RowUpdate> updates, ShardFence fence) {
    public WriteBatch {
        updates = List.copyOf(updates);
        Objects.requireNonNull(fence, "fence");
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

    /** A batch outside cluster mode: nothing fenced. */
    public WriteBatch(List<RowUpdate> updates) {
        this(updates, ShardFence.NONE);
    }
}
