package dev.taskevents.storage.memory;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storecontract.TaskInstanceStoreContract;

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
}
