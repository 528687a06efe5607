package dev.taskevents.storage.memory;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storecontract.TaskInstanceStoreContract;

class MemoryStoreContractTest extends TaskInstanceStoreContract {
    @Override
    protected TaskInstanceStore openStore() {
        return Stores.open("memory:");
    }
}
