package dev.taskevents.storage.jdbc.migration;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;

/**
 * The database families the migrations are written for, told apart by the connection's product
 * name. Migrations hold literal DDL per family: once released, a migration's text never changes
 * (Flyway's fixed checksum would hide a change, and databases migrated before would differ from
 * new ones).
 */
enum DialectFamily {
    POSTGRES, MYSQL, H2;

    static DialectFamily of(Connection connection) throws SQLException {
        String product = connection.getMetaData().getDatabaseProductName().toLowerCase(Locale.ROOT);
        if (product.contains("postgres")) {
            return POSTGRES;
        }
        if (product.contains("mysql") || product.contains("mariadb")) {
            return MYSQL;
        }
        if (product.contains("h2")) {
            return H2;
        }
        throw new SQLException("no migration is written for database \"" + product
                + "\"; supported: PostgreSQL, MySQL, MariaDB, H2");
    }

    /** Runs the statements of a migration in order, on its connection. */
    static void execute(Connection connection, String... ddl) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            for (String sql : ddl) {
                statement.execute(sql);
            }
        }
    }
}
