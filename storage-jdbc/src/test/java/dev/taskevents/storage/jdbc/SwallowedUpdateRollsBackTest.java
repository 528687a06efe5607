package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import org.jooq.impl.DSL;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An UPDATE of a row the store has locked at the expected version matches that row, unless
 * something the store does not know of intervenes: here a PostgreSQL trigger that silently
 * swallows the update of one row (jOOQ's batch would not raise on it, jOOQ issue 1637). The store
 * must then fail the batch and commit nothing of it: neither the other row nor any outbox entry,
 * as the table itself shows.
 */
class SwallowedUpdateRollsBackTest {
    private static final Instant T = Instant.parse("2026-03-04T05:06:07Z");

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aSwallowedUpdateFailsTheBatchAndNothingOfItIsCommitted(boolean multiRow) throws Exception {
        String url = TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url).withMultiRowUpdates(multiRow))) {
            store.insert(List.of(TaskInstance.submitted(1, 5, "a", T), TaskInstance.submitted(2, 5, "b", T)));
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("create function swallow_task_2() returns trigger language plpgsql as $$ "
                        + "begin if new.id = 2 then return null; end if; return new; end $$");
                s.execute("create trigger swallow before update on task_instance for each row "
                        + "execute function swallow_task_2()");
            }
            List<RowUpdate> updates = List.of(1L, 2L).stream().map(id -> {
                TaskInstance row = new TaskInstance(id, 5, id == 1 ? "a" : "b", TaskState.RUNNING, "h", null, null, 0,
                        null, T, null, null, null, "e" + id, 1, T);
                return new RowUpdate(row, 0, new StateEvent(5, id, TaskEventType.RUNNING, TaskState.RUNNING, "e" + id, 1, T));
            }).toList();
            StoreException e = assertThrows(StoreException.class, () -> store.write(new WriteBatch(updates)));
            assertEquals(multiRow
                            ? "a multi-row update of 2 locked rows changed 1; the batch was rolled back"
                            : "updating task instance 2 matched 0 rows although it was locked at the expected version;"
                                    + " the batch was rolled back",
                    e.getMessage());
            try (Connection c = DriverManager.getConnection(url)) {
                assertEquals(List.of(0L, 0L), DSL.using(c).select(DSL.field(DSL.name("version"), Long.class))
                        .from(DSL.table(DSL.name("task_instance"))).orderBy(DSL.field(DSL.name("id")))
                        .fetch(DSL.field(DSL.name("version"), Long.class)), "both rows as inserted");
                assertEquals(0, DSL.using(c).fetchCount(DSL.table(DSL.name("task_state_outbox"))), "no outbox entry");
            }
        }
    }
}
