package dev.taskevents.storage.jdbc;

import dev.taskevents.testkit.TempDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Assumptions;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.JdbcDatabaseContainer;
import org.testcontainers.mariadb.MariaDBContainer;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * Where the database tests run. For each server database, in this order:
 * <ol>
 *   <li>the URL in an environment variable ({@code TASKEVENTS_TEST_POSTGRES_URL},
 *       {@code TASKEVENTS_TEST_MARIADB_URL}, {@code TASKEVENTS_TEST_MYSQL_URL});
 *   <li>a Testcontainers container, where Docker is running;
 *   <li>otherwise the tests are skipped with a message naming the variable, or fail if
 *       {@code TASKEVENTS_TEST_REQUIRE_DATABASES=true} (CI sets it: CI never skips them).
 * </ol>
 * MySQL is the exception: it runs only with {@code TASKEVENTS_TEST_MYSQL_URL} pointing at a real
 * MySQL server (the machines here have MariaDB, which MySQL Connector/J does not serve correctly;
 * see {@code JdbcStoreFaultsTest}), and is skipped otherwise, CI included.
 * Each call to {@link #freshUrl} makes a new schema (PostgreSQL) or database (MariaDB/MySQL)
 * named {@code te_<random>}, so that runs and test classes do not see each other's rows.
 */
public final class TestDatabases {
    /** The database servers the tests run on. */
    public enum Server {
        POSTGRES("TASKEVENTS_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres"),
        MARIADB("TASKEVENTS_TEST_MARIADB_URL", "jdbc:mariadb://127.0.0.1:3306/test?user=root"),
        MYSQL("TASKEVENTS_TEST_MYSQL_URL", "jdbc:mysql://127.0.0.1:3306/test?user=root");

        final String variable;
        final String example;

        Server(String variable, String example) {
            this.variable = variable;
            this.example = example;
        }
    }

    private static final ConcurrentHashMap<Server, String> BASE_URLS = new ConcurrentHashMap<>();
    private static final Pattern URL = Pattern.compile("^(jdbc:[a-z]+://[^/]+/)([^?]*)(\\?.*)?$");

    private TestDatabases() {}

    /** The server's base URL (a database the tests may create schemas or databases in). */
    static String baseUrl(Server server) {
        return BASE_URLS.computeIfAbsent(server, TestDatabases::locate);
    }

    private static String locate(Server server) {
        String url = System.getenv(server.variable);
        if (url != null && !url.isBlank()) {
            return url;
        }
        boolean docker;
        try {
            docker = DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException | LinkageError e) {
            docker = false;
        }
        if (server == Server.MYSQL) {
            // Skipped even with TASKEVENTS_TEST_REQUIRE_DATABASES=true: that flag requires the servers
            // CI and these machines have (PostgreSQL, MariaDB); neither has a MySQL server.
            Assumptions.abort("MySQL suite skipped: no MySQL server on this machine (" + server.variable
                    + " is not set, and TASKEVENTS_TEST_REQUIRE_DATABASES requires only PostgreSQL and MariaDB)."
                    + " The local MariaDB cannot stand in: MySQL Connector/J drops its fractional seconds, so the"
                    + " store refuses a jdbc:mysql: URL that points at MariaDB. To run it, set " + server.variable
                    + " to a real MySQL 8 server, e.g. " + server.example);
        }
        if (docker) {
            JdbcDatabaseContainer<?> container = server == Server.POSTGRES
                    ? new PostgreSQLContainer("postgres:16-alpine")
                    : new MariaDBContainer("mariadb:11");
            container.start();
            return container.getJdbcUrl() + (container.getJdbcUrl().contains("?") ? "&" : "?")
                    + "user=" + container.getUsername() + "&password=" + container.getPassword();
        }
        String message = "no " + server + " database for the tests: set " + server.variable + " (e.g. "
                + server.example + ") or run Docker for Testcontainers";
        if ("true".equals(System.getenv("TASKEVENTS_TEST_REQUIRE_DATABASES"))) {
            throw new IllegalStateException(message + "; TASKEVENTS_TEST_REQUIRE_DATABASES=true forbids skipping");
        }
        Assumptions.abort(message);
        throw new AssertionError("unreachable");
    }

    /** A URL to a new, empty schema or database on the server. */
    public static String freshUrl(Server server) {
        String base = baseUrl(server);
        String name = "te_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
        try (Connection c = DriverManager.getConnection(base)) {
            if (server == Server.POSTGRES) {
                DSL.using(c).createSchema(name).execute();
            } else {
                DSL.using(c).createDatabase(name).execute();
            }
            dropOnExit(server, base, name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot prepare a test schema on " + JdbcStores.redact(base), e);
        }
        if (server == Server.POSTGRES) {
            return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + name;
        }
        Matcher m = URL.matcher(base);
        if (!m.matches()) {
            throw new IllegalStateException(server.variable + " must look like " + server.example + ", was "
                    + JdbcStores.redact(base));
        }
        return m.group(1) + name + (m.group(3) == null ? "" : m.group(3));
    }

    /** Test schemas are dropped when the test JVM ends, so that repeated runs leave nothing behind. */
    private static void dropOnExit(Server server, String base, String name) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try (Connection c = DriverManager.getConnection(base)) {
                if (server == Server.POSTGRES) {
                    DSL.using(c).dropSchemaIfExists(name).cascade().execute();
                } else {
                    DSL.using(c).dropDatabaseIfExists(name).execute();
                }
            } catch (SQLException | RuntimeException e) {
                System.err.println("could not drop test schema " + name + ": " + e.getMessage());
            }
        }));
    }

    /** A URL to a new H2 database in a file under a new temporary folder. */
    static String freshH2Url() {
        try {
            Path dir = TempDirs.create("taskevents-h2-");
            return "jdbc:h2:file:" + dir.resolve("db").toAbsolutePath();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
