package dev.taskevents.api;

import dev.taskevents.api.spi.StorageProvider;
import dev.taskevents.api.spi.TaskInstanceStore;
import java.util.List;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Opens a {@link TaskInstanceStore} from a URL through the {@link StorageProvider}s that
 * {@link ServiceLoader} finds: {@code memory:} (module dev.taskevents.storage.memory),
 * {@code jdbc:...} (dev.taskevents.storage.jdbc), or a host's own provider.
 */
public final class Stores {
    private Stores() {}

    /**
     * Opens the store for {@code url} with the first provider on the module path (or class path)
     * that supports it.
     *
     * @throws IllegalArgumentException if no provider supports the URL; the message lists the
     *     providers found and the URL prefixes they serve
     */
    public static TaskInstanceStore open(String url) {
        return open(url, providers());
    }

    /** As {@link #open(String)}, choosing among {@code providers} only. */
    public static TaskInstanceStore open(String url, List<StorageProvider> providers) {
        Objects.requireNonNull(url, "url");
        for (StorageProvider provider : providers) {
            if (provider.supports(url)) {
                return provider.open(url);
            }
        }
        throw new IllegalArgumentException("no storage provider serves the URL \"" + url + "\"; "
                + (providers.isEmpty()
                        ? "none was found: put a storage module (taskevents-storage-memory, taskevents-storage-jdbc) on the module path"
                        : "providers found: " + providers.stream()
                                .map(p -> p.name() + " " + p.urlPrefixes())
                                .collect(Collectors.joining(", "))));
    }

    /** The storage providers {@link ServiceLoader} finds from this module's class loader and layer. */
    public static List<StorageProvider> providers() {
        return ServiceLoader.load(StorageProvider.class, Stores.class.getClassLoader()).stream()
                .map(ServiceLoader.Provider::get)
                .toList();
    }
}
