package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.internal.TaskInstanceTable;
import dev.taskevents.storage.jdbc.migration.V1__CreateTaskInstance;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.jooq.Field;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

/**
 * A database migrated by the first release (V1 only) and holding rows upgrades to the current
 * schema with every row intact, on each database; the engine then works on it, outbox included.
 * The rows are written with V1's columns, as the first release wrote them.
 */
class MigrationUpgradeTest {
    private static final Instant T = Instant.parse("2026-02-03T04:05:06.123456Z");

    @Test
    void h2() throws Exception {
        upgradeKeepsEveryRow(TestDatabases.freshH2Url(), SQLDialect.H2);
    }

    @Test
    void postgreSql() throws Exception {
        upgradeKeepsEveryRow(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES), SQLDialect.POSTGRES);
    }

    @Test
    void mariaDb() throws Exception {
        upgradeKeepsEveryRow(TestDatabases.freshUrl(TestDatabases.Server.MARIADB), SQLDialect.MARIADB);
    }

    private static void upgradeKeepsEveryRow(String url, SQLDialect dialect) throws Exception {
        Flyway.configure(MigrationUpgradeTest.class.getClassLoader()).dataSource(url, null, null)
                .locations(new String[0]).failOnMissingLocations(false)
                .javaMigrations(new V1__CreateTaskInstance()).load().migrate();
        List<TaskInstance> rows = List.of(
                TaskInstance.submitted(1, 10, "submitted", T),
                new TaskInstance(2, 10, "running ✓ 名前", TaskState.RUNNING, "w-1:1234", "/log/2", "/exec/2", 42,
                        "app_1", T, null, null, null, null, 2, T.plusSeconds(1)),
                new TaskInstance(3, 11, "done", TaskState.SUCCESS, "w-2", "/log/3", "/exec/3", 7, null, T,
                        T.plusSeconds(5), "[{\"prop\":\"out\",\"value\":\"x'y\\\"z\"}]", "x3", null, 3, T.plusSeconds(6)));
        List<Field<?>> v1Columns = TaskInstanceTable.COLUMNS.stream()
                .filter(f -> f != TaskInstanceTable.LAST_EVENT_ID).toList();
        try (Connection c = DriverManager.getConnection(url)) {
            for (TaskInstance r : rows) {
                DSL.using(c, dialect).insertInto(TaskInstanceTable.TASK_INSTANCE).columns(v1Columns)
                        .values(r.id(), r.workflowInstanceId(), r.name(), r.state().name(), r.host(), r.logPath(),
                                r.executePath(), r.processId(), r.appIds(), local(r.startTime()), local(r.endTime()),
                                r.varPool(), r.finishEventId(), r.version(), local(r.updatedAt()))
                        .execute();
            }
        }

        assertEquals("4", JdbcStores.migrate(JdbcStoreOptions.of(url)));
        try (TaskInstanceStore upgraded = Stores.open(url)) {
            // An upgraded database gets an empty feed with its own id.
            assertEquals(0, upgraded.stateFeed().orElseThrow().head());
            org.junit.jupiter.api.Assertions.assertNotEquals(0, upgraded.stateFeed().orElseThrow().feedId());
        }
        ConcurrentLinkedQueue<StateEvent> told = new ConcurrentLinkedQueue<>();
        try (TaskInstanceStore store = Stores.open(url);
             TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(told::add).build()) {
            for (TaskInstance r : rows) {
                assertEquals(r, store.find(r.id()).orElseThrow(), "row " + r.id() + " intact");
            }
            Acknowledgement ack = engine.submit(TaskEvent.builder("x2", TaskEventType.RESULT, 10, 2).eventTime(T)
                    .state(TaskState.SUCCESS).endTime(T.plusSeconds(9)).build()).get(30, TimeUnit.SECONDS);
            TaskInstance finished = assertInstanceOf(Acknowledgement.Applied.class, ack).task();
            assertEquals("x2", store.find(2).orElseThrow().lastEventId());
            assertEquals(3, finished.version());
            assertEquals(List.of("x2"), told.stream().map(StateEvent::eventId).toList());
        }
    }

    private static LocalDateTime local(Instant instant) {
        return instant == null ? null : LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
    }
}
