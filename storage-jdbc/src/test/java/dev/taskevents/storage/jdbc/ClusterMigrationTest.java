package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.ShardLeases.ShardInfo;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storage.jdbc.internal.TaskInstanceTable;
import dev.taskevents.storage.jdbc.migration.V1__CreateTaskInstance;
import dev.taskevents.storage.jdbc.migration.V2__AddOutbox;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

/**
 * Migration V3 (the cluster tables) on each database: a fresh database records the shard count
 * it is migrated with, a v2 database holding rows upgrades with every row intact and the default
 * count, and a different count asked for later is refused with the recorded one named.
 */
class ClusterMigrationTest {
    private static final Instant T = Instant.parse("2026-02-03T04:05:06.123456Z");

    @Test
    void h2() throws Exception {
        freshRecordsItsCount(TestDatabases.freshH2Url(), "\"");
        v2Upgrades(TestDatabases.freshH2Url(), SQLDialect.H2, "\"");
    }

    @Test
    void postgreSql() throws Exception {
        freshRecordsItsCount(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES), "\"");
        v2Upgrades(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES), SQLDialect.POSTGRES, "\"");
    }

    @Test
    void mariaDb() throws Exception {
        freshRecordsItsCount(TestDatabases.freshUrl(TestDatabases.Server.MARIADB), "`");
        v2Upgrades(TestDatabases.freshUrl(TestDatabases.Server.MARIADB), SQLDialect.MARIADB, "`");
    }

    private static void freshRecordsItsCount(String url, String q) throws Exception {
        assertEquals("4", JdbcStores.migrate(JdbcStoreOptions.of(url).withShardCount(7)));
        assertEquals(List.of("1:7"), rows(url, "select " + q + "id" + q + ", " + q + "shard_count" + q + " from " + q
                + "cluster_info" + q));
        assertEquals(List.of("0:0:null", "1:0:null", "2:0:null", "3:0:null", "4:0:null", "5:0:null", "6:0:null"),
                rows(url, "select " + q + "shard_id" + q + ", " + q + "epoch" + q + ", " + q + "owner_node" + q
                        + " from " + q + "cluster_shard" + q + " order by " + q + "shard_id" + q));
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            assertEquals(7, store.cluster().orElseThrow().shardCount());
            assertEquals(new ShardInfo(6, 0, null, null, false), store.cluster().orElseThrow().shards().get(6));
        }
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url).withShardCount(7))) {
            assertEquals(7, store.cluster().orElseThrow().shardCount());
        }
        String refused = "this database was created with 7 shards; the shard count cannot change (asked for 64)";
        assertEquals(refused, assertThrows(IllegalArgumentException.class,
                () -> JdbcStores.open(JdbcStoreOptions.of(url).withShardCount(64))).getMessage());
        assertEquals(refused, assertThrows(IllegalArgumentException.class,
                () -> JdbcStores.migrate(JdbcStoreOptions.of(url).withShardCount(64))).getMessage());
    }

    private static void v2Upgrades(String url, SQLDialect dialect, String q) throws Exception {
        Flyway.configure(ClusterMigrationTest.class.getClassLoader()).dataSource(url, null, null)
                .locations(new String[0]).failOnMissingLocations(false)
                .javaMigrations(new V1__CreateTaskInstance(), new V2__AddOutbox()).load().migrate();
        TaskInstance row = new TaskInstance(2, 10, "running ✓", TaskState.RUNNING, "w-1:1234", "/log/2", "/exec/2", 42,
                "app_1", T, null, null, null, "e2", 2, T.plusSeconds(1));
        try (Connection c = DriverManager.getConnection(url)) {
            DSL.using(c, dialect).insertInto(TaskInstanceTable.TASK_INSTANCE).columns(TaskInstanceTable.COLUMNS)
                    .values(row.id(), row.workflowInstanceId(), row.name(), row.state().name(), row.host(), row.logPath(),
                            row.executePath(), row.processId(), row.appIds(), local(row.startTime()), null, null, null,
                            row.lastEventId(), row.version(), local(row.updatedAt()))
                    .execute();
        }
        assertEquals("4", JdbcStores.migrate(JdbcStoreOptions.of(url)));
        assertEquals(List.of("1:" + Shards.DEFAULT_SHARD_COUNT), rows(url, "select " + q + "id" + q + ", " + q
                + "shard_count" + q + " from " + q + "cluster_info" + q));
        assertEquals(List.of(Shards.DEFAULT_SHARD_COUNT + ":0:" + (Shards.DEFAULT_SHARD_COUNT - 1) + ":0"),
                rows(url, "select count(*), min(" + q + "shard_id" + q + "), max(" + q + "shard_id" + q + "), max("
                        + q + "epoch" + q + ") from " + q + "cluster_shard" + q));
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            assertEquals(row, store.find(2).orElseThrow());
            assertEquals(Shards.DEFAULT_SHARD_COUNT, store.cluster().orElseThrow().shardCount());
        }
        assertNull(JdbcClusterContractTest.writtenEpoch(dialect == SQLDialect.MARIADB
                ? JdbcClusterContractTest.Db.MARIADB : JdbcClusterContractTest.Db.H2, url, 2));
    }

    /** Each row's columns joined by ':'. */
    private static List<String> rows(String url, String query) throws Exception {
        List<String> rows = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
             ResultSet r = s.executeQuery(query)) {
            int n = r.getMetaData().getColumnCount();
            while (r.next()) {
                StringBuilder line = new StringBuilder();
                for (int i = 1; i <= n; i++) {
                    line.append(i > 1 ? ":" : "").append(r.getString(i));
                }
                rows.add(line.toString());
            }
        }
        return rows;
    }

    private static LocalDateTime local(Instant instant) {
        return instant == null ? null : LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
    }
}
