package dev.taskevents.storage.jdbc;

import dev.taskevents.api.Shards;
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
 *     default: measured slower here (docs/jdbc-store.md); other databases always use the JDBC batch
 * @param shardCount the cluster shard count to record when the migration that creates the
 *     cluster tables runs (1 to 65536), or 0 for none chosen: 256
 *     ({@link Shards#DEFAULT_SHARD_COUNT}) at creation, the recorded count afterwards. The count
 *     never changes once recorded: opening or migrating a database with a different count fails
 * @param writerIdleTimeout how long the database may let a write transaction of this store sit
 *     idle before it ends the session (releasing its locks), or null to let the store choose:
 *     no bound while it serves a single node, half the shortest lease of the nodes it registered
 *     (at least 1 s) once it takes part in a cluster. Cluster mode: bounds how long a node
 *     stopped inside a write delays the takeover of its shards, and, as every batch that records
 *     in the state-event feed updates the feed's one head row before its commit, how long it
 *     stalls the writes of every node. Set on each write connection (PostgreSQL
 *     {@code idle_in_transaction_session_timeout}, MariaDB {@code idle_transaction_timeout},
 *     MySQL {@code wait_timeout}, in whole seconds rounded up on the MySQL family), with a lock
 *     wait bound of the same length (PostgreSQL {@code lock_timeout}, MySQL family
 *     {@code innodb_lock_wait_timeout}); ignored on H2, whose database lives inside the paused process
 * @param statementTimeout how long one statement may wait for the database, or null for no bound
 *     (the default). On the store's connections (batch writes and reads; not the migrations, which
 *     run on a connection of their own) the database cancels a statement that runs longer
 *     (PostgreSQL {@code statement_timeout}, MariaDB {@code max_statement_time}; the store then
 *     throws {@link dev.taskevents.api.spi.StoreException}, and a batch is retried); on every
 *     connection, the cluster's lease connections included, the driver gives the connection up
 *     when the database has not answered {@link #SOCKET_TIMEOUT_SLACK} after that
 *     ({@code socketTimeout}; MySQL has only this). Cluster mode: a node whose database stopped
 *     answering its write connections fails those writes instead of waiting for ever, and its
 *     cluster member sees no progress. Ignored on H2
 */
public record JdbcStoreOptions(String url, String user, String password, int maximumPoolSize,
                               Duration connectionTimeout, boolean migrateOnOpen,
                               boolean multiRowUpdates, int shardCount, Duration writerIdleTimeout,
                               Duration statementTimeout) {
    /**
     * How much longer than {@link #statementTimeout} the driver waits for an answer before it
     * gives the connection up: the database's own cancellation comes first.
     */
    public static final Duration SOCKET_TIMEOUT_SLACK = Duration.ofSeconds(2);

    public JdbcStoreOptions {
        Objects.requireNonNull(url, "url");
        if (shardCount != 0) {
            try {
                Shards.checkCount(shardCount);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("shardCount must be between 1 and " + Shards.MAX_SHARD_COUNT
                        + ", was " + shardCount, e);
            }
        }
        if (writerIdleTimeout != null && writerIdleTimeout.compareTo(Duration.ofMillis(1)) < 0) {
            throw new IllegalArgumentException("writerIdleTimeout must be at least 1 ms, was " + writerIdleTimeout);
        }
        if (statementTimeout != null && statementTimeout.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("statementTimeout must be at least 100 ms, was " + statementTimeout);
        }
        if (maximumPoolSize < 1) {
            throw new IllegalArgumentException("maximumPoolSize must be at least 1, was " + maximumPoolSize);
        }
        if (connectionTimeout.compareTo(Duration.ofMillis(250)) < 0) {
            throw new IllegalArgumentException("connectionTimeout must be at least 250 ms, was " + connectionTimeout);
        }
    }

    /**
     * The defaults: credentials from the URL, 8 connections, 5 s connection timeout, migrate on
     * open, JDBC-batch updates,
     * no shard count chosen, no writer idle timeout chosen, no statement timeout.
     */
    public static JdbcStoreOptions of(String url) {
        return new JdbcStoreOptions(url, null, null, 8, Duration.ofSeconds(5), true, false, 0, null, null);
    }

    public JdbcStoreOptions withCredentials(String user, String password) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrateOnOpen, multiRowUpdates, shardCount, writerIdleTimeout, statementTimeout);
    }

    public JdbcStoreOptions withMaximumPoolSize(int size) {
        return new JdbcStoreOptions(url, user, password, size, connectionTimeout, migrateOnOpen, multiRowUpdates, shardCount, writerIdleTimeout, statementTimeout);
    }

    public JdbcStoreOptions withConnectionTimeout(Duration timeout) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, timeout, migrateOnOpen, multiRowUpdates, shardCount, writerIdleTimeout, statementTimeout);
    }

    public JdbcStoreOptions withMigrateOnOpen(boolean migrate) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrate, multiRowUpdates, shardCount, writerIdleTimeout, statementTimeout);
    }

    public JdbcStoreOptions withMultiRowUpdates(boolean multiRow) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrateOnOpen, multiRow, shardCount, writerIdleTimeout, statementTimeout);
    }

    /** See {@link #shardCount()}. */
    public JdbcStoreOptions withShardCount(int count) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrateOnOpen, multiRowUpdates,
                count, writerIdleTimeout, statementTimeout);
    }

    /** See {@link #writerIdleTimeout()}; null for none. */
    public JdbcStoreOptions withWriterIdleTimeout(Duration timeout) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrateOnOpen, multiRowUpdates,
                shardCount, timeout, statementTimeout);
    }

    /** See {@link #statementTimeout()}; null for none. */
    public JdbcStoreOptions withStatementTimeout(Duration timeout) {
        return new JdbcStoreOptions(url, user, password, maximumPoolSize, connectionTimeout, migrateOnOpen, multiRowUpdates,
                shardCount, writerIdleTimeout, timeout);
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "JdbcStoreOptions[url=" + JdbcStores.redact(url) + ", user=" + user + ", password="
                + (password == null ? "null" : "***") + ", maximumPoolSize=" + maximumPoolSize
                + ", connectionTimeout=" + connectionTimeout + ", migrateOnOpen=" + migrateOnOpen
                + ", multiRowUpdates=" + multiRowUpdates + ", shardCount=" + shardCount
                + ", writerIdleTimeout=" + writerIdleTimeout + ", statementTimeout=" + statementTimeout + "]";
    }
}
