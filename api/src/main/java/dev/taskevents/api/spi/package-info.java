/**
 * What a host or a storage module implements: {@link dev.taskevents.api.spi.TaskInstanceStore}
 * (persisted task state), {@link dev.taskevents.api.spi.StorageProvider} (found by
 * {@link java.util.ServiceLoader}, opens a store from a URL) and
 * {@link dev.taskevents.api.spi.WorkflowStateSink} (told of every committed state change).
 */
package dev.taskevents.api.spi;
