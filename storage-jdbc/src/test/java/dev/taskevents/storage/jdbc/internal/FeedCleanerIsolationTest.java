package dev.taskevents.storage.jdbc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import dev.taskevents.storage.jdbc.TestDatabases;
import dev.taskevents.testkit.Await;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

/**
 * MariaDB: the feed cleaner deleting EVERY row (an idle day: all older than retention) must not
 * hold up a writer appending at the head. In REPEATABLE READ its delete takes a next-key lock on
 * the supremum and the append waits until the cleaner commits (the plan measured 1.51 s); in READ
 * COMMITTED it does not. The cleaner's transaction is held open, its deletes done, while a batch
 * appends: the append must return while it is held. Fails with the isolation setting removed.
 */
class FeedCleanerIsolationTest {
    private static final Instant T = Instant.parse("2026-02-03T04:05:06Z");

    private static WriteBatch running(long id, long version) {
        TaskInstance next = new TaskInstance(id, 1, "t" + id, TaskState.RUNNING, "h", null, null, 0, null, T, null,
                null, null, "e" + id + "-" + version, version, T);
        return new WriteBatch(List.of(new RowUpdate(next, version - 1, new StateEvent(1, id, TaskEventType.RUNNING,
                TaskState.RUNNING, "e" + id + "-" + version, version, T)))).withRecordIn(Set.of(StateEventLog.FEED));
    }

    @Test
    void aCleanerDeletingEveryRowDoesNotHoldUpAnAppendOnMariaDb() throws Exception {
        String url = TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url).withMaximumPoolSize(2));
             Connection cleaner = DriverManager.getConnection(url)) {
            store.insert(List.of(TaskInstance.submitted(1, 1, "t1", T), TaskInstance.submitted(2, 1, "t2", T)));
            store.write(running(1, 1));
            store.write(running(1, 2));
            store.write(running(1, 3));
            // The database's clock must have passed the rows' recorded_at for a retention of zero.
            Await.until(() -> {
                try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                     ResultSet r = s.executeQuery("select count(*) from task_state_feed where recorded_at < utc_timestamp(6)")) {
                    r.next();
                    return r.getInt(1) == 3;
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            JdbcStateFeed feed = new JdbcStateFeed(SQLDialect.MARIADB);
            CompletableFuture<List<WriteOutcome>> append = new CompletableFuture<>();
            long through = feed.pruneOn(cleaner, DSL.using(SQLDialect.MARIADB), Duration.ZERO, 100, () -> {
                // The cleaner's deletes are done and uncommitted: a batch appends now, on another thread.
                Thread.ofVirtual().start(() -> {
                    try {
                        append.complete(store.write(running(2, 1)));
                    } catch (RuntimeException e) {
                        append.completeExceptionally(e);
                    }
                });
                try {
                    append.get(20, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    throw new AssertionError("the append waited for the cleaner's open transaction: the cleaner"
                            + " holds gap locks at the head (not READ COMMITTED?)");
                } catch (InterruptedException | ExecutionException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(3, through);
            assertEquals(List.of(WriteOutcome.APPLIED), append.get());
            assertEquals(4, store.stateFeed().orElseThrow().head());
            assertEquals(List.of("e2-1"), store.stateFeed().orElseThrow().read(3, 10).events().stream()
                    .map(e -> e.event().eventId()).toList());
        }
    }
}
