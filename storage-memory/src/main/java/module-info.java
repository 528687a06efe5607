/**
 * An in-memory {@link dev.taskevents.api.spi.TaskInstanceStore} for {@code memory:} URLs. Nothing
 * is exported: it is reached through {@link dev.taskevents.api.Stores#open(String)}.
 */
module dev.taskevents.storage.memory {
    requires dev.taskevents.api;

    provides dev.taskevents.api.spi.StorageProvider
            with dev.taskevents.storage.memory.MemoryStorageProvider;
}
