package dev.taskevents.api.spi;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The updates the engine commits together (group commit). Each task instance appears at most
 * once: the engine holds a workflow's next event until its previous write has returned.
 *
 * <p>A record so that it can grow a component without breaking stores: cluster mode will add
 * an owner-epoch fencing condition checked in the same transaction.
 */
public record WriteBatch(List<RowUpdate> updates) {
    public WriteBatch {
        updates = List.copyOf(updates);
        Set<Long> ids = new HashSet<>();
        for (RowUpdate u : updates) {
            if (!ids.add(u.row().id())) {
                throw new IllegalArgumentException("task instance " + u.row().id()
                        + " appears twice in one write batch");
            }
        }
    }
}
