package dev.taskevents.storage.memory;

import dev.taskevents.api.spi.StorageProvider;
import dev.taskevents.api.spi.TaskInstanceStore;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Serves {@code memory:} URLs. {@code memory:} alone opens a new, empty store each time;
 * {@code memory:NAME} opens the store of that name, shared by every open of the same name in this
 * JVM, so that a host and a tool can see the same data. Each open returns its own handle onto
 * that data: closing one handle does not close the others. Nothing survives the JVM.
 */
public final class MemoryStorageProvider implements StorageProvider {
    private static final ConcurrentHashMap<String, MemoryTaskInstanceStore.Data> NAMED = new ConcurrentHashMap<>();

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public List<String> urlPrefixes() {
        return List.of("memory:");
    }

    @Override
    public TaskInstanceStore open(String url) {
        if (!supports(url)) {
            throw new IllegalArgumentException("not a memory store URL: \"" + url + "\" (expected memory: or memory:NAME)");
        }
        String name = url.substring("memory:".length());
        if (name.isEmpty()) {
            return new MemoryTaskInstanceStore(new MemoryTaskInstanceStore.Data(), url);
        }
        if (!name.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new IllegalArgumentException("memory store name \"" + name
                    + "\" must be 1-64 letters, digits, '_', '.' or '-'");
        }
        return new MemoryTaskInstanceStore(NAMED.computeIfAbsent(name, n -> new MemoryTaskInstanceStore.Data()), url);
    }
}
