package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.storage.jdbc.internal.JdbcTaskInstanceStore;
import dev.taskevents.testkit.Await;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reading a workflow's outbox waits for a write of the workflow still committing (its entries are
 * read once visible). Removing told state events from the JDBC outbox, each removal done once (a repeated removal
 * takes the slow path and would hide a broken fast one): by the store that wrote them (it knows
 * their rows) and by a store opened later on the same database (it must search). What is left is
 * read through the store and counted in the table itself: a row whose events are all told is
 * deleted, one with some left is rewritten with the rest. A removal held open before its commit
 * (its node stopped there) locks only the rows it changes: other writers go on adding to the
 * outbox.
 */
class OutboxRemovalTest {
    private static final Instant T = Instant.parse("2026-03-04T05:06:07.123456Z");

    private static String url(String where) {
        return switch (where) {
            case "h2" -> TestDatabases.freshH2Url();
            case "mariadb" -> TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
            case "mysql" -> TestDatabases.freshUrl(TestDatabases.Server.MYSQL); // skipped without a MySQL server
            default -> TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        };
    }

    private static int outboxRows(String url) throws Exception {
        try (Connection c = DriverManager.getConnection(url)) {
            return DSL.using(c, url.startsWith("jdbc:mariadb:") ? SQLDialect.MARIADB : SQLDialect.DEFAULT)
                    .fetchCount(DSL.table(DSL.name("task_state_outbox")));
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
    @ValueSource(strings = {"h2", "postgres", "mariadb"})
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

    /**
     * The remover did not write the events it removes (another node did, as at a takeover), so it
     * searches the whole table; held before its commit, it must not keep the writer's next batch
     * from adding its outbox row (on MariaDB, a locking read of the whole table in REPEATABLE READ
     * locks the end of the index, where every insert goes).
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres", "mariadb"})
    void aRemovalHeldBeforeItsCommitLetsOtherWritersAddToTheOutbox(String where) throws Exception {
        String url = url(where);
        try (TaskInstanceStore writer = JdbcStores.open(JdbcStoreOptions.of(url));
             TaskInstanceStore remover = JdbcStores.open(JdbcStoreOptions.of(url))) {
            List<TaskInstance> rows = new ArrayList<>();
            for (int b = 1; b <= 3; b++) {
                rows.add(TaskInstance.submitted(10L * b + 1, 1, "t", T));
                rows.add(TaskInstance.submitted(10L * b + 2, 1, "t", T));
            }
            writer.insert(rows);
            List<StateEvent> first = writeBatch(writer, 1);
            List<StateEvent> second = writeBatch(writer, 2);

            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch resume = new CountDownLatch(1);
            ((JdbcTaskInstanceStore) remover).beforeCommitProbe(transaction -> {
                if (transaction.equals("remove")) {
                    held.countDown();
                    try {
                        resume.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            CompletableFuture<Void> removal = CompletableFuture.runAsync(
                    () -> remover.removeStateEvents(List.of(first.get(0), first.get(1), second.get(0))),
                    runnable -> Thread.ofPlatform().start(runnable));
            try {
                assertTrue(held.await(30, TimeUnit.SECONDS), "the removal reached its commit");
                CompletableFuture<List<StateEvent>> third = CompletableFuture.supplyAsync(() -> writeBatch(writer, 3),
                        runnable -> Thread.ofPlatform().start(runnable));
                List<StateEvent> written;
                try {
                    written = third.get(30, TimeUnit.SECONDS); // 30 s only detects a hang
                } catch (TimeoutException e) {
                    resume.countDown();
                    third.handle((r, failure) -> null).get(120, TimeUnit.SECONDS);
                    fail("a batch could not add its outbox row within 30 s while a removal of other rows was held"
                            + " open on " + where);
                    return;
                }
                resume.countDown();
                removal.get(30, TimeUnit.SECONDS);
                assertEquals(List.of(second.get(1), written.get(0), written.get(1)), writer.pendingStateEvents(10));
                assertEquals(2, outboxRows(url), "the first batch's row deleted, the second's rewritten, the third's");
            } finally {
                resume.countDown();
            }
        }
    }

    /**
     * A write of the workflow held before its commit (a COMMIT waiting for a synchronous standby,
     * or one the server finishes after the engine gave up on it) is visible to the workflow's
     * outbox read, which waits for it: the database shows the read waiting on a row lock, then the
     * write commits, and the read returns the write's entries.
     */
    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres", "mariadb", "mysql"})
    void aWorkflowsOutboxReadWaitsForAWriteOfTheWorkflowStillCommitting(String where) throws Exception {
        // The read must outwait a busy machine: H2's LOCK_TIMEOUT is a second or two by default.
        String url = where.equals("h2") ? url(where) + ";LOCK_TIMEOUT=60000" : url(where);
        try (TaskInstanceStore writer = JdbcStores.open(JdbcStoreOptions.of(url));
             TaskInstanceStore reader = JdbcStores.open(JdbcStoreOptions.of(url))) {
            ((JdbcTaskInstanceStore) reader).settleLockWait(Duration.ofSeconds(60));
            writer.insert(List.of(TaskInstance.submitted(11, 1, "t", T), TaskInstance.submitted(12, 1, "t", T)));
            CountDownLatch resume = new CountDownLatch(1);
            CompletableFuture<List<StateEvent>> write = writeHeldBeforeCommit(writer, resume);
            try {
                CompletableFuture<List<StateEvent>> read = CompletableFuture.supplyAsync(
                        () -> reader.pendingStateEvents(1L), runnable -> Thread.ofPlatform().start(runnable));
                // Until the read waits on a lock, or returned (then it did not wait: the check below fails).
                Await.until(() -> read.isDone() || lockWaiters(where, url) > 0);
                resume.countDown();
                List<StateEvent> written = write.get(30, TimeUnit.SECONDS);
                assertEquals(written, read.get(30, TimeUnit.SECONDS),
                        "the outbox read returned before the workflow's write committed, without its entries");
            } finally {
                resume.countDown();
            }
        }
    }

    /**
     * A write of the workflow that never commits (its session left idle in its transaction, as by
     * a client that vanished) does not hold the workflow's outbox read for ever: the read waits
     * for the row lock a bounded time, then fails as a store failure, which the engine retries.
     * H2 is left out: its database lives in the writer's process.
     */
    @ParameterizedTest
    @ValueSource(strings = {"postgres", "mariadb", "mysql"})
    void aWorkflowsOutboxReadFailsAfterABoundedWaitForAWriteThatDoesNotCommit(String where) throws Exception {
        String url = url(where);
        try (TaskInstanceStore writer = JdbcStores.open(JdbcStoreOptions.of(url));
             TaskInstanceStore reader = JdbcStores.open(JdbcStoreOptions.of(url))) {
            ((JdbcTaskInstanceStore) reader).settleLockWait(Duration.ofSeconds(1));
            writer.insert(List.of(TaskInstance.submitted(11, 1, "t", T), TaskInstance.submitted(12, 1, "t", T)));
            CountDownLatch resume = new CountDownLatch(1);
            CompletableFuture<List<StateEvent>> write = writeHeldBeforeCommit(writer, resume);
            try {
                CompletableFuture<List<StateEvent>> read = CompletableFuture.supplyAsync(
                        () -> reader.pendingStateEvents(1L), runnable -> Thread.ofPlatform().start(runnable));
                java.util.concurrent.ExecutionException failed = assertThrows(java.util.concurrent.ExecutionException.class,
                        () -> read.get(60, TimeUnit.SECONDS)); // 60 s only detects a hang
                assertInstanceOf(dev.taskevents.api.spi.StoreException.class, failed.getCause());
                assertTrue(lockWaitTimedOut(failed.getCause()), "failed by the lock wait bound: " + failed.getCause());
            } finally {
                resume.countDown();
            }
            write.get(30, TimeUnit.SECONDS);
            assertEquals(2, reader.pendingStateEvents(1L).size(), "read again once the write committed");
        }
    }

    /**
     * Starts {@link #writeBatch writeBatch(writer, 1)} on a thread of its own and returns once it
     * is held right before its commit, until {@code resume} opens.
     */
    private static CompletableFuture<List<StateEvent>> writeHeldBeforeCommit(TaskInstanceStore writer,
                                                                          CountDownLatch resume) throws Exception {
        CountDownLatch held = new CountDownLatch(1);
        ((JdbcTaskInstanceStore) writer).beforeCommitProbe(transaction -> {
            if (transaction.equals("write")) {
                held.countDown();
                try {
                    resume.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        CompletableFuture<List<StateEvent>> write = CompletableFuture.supplyAsync(() -> writeBatch(writer, 1),
                runnable -> Thread.ofPlatform().start(runnable));
        assertTrue(held.await(30, TimeUnit.SECONDS), "the write reached its commit");
        return write;
    }

    /** The database's own answer to a lock wait past its bound: PostgreSQL 55P03, the MySQL family 1205. */
    private static boolean lockWaitTimedOut(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException e && ("55P03".equals(e.getSQLState()) || e.getErrorCode() == 1205)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Sessions waiting for a lock now, on a table of {@code url}'s own database (H2) or schema
     * (PostgreSQL: the tests share a database, each with a schema of its own); on MariaDB, sessions
     * of its own database running a locking read (InnoDB's lock views were seen to lag by seconds,
     * and a read that returns before the write commits is caught by the caller anyway).
     */
    private static int lockWaiters(String where, String url) {
        String query = switch (where) {
            case "h2" -> "select count(*) from information_schema.sessions where blocker_id is not null";
            case "mariadb", "mysql" -> "select count(*) from information_schema.processlist where db = database()"
                    + " and lower(info) like '%for update%' and id <> connection_id()";
            default -> "select count(*) from pg_stat_activity a where a.wait_event_type = 'Lock' and exists (select 1"
                    + " from pg_locks l join pg_class c on c.oid = l.relation join pg_namespace n on n.oid = c.relnamespace"
                    + " where l.pid = a.pid and n.nspname = current_schema())";
        };
        try (Connection c = DriverManager.getConnection(url); java.sql.Statement s = c.createStatement();
             java.sql.ResultSet r = s.executeQuery(query)) {
            r.next();
            return r.getInt(1);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException("could not read the lock waiters of " + where, e);
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
