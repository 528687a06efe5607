package dev.taskevents.storage.jdbc;

import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storage.jdbc.internal.JdbcTaskInstanceStore;
import dev.taskevents.storage.jdbc.internal.Schema;
import dev.taskevents.storage.jdbc.internal.UrlPasswords;

/**
 * Opens JDBC stores with options, and applies the schema migrations on demand. The plain way,
 * {@code Stores.open("jdbc:...")}, uses {@link JdbcStoreOptions#of(String)}.
 */
public final class JdbcStores {
    private JdbcStores() {}

    /**
     * Opens a store: starts the connection pool (failing within the connection timeout if the
     * database cannot be reached), then migrates or validates the schema.
     *
     * @throws IllegalArgumentException if the URL is not one this module serves
     * @throws dev.taskevents.api.spi.StoreException if the database cannot be reached, refuses
     *     the credentials, or its schema cannot be migrated or does not validate
     */
    public static TaskInstanceStore open(JdbcStoreOptions options) {
        return JdbcTaskInstanceStore.open(options);
    }

    /**
     * Applies the pending migrations and returns the schema version now in force (e.g. {@code "1"}).
     *
     * @throws dev.taskevents.api.spi.StoreException as {@link #open}
     */
    public static String migrate(JdbcStoreOptions options) {
        return Schema.migrate(options);
    }

    /** {@code url} with any password replaced by {@code ***}, for messages and logs. */
    public static String redact(String url) {
        return UrlPasswords.redact(url);
    }
}
