package dev.taskevents.storage.jdbc.internal;

import java.util.List;

/**
 * The JDBC driver and the Flyway database module that each kind of URL needs.
 *
 * <p>They are optional modules of storage-jdbc ({@code requires static}): a host puts on its
 * module path only those of the databases it uses. A store whose URL no driver takes while its
 * kind's driver is absent, or whose Flyway module is absent, is refused before any connection is
 * tried, with the artifact to add.
 */
final class Drivers {
    /**
     * @param flywayType a class of the Flyway database module, or null where Flyway's core serves
     *     the database itself (H2)
     */
    private record Needs(String prefix, String driverArtifact, String driverModule, String driverType,
            String flywayArtifact, String flywayType) {}

    private static final List<Needs> NEEDS = List.of(
            new Needs("jdbc:postgresql:", "org.postgresql:postgresql", "org.postgresql.jdbc", "org.postgresql.Driver",
                    "org.flywaydb:flyway-database-postgresql", "org.flywaydb.database.postgresql.PostgreSQLDatabaseType"),
            new Needs("jdbc:mysql:", "com.mysql:mysql-connector-j", "mysql.connector.j", "com.mysql.cj.jdbc.Driver",
                    "org.flywaydb:flyway-mysql", "org.flywaydb.database.mysql.MySQLDatabaseType"),
            new Needs("jdbc:mariadb:", "org.mariadb.jdbc:mariadb-java-client", "org.mariadb.jdbc", "org.mariadb.jdbc.Driver",
                    "org.flywaydb:flyway-mysql", "org.flywaydb.database.mysql.mariadb.MariaDBDatabaseType"),
            new Needs("jdbc:h2:", "com.h2database:h2", "com.h2database", "org.h2.Driver", null, null));

    private Drivers() {}

    /**
     * Why no driver took {@code url}, if that is the reason: the driver of its kind is not on the
     * module path. Null if it is (the URL is then malformed) or the URL is of no known kind.
     */
    static String missingDriver(String url) {
        for (Needs needs : NEEDS) {
            if (url.startsWith(needs.prefix()) && !present(needs.driverType())) {
                return "no JDBC driver for " + needs.prefix() + " URLs: add " + needs.driverArtifact() + " (module "
                        + needs.driverModule() + ") to the module path";
            }
        }
        return null;
    }

    /** @throws IllegalStateException naming the artifact, if the Flyway module of {@code url}'s database is absent */
    static void requireFlyway(String url) {
        for (Needs needs : NEEDS) {
            if (url.startsWith(needs.prefix()) && needs.flywayType() != null && !present(needs.flywayType())) {
                throw new IllegalStateException("the schema of " + needs.prefix() + " databases needs Flyway's "
                        + "database module: add " + needs.flywayArtifact() + " to the module path");
            }
        }
    }

    private static boolean present(String className) {
        try {
            Class.forName(className, false, Drivers.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
