package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.Test;

/**
 * A store's error messages reach logs (and, before, clients): they say what failed, with the URL
 * redacted and the SQL state, never a password, the SQL text or a bound value.
 */
class StoreErrorMessagesTest {
    private static final String PASSWORD = "SECRET-PW-31337";

    @Test
    void anUnreachableDatabaseIsNamedWithoutItsPassword() {
        for (String url : List.of("jdbc:postgresql://127.0.0.1:1/test?user=postgres&password=" + PASSWORD,
                "jdbc:mariadb://127.0.0.1:1/test?user=root&password=" + PASSWORD)) {
            StoreException e = assertThrows(StoreException.class, () -> JdbcStores.open(JdbcStoreOptions.of(url)
                    .withConnectionTimeout(Duration.ofMillis(500))));
            assertTrue(e.getMessage().startsWith("cannot connect to "), e.getMessage());
            assertTrue(e.getMessage().contains("password=***"), e.getMessage());
            assertFalse(e.getMessage().contains(PASSWORD), e.getMessage());
        }
    }

    @Test
    void aFailedStatementSaysWhatFailedAndItsSqlStateButNotTheSqlOrItsValues() throws Exception {
        String url = TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            store.insert(List.of(TaskInstance.submitted(1, 1, "first", Instant.EPOCH)));
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("alter table task_instance add constraint no_secrets check (name not like 'SECRET%')");
            }
            // A refusal of the data (SQL state class 23), not an outage: IllegalArgumentException.
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> store.insert(List.of(
                    TaskInstance.submitted(2, 1, "SECRET-VALUE-4242", Instant.EPOCH))));
            assertTrue(e.getMessage().startsWith("could not insert 1 task instances: the database refused"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("(SQL state 23514)"), e.getMessage());
            assertFalse(e.getMessage().contains("SECRET-VALUE") || e.getMessage().toLowerCase().contains("insert into"),
                    e.getMessage());
            assertTrue(e.getCause() != null, "the driver's exception is kept as the cause");
        }
    }

    /**
     * Every way opening can fail with a password in the URL: unreachable, refused credentials, a
     * port out of range that no driver accepts (HikariCP's own error repeats the raw URL), a
     * non-numeric port, an unknown H2 setting. The password must be in no message anywhere in the
     * exception's cause chain (suppressed ones included), whatever the exception's type.
     */
    @Test
    void aFailedOpenPutsThePasswordInNoMessageOfTheCauseChain() {
        List<String> urls = List.of(
                "jdbc:postgresql://127.0.0.1:1/test?user=postgres&password=" + PASSWORD,
                "jdbc:postgresql://127.0.0.1:99999/test?user=postgres&password=" + PASSWORD,
                "jdbc:postgresql://127.0.0.1:port/test?user=postgres&password=" + PASSWORD,
                "jdbc:mariadb://root:" + PASSWORD + "@127.0.0.1:1/test",
                TestDatabases.baseUrl(TestDatabases.Server.MARIADB) + "&password=" + PASSWORD,
                "jdbc:h2:file:/tmp/taskevents-no-such-db;IFEXISTS=TRUE;PASSWORD=" + PASSWORD,
                "jdbc:h2:file:/tmp/taskevents-bad-setting;PASSWORD=" + PASSWORD + ";NO_SUCH_SETTING=1",
                // a mistyped separator puts the password into what parses as the port
                "jdbc:postgresql://127.0.0.1:5432&user=postgres&password=" + PASSWORD,
                // no "/" after the port: pgjdbc logs the whole URL while it checks it
                "jdbc:postgresql://127.0.0.1:5432?user=postgres&password=" + PASSWORD,
                // credentials before the host, behind a subprotocol with a mode
                "jdbc:mariadb:replication://root:" + PASSWORD + "@127.0.0.1:1/test",
                // Connector/J's further factors of authentication
                "jdbc:mysql://127.0.0.1:1/test?user=root&password1=" + PASSWORD);
        // What a host's log gets: HikariCP logs failed starts through SLF4J, bound to JUL in the tests.
        List<LogRecord> logged = Collections.synchronizedList(new ArrayList<>());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        // Every level, debug included: a host that turns the pool's logging up must not get a password.
        Logger pool = Logger.getLogger("com.zaxxer.hikari");
        Level poolLevel = pool.getLevel();
        pool.setLevel(Level.ALL);
        capture.setLevel(Level.ALL);
        root.addHandler(capture);
        try {
            for (String url : urls) {
                RuntimeException e = assertThrows(RuntimeException.class, () -> JdbcStores.open(JdbcStoreOptions.of(url)
                        .withConnectionTimeout(Duration.ofMillis(500))).close(), url);
                assertNoPassword(e, url);
                if (!(e instanceof StoreException || e instanceof IllegalArgumentException)) {
                    throw new AssertionError(url + ": the SPI's exceptions only", e);
                }
            }
        } finally {
            root.removeHandler(capture);
            pool.setLevel(poolLevel);
        }
        assertTrue(logged.stream().anyMatch(r -> r.getLoggerName() != null && r.getLoggerName().startsWith("com.zaxxer.hikari")),
                "the pool's log records must have been captured, or this proves nothing");
        for (LogRecord record : List.copyOf(logged)) {
            String text = new SimpleFormatter().formatMessage(record);
            assertFalse(text.contains(PASSWORD), "logged: " + text);
            if (record.getThrown() != null) {
                assertNoPassword(record.getThrown(), "logged by " + record.getLoggerName());
            }
        }
    }

    private static void assertNoPassword(Throwable t, String url) {
        for (Throwable link = t; link != null; link = link.getCause() == link ? null : link.getCause()) {
            assertFalse(String.valueOf(link.getMessage()).contains(PASSWORD), url + " -> " + link);
            assertFalse(link.toString().contains(PASSWORD), url + " -> " + link);
            for (Throwable suppressed : link.getSuppressed()) {
                assertNoPassword(suppressed, url);
            }
        }
    }

    @Test
    void aUrlNoDriverAcceptsOrWithANonNumericPortIsMalformed() {
        for (String url : List.of("jdbc:postgresql://127.0.0.1:99999/test", "jdbc:postgresql://127.0.0.1:port/test",
                "jdbc:mariadb://127.0.0.1:port/test", "jdbc:mysql://[::1]:x/test")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> JdbcStores.open(JdbcStoreOptions.of(url)).close(), url);
            assertTrue(e.getMessage().startsWith("malformed JDBC URL"), e.getMessage());
        }
    }

    /** H2's ;PASSWORD= still sets the password, though the pool gets it as a property, not in the URL. */
    @Test
    void anH2PasswordInTheUrlStillOpensItsDatabaseAndOnlyIt() {
        String base = TestDatabases.freshH2Url() + ";USER=owner";
        try (TaskInstanceStore created = JdbcStores.open(JdbcStoreOptions.of(base + ";PASSWORD=" + PASSWORD))) {
            created.insert(List.of(TaskInstance.submitted(7, 7, "kept", Instant.EPOCH)));
        }
        try (TaskInstanceStore reopened = JdbcStores.open(JdbcStoreOptions.of(base + ";password=" + PASSWORD))) {
            assertTrue(reopened.find(7).isPresent());
        }
        StoreException wrong = assertThrows(StoreException.class, () -> JdbcStores.open(JdbcStoreOptions.of(
                base + ";PASSWORD=not-" + PASSWORD).withConnectionTimeout(Duration.ofMillis(500))).close());
        assertNoPassword(wrong, base);
    }

    /**
     * H2 reads a backslash in a URL setting as an escape ({@code \\} for a backslash, {@code \;}
     * for a semicolon); the password the pool is given is the one H2 itself reads from the URL.
     */
    @Test
    void anH2PasswordWithEscapesMeansWhatItMeansToH2() throws Exception {
        for (String escaped : List.of("pw\\\\back", "pw\\;semi")) {
            String url = TestDatabases.freshH2Url() + ";USER=owner;PASSWORD=" + escaped;
            try (Connection created = DriverManager.getConnection(url)) {
                assertTrue(created.isValid(5), url);
            }
            try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
                assertTrue(store.find(1).isEmpty(), url);
            }
        }
    }

    /**
     * What a failed open keeps of the driver's errors: a cause chain in which each link names the
     * original exception's class and keeps its stack frames, so that the log still says where it
     * failed, with the password taken out.
     */
    @Test
    void aFailedOpenKeepsTheClassesAndFramesOfItsCauses() {
        String url = "jdbc:postgresql://127.0.0.1:1/test?user=postgres&password=" + PASSWORD;
        StoreException e = assertThrows(StoreException.class, () -> JdbcStores.open(JdbcStoreOptions.of(url)
                .withConnectionTimeout(Duration.ofMillis(500))).close());
        Throwable cause = e.getCause();
        assertTrue(cause != null, "the cause is kept");
        List<String> classes = new ArrayList<>();
        for (Throwable link = cause; link != null; link = link.getCause()) {
            classes.add(String.valueOf(link.getMessage()).split(":", 2)[0]);
            assertTrue(link.getStackTrace().length > 0, link.toString());
            assertFalse(link.getStackTrace()[0].getClassName().endsWith(".Pool"),
                    "the original's frames, not where the copy was made: " + link.getStackTrace()[0]);
        }
        assertTrue(classes.contains("com.zaxxer.hikari.pool.HikariPool$PoolInitializationException"), classes.toString());
        assertTrue(classes.contains("org.postgresql.util.PSQLException"), classes.toString());
        assertNoPassword(e, url);
    }
}
