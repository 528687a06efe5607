package dev.taskevents.storage.jdbc.internal;

import dev.taskevents.api.Shards;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.migration.V1__CreateTaskInstance;
import dev.taskevents.storage.jdbc.migration.V2__AddOutbox;
import dev.taskevents.storage.jdbc.migration.V3__AddCluster;
import dev.taskevents.storage.jdbc.migration.V4__AddStateFeed;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;

/** Flyway, configured with the migrations named explicitly (no scanning: see the migration). */
public final class Schema {
    private Schema() {}

    /**
     * @param shardCount the shard count V3 records if it runs now; 0 for the default
     *     ({@link Shards#DEFAULT_SHARD_COUNT}). Does not change the checksums.
     */
    static Flyway flyway(DataSource dataSource, int shardCount) {
        return Flyway.configure(Schema.class.getClassLoader())
                .dataSource(dataSource)
                .locations(new String[0])
                .javaMigrations(new V1__CreateTaskInstance(), new V2__AddOutbox(),
                        new V3__AddCluster(shardCount == 0 ? Shards.DEFAULT_SHARD_COUNT : shardCount),
                        new V4__AddStateFeed())
                .failOnMissingLocations(false)
                .load();
    }

    /**
     * Migrates (or, if {@code migrateOnOpen} is false, validates) the schema behind
     * {@code dataSource}, then returns the shard count the database recorded.
     *
     * @throws IllegalArgumentException if the options chose a shard count the database was not created with
     */
    static int prepare(DataSource dataSource, JdbcStoreOptions options, boolean migrate) {
        String url = options.url();
        try {
            Flyway flyway = flyway(dataSource, options.shardCount());
            if (migrate) {
                flyway.migrate();
            } else {
                flyway.validate();
            }
        } catch (FlywayException e) {
            throw new StoreException("the schema of " + UrlPasswords.redact(url) + " could not be "
                    + (migrate ? "migrated" : "validated") + ": " + e.getMessage(), e);
        }
        int recorded;
        try {
            recorded = DSL.using(dataSource, Dialects.of(url)).select(ClusterTables.SHARD_COUNT)
                    .from(ClusterTables.CLUSTER_INFO).fetchSingle(ClusterTables.SHARD_COUNT);
        } catch (DataAccessException e) {
            throw SqlFailures.translate("read the shard count", UrlPasswords.redact(url), e, e.sqlState(), e);
        }
        if (options.shardCount() != 0 && options.shardCount() != recorded) {
            throw new IllegalArgumentException("this database was created with " + recorded
                    + " shards; the shard count cannot change (asked for " + options.shardCount() + ")");
        }
        return recorded;
    }

    /** See {@link dev.taskevents.storage.jdbc.JdbcStores#migrate}. */
    public static String migrate(JdbcStoreOptions options) {
        try (Pool pool = Pool.start(options.withStatementTimeout(null))) { // a migration may take long
            prepare(pool.dataSource(), options, true);
            MigrationInfo current = flyway(pool.dataSource(), options.shardCount()).info().current();
            return current == null ? "none" : current.getVersion().getVersion();
        }
    }

}
