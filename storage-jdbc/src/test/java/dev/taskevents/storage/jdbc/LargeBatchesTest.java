package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Batches larger than the store's chunks (1,000 ids per IN list and per multi-row INSERT, 100 rows
 * per multi-row UPDATE): every row of every chunk is inserted, read, locked, checked and written,
 * as the database itself shows when read back with plain JDBC, not through the store.
 */
class LargeBatchesTest {
    private static final Instant T = Instant.parse("2026-03-04T05:06:07.123456Z");
    /** Three IN-list chunks, the last one partial; 24 multi-row UPDATE chunks. */
    private static final int ROWS = 2_345;
    /** About two tasks per workflow: more workflows than one IN list holds. */
    private static final int WORKFLOWS = 1_173;

    // The columns as the migrations create them, named here (not taken from the store's classes).
    private static final Table<Record> TABLE = DSL.table(DSL.name("task_instance"));
    private static final Field<Long> ID = DSL.field(DSL.name("id"), Long.class);
    private static final Field<String> STATE = DSL.field(DSL.name("state"), String.class);
    private static final Field<String> HOST = DSL.field(DSL.name("host"), String.class);
    private static final Field<Integer> PID = DSL.field(DSL.name("pid"), Integer.class);
    private static final Field<String> VAR_POOL = DSL.field(DSL.name("var_pool"), String.class);
    private static final Field<Long> VERSION = DSL.field(DSL.name("version"), Long.class);

    private static long workflowOf(long id) {
        return 1 + (id - 1) % WORKFLOWS;
    }

    private static String url(String where) {
        return switch (where) {
            case "h2" -> TestDatabases.freshH2Url();
            case "postgres", "postgres-multirow" -> TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
            case "mariadb" -> TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
            default -> throw new IllegalArgumentException(where);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres", "postgres-multirow", "mariadb"})
    void everyRowOfABatchLargerThanAChunkIsWrittenAsReported(String where) throws Exception {
        String url = url(where);
        JdbcStoreOptions options = JdbcStoreOptions.of(url).withMultiRowUpdates(where.equals("postgres-multirow"));
        try (TaskInstanceStore store = JdbcStores.open(options)) {
            List<TaskInstance> created = new ArrayList<>();
            for (long id = 1; id <= ROWS; id++) {
                created.add(TaskInstance.submitted(id, workflowOf(id), "task-" + id, T));
            }
            store.insert(created);

            List<Long> workflows = new ArrayList<>();
            for (long w = WORKFLOWS; w >= 1; w--) {
                workflows.add(w);
            }
            workflows.add(WORKFLOWS + 1L); // a workflow without tasks
            Map<Long, List<TaskInstance>> read = store.findByWorkflows(workflows);
            Map<Long, List<TaskInstance>> expected = created.stream()
                    .collect(Collectors.groupingBy(TaskInstance::workflowInstanceId));
            expected.put(WORKFLOWS + 1L, List.of());
            assertEquals(expected, read);

            // Every 7th row was changed by someone else (version 1 now): its update conflicts.
            // Ids above ROWS do not exist. Every other row is applied with its own host and var pool.
            try (Connection c = DriverManager.getConnection(url)) {
                DSL.using(c).update(TABLE).set(VERSION, 1L).where(ID.mod(7L).eq(0L)).execute();
            }
            List<RowUpdate> updates = new ArrayList<>();
            List<WriteOutcome> expectedOutcomes = new ArrayList<>();
            for (long id = ROWS + 3; id >= 1; id--) { // not in id order: the store sorts for its locks
                TaskInstance row = new TaskInstance(id, workflowOf(id), "task-" + id, TaskState.RUNNING, "host-" + id,
                        null, null, (int) id, null, T, null, "pool-" + id, null, "e-" + id, 1, T.plusSeconds(id));
                updates.add(new RowUpdate(row, 0, new StateEvent(row.workflowInstanceId(), id, TaskEventType.RUNNING,
                        TaskState.RUNNING, "e-" + id, 1, T)));
                expectedOutcomes.add(id > ROWS ? WriteOutcome.NOT_FOUND
                        : id % 7 == 0 ? WriteOutcome.VERSION_CONFLICT : WriteOutcome.APPLIED);
            }
            assertEquals(expectedOutcomes, store.write(new WriteBatch(updates)));

            Map<Long, String> stored = new HashMap<>();
            try (Connection c = DriverManager.getConnection(url)) {
                for (Record r : DSL.using(c).select(ID, STATE, HOST, PID, VAR_POOL, VERSION).from(TABLE).fetch()) {
                    stored.put(r.get(ID), r.get(STATE) + " " + r.get(HOST) + " " + r.get(PID) + " " + r.get(VAR_POOL)
                            + " " + r.get(VERSION));
                }
            }
            Map<Long, String> expectedRows = new HashMap<>();
            for (long id = 1; id <= ROWS; id++) {
                expectedRows.put(id, id % 7 == 0 ? "SUBMITTED null 0 null 1" : "RUNNING host-" + id + " " + id + " pool-" + id + " 1");
            }
            assertEquals(expectedRows.keySet(), stored.keySet(), "the ids in the table");
            List<String> wrong = expectedRows.keySet().stream().sorted()
                    .filter(id -> !expectedRows.get(id).equals(stored.get(id)))
                    .map(id -> "row " + id + " is \"" + stored.get(id) + "\", not \"" + expectedRows.get(id) + "\"")
                    .toList();
            assertEquals(List.of(), wrong.subList(0, Math.min(5, wrong.size())),
                    wrong.size() + " of " + ROWS + " rows differ from what the write reported; the first five");

            List<StateEvent> pending = store.pendingStateEvents(ROWS * 2);
            assertEquals(updates.stream().filter(u -> u.row().id() <= ROWS && u.row().id() % 7 != 0)
                            .map(RowUpdate::notification).sorted(java.util.Comparator.comparingLong(StateEvent::taskInstanceId)).toList(),
                    pending.stream().sorted(java.util.Comparator.comparingLong(StateEvent::taskInstanceId)).toList());
        }
    }
}
