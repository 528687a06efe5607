package dev.taskevents.storage.jdbc;

import java.time.Duration;
import java.util.Objects;

/**
 * How to open a JDBC store.
 *
 * @param url a JDBC URL: {@code jdbc:postgresql://host:port/db}, {@code jdbc:mysql://...},
 *     {@code jdbc:mariadb://...} or {@code jdbc:h2:file:/path} ({@code jdbc:h2:mem:name} for tests).
 *     Driver properties (user, password, currentSchema, ...) may be in the URL.
 * @param user the database user, or null to take it from the URL
 * @param password the password, or null to take it from the URL
 * @param maximumPoolSize the most connections held open
 * @param connectionTimeout how long opening the store or taking a connection may wait before
 *     failing with a clear error
 * @param migrateOnOpen whether {@code open} applies pending migrations; if false, it only
 *     validates that the schema is current and fails if not
 * @param multiRowUpdates on PostgreSQL, write a batch's rows with one {@code UPDATE ... FROM
 *     (VALUES ...)} statement per 100 rows instead of a JDBC batch of single-row UPDATEs. Off by
 *     default: measured slower here (see the README); other databases always use the JDBC batch
 */
public record JdbcStoreOptions(String url, String user, String password, int maximumPoolSize,
                               Duration connectionTimeout, boolean migrateOnOpen,
                               boolean multiRowUpdates) {
    public JdbcStoreOptions {
        Objects.requireNonNull(url, "url");
        if (maximumPoolSize < 1) {
            throw new IllegalArgumentException("maximumPoolSize must be at least 1, was " + maximumPoolSize);
        }
        if (connectionTimeout.compareTo(Duration.ofMillis(250)) < 0) {
            throw new IllegalArgumentException("connectionTimeout must be at least 250 ms, was " + connectionTimeout);
        }
    }

    /**
     * The defaults: credentials from the URL, 8 connections, 5 s connection timeout, migrate on
     * open, JDBC-batch updates.
     */
    public static JdbcStoreOptions of(String url) {
        return new JdbcStoreOptions(url, null, null, 8, Duration.ofSeconds(5), true, false);
    }

    public JdbcStoreOptions withCredentials(String user, String password) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrateOnOpen, multiRowUpdates);
    }

    public JdbcStoreOptions withMaximumPoolSize(int size) {
        return new JdbcStoreOptions(url, user, password, size, connectionTimeout, migrateOnOpen, multiRowUpdates);
    }

    public JdbcStoreOptions withConnectionTimeout(Duration timeout) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, timeout, migrateOnOpen, multiRowUpdates);
    }

    public JdbcStoreOptions withMigrateOnOpen(boolean migrate) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrate, multiRowUpdates);
    }

    public JdbcStoreOptions withMultiRowUpdates(boolean multiRow) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrateOnOpen, multiRow);
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "JdbcStoreOptions[url=" + JdbcStores.redact(url) + ", user=" + user + ", password="
                + (password == null ? "null" : "***") + ", maximumPoolSize=" + maximumPoolSize
                + ", connectionTimeout=" + connectionTimeout + ", migrateOnOpen=" + migrateOnOpen
                + ", multiRowUpdates=" + multiRowUpdates + "]";
    }
}
