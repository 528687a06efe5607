/**
 * The taskevents API: the {@link dev.taskevents.api.TaskEvent} a worker reports, the task
 * state it changes, the acknowledgement it gets back, and the SPIs a host or a storage module
 * implements ({@link dev.taskevents.api.spi}).
 *
 * <p>Stores are found with {@link java.util.ServiceLoader}: {@link dev.taskevents.api.Stores}
 * opens a store from a URL through the {@link dev.taskevents.api.spi.StorageProvider}s on the
 * module path.
 */
module dev.taskevents.api {
    exports dev.taskevents.api;
    exports dev.taskevents.api.spi;

    uses dev.taskevents.api.spi.StorageProvider;
}
