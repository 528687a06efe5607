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
    // BatchWriteEvent: a JFR event per batch write with the time of each statement.
    requires jdk.jfr;

    // Optional: a host puts on its module path the driver and the Flyway database module of each
    // database it uses (docs/jdbc-store.md lists them per URL); a missing one is refused by name when a
    // store opens. Found through ServiceLoader (java.sql.Driver, Flyway's plugins), never named in
    // code.
    requires static org.postgresql.jdbc;
    requires static org.mariadb.jdbc;
    requires static mysql.connector.j;
    requires static com.h2database;
    requires static flyway.database.postgresql;
    requires static flyway.mysql;

    exports dev.taskevents.storage.jdbc;

    provides dev.taskevents.api.spi.StorageProvider
            with dev.taskevents.storage.jdbc.internal.JdbcStorageProvider;
}
