package dev.taskevents.storage.jdbc.internal;

import dev.taskevents.api.spi.StoreException;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import dev.taskevents.storage.jdbc.migration.V1__CreateTaskInstance;
import dev.taskevents.storage.jdbc.migration.V2__AddOutbox;
import dev.taskevents.storage.jdbc.migration.V4__AddStateFeed;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;

/** Flyway, configured with the migrations named explicitly (no scanning: see the migration). */
public final class Schema {
    private Schema() {}

    static Flyway flyway(DataSource dataSource) {
        return Flyway.configure(Schema.class.getClassLoader())
                .dataSource(dataSource)
                .locations(new String[0])
                // V3 is cluster mode's (V3__AddCluster), merged separately: it goes between V2 and V4.
                .javaMigrations(new V1__CreateTaskInstance(), new V2__AddOutbox(), new V4__AddStateFeed())
                .failOnMissingLocations(false)
                .load();
    }

    /** Migrates (or, if {@code migrate} is false, validates) the schema behind {@code dataSource}. */
    static void prepare(DataSource dataSource, String url, boolean migrate) {
        try {
            Flyway flyway = flyway(dataSource);
            if (migrate) {
                flyway.migrate();
            } else {
                flyway.validate();
            }
        } catch (FlywayException e) {
            throw new StoreException("the schema of " + JdbcStores.redact(url) + " could not be "
                    + (migrate ? "migrated" : "validated") + ": " + e.getMessage(), e);
        }
    }

    /** See {@link JdbcStores#migrate}. */
    public static String migrate(JdbcStoreOptions options) {
        try (Pool pool = Pool.start(options)) {
            prepare(pool.dataSource(), options.url(), true);
            MigrationInfo current = flyway(pool.dataSource()).info().current();
            return current == null ? "none" : current.getVersion().getVersion();
        }
    }
}
