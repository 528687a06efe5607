package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.testkit.TcpProxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link JdbcStoreOptions#statementTimeout}: a write never waits for the database for ever. A
 * statement blocked longer than the timeout is cancelled by the database; a database that stops
 * answering altogether (a {@link TcpProxy} that forwards nothing) is given up by the driver's
 * socket timeout. Either way the write fails with {@link StoreException} (the engine retries
 * it), and the bounds say nothing of how fast: the 30 s waits only detect a hang.
 */
class StatementTimeoutTest {
    private static final Instant T = Instant.parse("2026-11-27T10:00:00Z");
    private static final Duration TIMEOUT = Duration.ofSeconds(1);

    @Test
    void postgreSqlCancelsAStatementBlockedLongerThanTheTimeout() throws Exception {
        blockedByALock(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES));
    }

    @Test
    void mariaDbCancelsAStatementBlockedLongerThanTheTimeout() throws Exception {
        blockedByALock(TestDatabases.freshUrl(TestDatabases.Server.MARIADB));
    }

    @Test
    void postgreSqlThatStopsAnsweringFailsTheWrite() throws Exception {
        silent(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES));
    }

    @Test
    void mariaDbThatStopsAnsweringFailsTheWrite() throws Exception {
        silent(TestDatabases.freshUrl(TestDatabases.Server.MARIADB));
    }

    private static TaskInstance running(TaskInstance row, String eventId) {
        return new TaskInstance(row.id(), row.workflowInstanceId(), row.name(), TaskState.RUNNING, "h", row.logPath(),
                row.executePath(), row.processId(), row.appIds(), T, row.endTime(), row.varPool(), row.finishEventId(),
                eventId, row.version() + 1, T);
    }

    private static WriteBatch batchOf(TaskInstance row, String eventId) {
        return new WriteBatch(List.of(new RowUpdate(running(row, eventId), row.version(), null)));
    }

    /** Runs the write off this thread; its failure, or an AssertionError if it hangs. */
    private static Throwable failureOf(TaskInstanceStore store, WriteBatch batch) throws Exception {
        CompletableFuture<List<WriteOutcome>> write = CompletableFuture.supplyAsync(() -> store.write(batch));
        ExecutionException e = assertThrows(ExecutionException.class, () -> write.get(30, TimeUnit.SECONDS));
        return e.getCause();
    }

    /** Another session holds the row's lock: the store's UPDATE waits, and the database cancels it. */
    private static void blockedByALock(String url) throws Exception {
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url).withStatementTimeout(TIMEOUT));
             Connection holder = DriverManager.getConnection(url)) {
            TaskInstance row = TaskInstance.submitted(1, 10, "t", T);
            store.insert(List.of(row));
            holder.setAutoCommit(false);
            try (var lock = holder.createStatement()) {
                String table = url.startsWith("jdbc:postgresql:") ? "\"task_instance\"" : "`task_instance`";
                String id = url.startsWith("jdbc:postgresql:") ? "\"id\"" : "`id`";
                lock.execute("select * from " + table + " where " + id + " = 1 for update");
            }
            Throwable failure = failureOf(store, batchOf(row, "e1"));
            assertInstanceOf(StoreException.class, failure, String.valueOf(failure));
            holder.rollback();
            assertEquals(List.of(WriteOutcome.APPLIED), store.write(batchOf(row, "e2")),
                    "the store writes again once the lock is gone");
        }
    }

    /** The database stops answering mid-way: the write fails, and works again once it answers. */
    private static void silent(String url) throws Exception {
        Matcher hostPort = Pattern.compile("//([^:/]+):(\\d+)/").matcher(url);
        if (!hostPort.find()) {
            throw new IllegalStateException("no host:port in " + url);
        }
        try (TcpProxy proxy = new TcpProxy(hostPort.group(1), Integer.parseInt(hostPort.group(2)))) {
            String proxied = hostPort.replaceFirst("//127.0.0.1:" + proxy.port() + "/");
            try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(proxied).withStatementTimeout(TIMEOUT)
                    .withConnectionTimeout(Duration.ofSeconds(1)))) {
                TaskInstance row = TaskInstance.submitted(1, 10, "t", T);
                store.insert(List.of(row));
                proxy.setSilent(true);
                Throwable failure = failureOf(store, batchOf(row, "e1"));
                assertInstanceOf(StoreException.class, failure, String.valueOf(failure));
                proxy.setSilent(false);
                proxy.cutAll(); // the held bytes of the given-up connections must not reach the database late
                dev.taskevents.testkit.Await.until(() -> {
                    try {
                        return store.find(1).isPresent();
                    } catch (StoreException stillReconnecting) {
                        return false;
                    }
                });
            }
        }
    }
}
