package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.testkit.Await;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * One event whose change the database refuses (a poison pill) fails no one else's: on each
 * database, a batch mixing valid events with refused values commits the valid ones at once, answers
 * the refused ones Rejected (REFUSED_BY_STORE) without retrying them, and no answer holds the SQL
 * or the refused value. The refusals: a value a CHECK constraint forbids (SQL state class 23) and,
 * at the store, a time outside the column's range (class 22).
 */
class PoisonPillTest {
    private static final Instant T = Instant.parse("2026-06-01T00:00:00Z");

    @Test
    void h2() throws Exception {
        poisonPillsFailOnlyThemselves(TestDatabases.freshH2Url());
    }

    @Test
    void postgreSql() throws Exception {
        poisonPillsFailOnlyThemselves(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES));
    }

    @Test
    void mariaDb() throws Exception {
        poisonPillsFailOnlyThemselves(TestDatabases.freshUrl(TestDatabases.Server.MARIADB));
    }

    private static void poisonPillsFailOnlyThemselves(String url) throws Exception {
        try (TaskInstanceStore jdbc = JdbcStores.open(JdbcStoreOptions.of(url))) {
            List<TaskInstance> rows = new ArrayList<>();
            for (long id = 1; id <= 8; id++) {
                rows.add(TaskInstance.submitted(id, id, "t" + id, T));
            }
            jdbc.insert(rows);
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute(url.startsWith("jdbc:mariadb:")
                        ? "alter table task_instance add constraint no_poison check (host is null or host not like 'POISON%')"
                        : "alter table \"task_instance\" add constraint \"no_poison\" check (\"host\" is null or \"host\" not like 'POISON%')");
            }

            // At the store: a time out of the column's range is refused (H2's timestamps reach the
            // year 999,999,999, so H2 holds this one).
            if (!url.startsWith("jdbc:h2:")) {
                TaskInstance farFuture = new TaskInstance(1, 1, "t1", TaskState.SUCCESS, "h", null, null, 0, null, T,
                        Instant.parse("+300000-01-01T00:00:00Z"), null, "x1", "x1", 1, T);
                IllegalArgumentException range = assertThrows(IllegalArgumentException.class,
                        () -> jdbc.write(new WriteBatch(List.of(new RowUpdate(farFuture, 0)))));
                assertTrue(range.getMessage().contains("SQL state 22"), range.getMessage());
                assertEquals(0, jdbc.find(1).orElseThrow().version(), "nothing written");
            }

            // Through the engine: one batch of 8 events (the first write is held until all are
            // queued), two of them poison; the other six commit, nothing is retried.
            CountDownLatch hold = new CountDownLatch(1);
            AtomicInteger writes = new AtomicInteger();
            ForwardingTaskInstanceStore held = new ForwardingTaskInstanceStore(jdbc) {
                @Override
                public List<WriteOutcome> write(WriteBatch batch) {
                    if (writes.incrementAndGet() == 1) {
                        try {
                            hold.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    return super.write(batch);
                }
            };
            try (TaskEventEngine engine = TaskEventEngine.builder().store(held).commitConcurrency(1).build()) {
                List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>();
                acks.add(engine.submit(TaskEvent.dispatch("d0", 1, 1, T, "warm")));
                Await.until(() -> writes.get() == 1);
                for (long id = 2; id <= 8; id++) {
                    String host = id == 3 || id == 6 ? "POISON-VALUE-" + id : "worker-" + id;
                    acks.add(engine.submit(TaskEvent.builder("r" + id, TaskEventType.RUNNING, id, id).eventTime(T)
                            .host(host).startTime(T).build()));
                }
                Await.until(() -> engine.stats().pendingWrites() == 7);
                hold.countDown();
                for (int i = 0; i < acks.size(); i++) {
                    long id = i + 1L;
                    Acknowledgement ack = acks.get(i).get(30, TimeUnit.SECONDS);
                    if (id == 3 || id == 6) {
                        Acknowledgement.Rejected rejected = assertInstanceOf(Acknowledgement.Rejected.class, ack);
                        assertEquals(Acknowledgement.Rejected.Reason.REFUSED_BY_STORE, rejected.reason());
                        assertTrue(rejected.message().contains("SQL state 23"), rejected.message());
                        assertFalse(rejected.message().contains("POISON") || rejected.message().contains("update "),
                                "no value, no SQL: " + rejected.message());
                        assertEquals(TaskState.SUBMITTED, jdbc.find(id).orElseThrow().state());
                    } else {
                        assertInstanceOf(Acknowledgement.Applied.class, ack, "event of task " + id);
                        assertEquals(1, jdbc.find(id).orElseThrow().version());
                    }
                }
                assertEquals(0, engine.stats().writeRetries(), "a refusal is not retried");
                assertEquals(2, engine.stats().rejected());
            }
        }
    }
}
