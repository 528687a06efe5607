package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.jooq.impl.DSL;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Removing told state events from the JDBC outbox, each removal done once (a repeated removal
 * takes the slow path and would hide a broken fast one): by the store that wrote them (it knows
 * their rows) and by a store opened later on the same database (it must search). What is left is
 * read through the store and counted in the table itself: a row whose events are all told is
 * deleted, one with some left is rewritten with the rest.
 */
class OutboxRemovalTest {
    private static final Instant T = Instant.parse("2026-03-04T05:06:07.123456Z");

    private static String url(String where) {
        return where.equals("h2") ? TestDatabases.freshH2Url() : TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
    }

    private static int outboxRows(String url) throws Exception {
        try (Connection c = DriverManager.getConnection(url)) {
            return DSL.using(c).fetchCount(DSL.table(DSL.name("task_state_outbox")));
        }
    }

    /** Batch {@code b} moves tasks 10b+1 and 10b+2 of workflow 1 from version 0 to 1, each with its state event. */
    private static List<StateEvent> writeBatch(TaskInstanceStore store, int b) {
        List<RowUpdate> updates = new ArrayList<>();
        List<StateEvent> events = new ArrayList<>();
        for (long id = 10L * b + 1; id <= 10L * b + 2; id++) {
            TaskInstance row = new TaskInstance(id, 1, "t", TaskState.RUNNING, "h", null, null, 0, null, T, null,
                    null, null, "e" + id, 1, T);
            StateEvent event = new StateEvent(1, id, TaskEventType.RUNNING, TaskState.RUNNING, "e" + id, 1, T);
            updates.add(new RowUpdate(row, 0, event));
            events.add(event);
        }
        store.write(new WriteBatch(updates));
        return events;
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres"})
    void eachToldEventIsRemovedOnceByTheWriterOrByALaterStore(String where) throws Exception {
        String url = url(where);
        List<StateEvent> first;
        List<StateEvent> second;
        List<StateEvent> third;
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            List<TaskInstance> rows = new ArrayList<>();
            for (int b = 1; b <= 3; b++) {
                rows.add(TaskInstance.submitted(10L * b + 1, 1, "t", T));
                rows.add(TaskInstance.submitted(10L * b + 2, 1, "t", T));
            }
            store.insert(rows);
            first = writeBatch(store, 1);
            second = writeBatch(store, 2);
            third = writeBatch(store, 3);
            assertEquals(3, outboxRows(url), "one outbox row per batch");

            // The writer removes all of the first batch and half of the second, once.
            store.removeStateEvents(List.of(first.get(0), first.get(1), second.get(0)));
            assertEquals(List.of(second.get(1), third.get(0), third.get(1)), store.pendingStateEvents(1L));
            assertEquals(2, outboxRows(url), "the first batch's row deleted, the second's rewritten");
        }
        try (TaskInstanceStore later = JdbcStores.open(JdbcStoreOptions.of(url))) {
            // A store that did not write them finds them by reading the table.
            later.removeStateEvents(List.of(second.get(1), third.get(1)));
            assertEquals(List.of(third.get(0)), later.pendingStateEvents(10));
            assertEquals(1, outboxRows(url));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2"})
    void theOutboxIsReadWithALimitOfAtLeastOne(String where) {
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url(where)))) {
            assertEquals(List.of(), store.pendingStateEvents(1));
            assertEquals("limit must be at least 1, was 0",
                    assertThrows(IllegalArgumentException.class, () -> store.pendingStateEvents(0)).getMessage());
        }
    }
}
