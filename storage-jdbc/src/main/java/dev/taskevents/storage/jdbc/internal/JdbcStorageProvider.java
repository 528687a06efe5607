package dev.taskevents.storage.jdbc.internal;

import dev.taskevents.api.spi.StorageProvider;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import java.util.List;

/** Serves {@code jdbc:postgresql:}, {@code jdbc:mysql:}, {@code jdbc:mariadb:} and {@code jdbc:h2:} URLs. */
public final class JdbcStorageProvider implements StorageProvider {
    @Override
    public String name() {
        return "jdbc";
    }

    @Override
    public List<String> urlPrefixes() {
        return Dialects.PREFIXES;
    }

    @Override
    public TaskInstanceStore open(String url) {
        return JdbcTaskInstanceStore.open(JdbcStoreOptions.of(url));
    }
}
