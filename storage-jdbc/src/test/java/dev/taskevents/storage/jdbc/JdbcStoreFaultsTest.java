package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.StorageProvider;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storage.jdbc.TestDatabases.Server;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.List;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Bad URLs, unreachable servers, wrong credentials, schema trouble: each a clear error. */
class JdbcStoreFaultsTest {

    // Left out of mutation testing (PIT runs on the class path; see TESTING.md).
    @Test
    @Tag("module-path")
    void runsOnTheModulePathAndIsFoundByServiceLoader() {
        assertTrue(JdbcStores.class.getModule().isNamed(), "tests must run on the module path");
        assertEquals("dev.taskevents.storage.jdbc", JdbcStores.class.getModule().getName());
        List<String> names = Stores.providers().stream().map(StorageProvider::name).toList();
        assertTrue(names.contains("jdbc"), "providers: " + names);
    }

    @Test
    void anUnknownSchemeListsTheProviders() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Stores.open("jdbc:oracle:thin:@localhost:1521:xe"));
        assertTrue(e.getMessage().contains("jdbc [jdbc:postgresql:, jdbc:mysql:, jdbc:mariadb:, jdbc:h2:]"),
                e.getMessage());
    }

    /**
     * H2's reuse of a query's last result can serve rows from before a commit after it (see
     * {@code Pool.withoutH2ResultReuse}): a URL that asks for it is refused, naming the setting.
     */
    @Test
    void anH2UrlThatTurnsOnResultReuseIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JdbcStores.open(JdbcStoreOptions.of(TestDatabases.freshH2Url() + ";optimize_reuse_results=TRUE")));
        assertTrue(e.getMessage().contains("OPTIMIZE_REUSE_RESULTS=TRUE") && e.getMessage().contains("remove the setting"),
                e.getMessage());
    }

    @Test
    void anUnreachablePostgresNamesHostAndPortWithinTheTimeout() {
        StoreException e = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThrows(StoreException.class,
                () -> JdbcStores.open(JdbcStoreOptions.of("jdbc:postgresql://127.0.0.1:1/test?user=postgres")
                        .withConnectionTimeout(Duration.ofMillis(500)))));
        assertTrue(e.getMessage().startsWith("cannot connect to jdbc:postgresql://127.0.0.1:1/test"), e.getMessage());
        assertTrue(e.getMessage().contains("127.0.0.1:1"), e.getMessage());
    }

    @Test
    void anUnreachableMariaDbNamesHostAndPortWithinTheTimeout() {
        StoreException e = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThrows(StoreException.class,
                () -> JdbcStores.open(JdbcStoreOptions.of("jdbc:mariadb://127.0.0.1:1/test?user=root")
                        .withConnectionTimeout(Duration.ofMillis(500)))));
        assertTrue(e.getMessage().contains("127.0.0.1:1"), e.getMessage());
    }

    @Test
    void wrongCredentialsAreReportedWithoutThePassword() {
        String base = TestDatabases.baseUrl(Server.MARIADB);
        StoreException e = assertThrows(StoreException.class, () -> JdbcStores.open(JdbcStoreOptions.of(base)
                .withCredentials("taskevents_nobody", "s3cret-pw").withConnectionTimeout(Duration.ofSeconds(2))));
        assertTrue(e.getMessage().contains("Access denied"), e.getMessage());
        assertTrue(!e.getMessage().contains("s3cret-pw"), e.getMessage());
    }

    @Test
    void anUnknownPostgresRoleIsReported() {
        String url = TestDatabases.baseUrl(Server.POSTGRES).replaceAll("user=[^&]*", "user=taskevents_nobody");
        StoreException e = assertThrows(StoreException.class,
                () -> JdbcStores.open(JdbcStoreOptions.of(url).withConnectionTimeout(Duration.ofSeconds(2))));
        assertTrue(e.getMessage().contains("taskevents_nobody"), e.getMessage());
    }

    @Test
    void passwordsNeverShowInMessages() {
        assertEquals("jdbc:postgresql://h/db?user=u&password=***&ssl=true",
                JdbcStores.redact("jdbc:postgresql://h/db?user=u&password=hunter2&ssl=true"));
        assertEquals("jdbc:mariadb://u:***@h/db", JdbcStores.redact("jdbc:mariadb://u:hunter2@h/db"));
        assertTrue(!JdbcStoreOptions.of("jdbc:h2:mem:x").withCredentials("u", "hunter2").toString().contains("hunter2"));
    }

    @Test
    void migrateReportsTheSchemaVersionAndIsIdempotent() {
        String url = TestDatabases.freshUrl(Server.POSTGRES);
        assertEquals("4", JdbcStores.migrate(JdbcStoreOptions.of(url)));
        assertEquals("4", JdbcStores.migrate(JdbcStoreOptions.of(url)));
    }

    @Test
    void withMigrationOffAnEmptySchemaIsRefused() {
        String url = TestDatabases.freshH2Url();
        StoreException e = assertThrows(StoreException.class,
                () -> JdbcStores.open(JdbcStoreOptions.of(url).withMigrateOnOpen(false)));
        assertTrue(e.getMessage().contains("could not be validated"), e.getMessage());
        assertTrue(e.getMessage().contains("not applied"), e.getMessage());
    }

    @Test
    void aMigrationChecksumMismatchIsRefused() throws Exception {
        String url = TestDatabases.freshUrl(Server.POSTGRES);
        JdbcStores.open(JdbcStoreOptions.of(url)).close();
        try (Connection c = DriverManager.getConnection(url)) {
            // What a changed migration (or an edited history) looks like to Flyway.
            DSL.using(c).update(DSL.table(DSL.name("flyway_schema_history")))
                    .set(DSL.field(DSL.name("checksum"), Integer.class), 12345)
                    .where(DSL.field(DSL.name("version"), String.class).eq("1"))
                    .execute();
        }
        StoreException e = assertThrows(StoreException.class, () -> Stores.open(url));
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        assertTrue(e.getMessage().contains("could not be migrated"), e.getMessage());
    }

    @Test
    void aMySqlUrlPointingAtMariaDbIsRefusedRatherThanLosingFractionalSeconds() {
        String url = TestDatabases.baseUrl(Server.MARIADB).replace("jdbc:mariadb:", "jdbc:mysql:");
        StoreException e = assertThrows(StoreException.class, () -> Stores.open(url));
        assertTrue(e.getMessage().contains("points at a MariaDB server"), e.getMessage());
        assertTrue(e.getMessage().contains("Use a jdbc:mariadb: URL"), e.getMessage());
    }

    @Test
    void aClosedStoreSaysSo() {
        TaskInstanceStore store = Stores.open(TestDatabases.freshH2Url());
        store.close();
        StoreException e = assertThrows(StoreException.class, () -> store.find(1));
        assertTrue(e.getMessage().contains("is closed"), e.getMessage());
    }
}
