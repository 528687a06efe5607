package dev.taskevents.api.spi;

import java.util.List;

/**
 * Opens {@link TaskInstanceStore}s for the URLs it serves. Found by {@link java.util.ServiceLoader}:
 * a module provides it with {@code provides dev.taskevents.api.spi.StorageProvider with ...},
 * and {@link dev.taskevents.api.Stores#open(String)} picks the first provider that
 * {@link #supports(String) supports} the URL.
 */
public interface StorageProvider {

    /** A short name for messages, e.g. {@code "memory"} or {@code "jdbc"}. */
    String name();

    /** The URL prefixes this provider serves, e.g. {@code ["memory:"]}; used in error messages. */
    List<String> urlPrefixes();

    /** Whether this provider serves {@code url}; by default, whether it starts with one of the prefixes. */
    default boolean supports(String url) {
        return urlPrefixes().stream().anyMatch(url::startsWith);
    }

    /**
     * Opens a store. The caller owns it and closes it.
     *
     * @throws IllegalArgumentException if the URL is malformed for this provider
     * @throws StoreException if the store cannot be opened (unreachable, refused)
     */
    TaskInstanceStore open(String url);
}
