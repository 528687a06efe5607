package dev.taskevents.storage.memory;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storecontract.StateFeedContract;

/** The memory store keeps the feed in memory, with the JDBC store's semantics (not durable). */
class MemoryStateFeedContractTest extends StateFeedContract {
    @Override
    protected TaskInstanceStore openStore() {
        return Stores.open("memory:");
    }
}
