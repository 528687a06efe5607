/**
 * A {@link dev.taskevents.api.spi.TaskInstanceStore} on PostgreSQL, MySQL, MariaDB or H2:
 * jOOQ for the SQL, Flyway for the schema, HikariCP for connections.
 *
 * <p>Found by {@link java.util.ServiceLoader} for {@code jdbc:postgresql:}, {@code jdbc:mysql:},
 * {@code jdbc:mariadb:} and {@code jdbc:h2:} URLs; {@link dev.taskevents.storage.jdbc.JdbcStores}
 * opens one with options and runs the migrations on demand.
 */
module dev.taskevents.storage.jdbc {
    requires dev.taskevents.api;
    requires java.sql;
    requires org.jooq;
    requires com.zaxxer.hikari;
    requires flyway.core;

    // Found through ServiceLoader (java.sql.Driver, Flyway's database plugins), never named in
    // code; required so that they are in the module graph and in a jlink image.
    requires org.postgresql.jdbc;
    requires org.mariadb.jdbc;
    requires mysql.connector.j;
    requires com.h2database;
    requires flyway.database.postgresql;
    requires flyway.mysql;

    exports dev.taskevents.storage.jdbc;

    provides dev.taskevents.api.spi.StorageProvider
            with dev.taskevents.storage.jdbc.internal.JdbcStorageProvider;
}
