package dev.taskevents.storage.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Shards;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardFence;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.storecontract.TaskInstanceStoreContract;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MemoryStoreContractTest extends TaskInstanceStoreContract {
    @Override
    protected TaskInstanceStore openStore() {
        return Stores.open("memory:");
    }

    /** A name with a space: not one a memory store may have. */
    @Override
    protected String malformedUrl() {
        return "memory:not a name";
    }

    /** memory: lives in one process: it cannot take part in cluster mode, and says so. */
    @Test
    void refusesClusterModeAndAFencedBatch() {
        assertTrue(store.cluster().isEmpty());
        long id = newId();
        TaskInstance row = submitted(id, 42);
        store.insert(List.of(row));
        ShardFence fence = new ShardFence(4, Map.of(Shards.of(42, 4), 1L));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.write(new WriteBatch(List.of(new RowUpdate(finished(row, 1, null), 0)), fence)));
        assertEquals("this store does not take part in cluster mode (it lives in one process), so it cannot"
                + " check a write batch's shard fence", e.getMessage());
        assertEquals(0, store.find(id).orElseThrow().version());
    }
}
