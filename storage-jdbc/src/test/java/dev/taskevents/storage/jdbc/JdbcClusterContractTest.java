package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardFence;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storage.jdbc.internal.JdbcTaskInstanceStore;
import dev.taskevents.storecontract.FencingContract;
import dev.taskevents.storecontract.ShardLeasesContract;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The cluster contracts (leases and the write fence) on each database. */
class JdbcClusterContractTest {

    enum Db {
        H2, POSTGRES, MARIADB;

        String freshUrl() {
            return switch (this) {
                case H2 -> TestDatabases.freshH2Url();
                case POSTGRES -> TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
                case MARIADB -> TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
            };
        }
    }

    static Long writtenEpoch(Db db, String url, long id) throws Exception {
        String q = db == Db.MARIADB ? "`" : "\"";
        try (Connection c = DriverManager.getConnection(url); PreparedStatement s = c.prepareStatement(
                "select " + q + "written_epoch" + q + " from " + q + "task_instance" + q + " where " + q + "id" + q + " = ?")) {
            s.setLong(1, id);
            try (ResultSet r = s.executeQuery()) {
                assertTrue(r.next(), "row " + id);
                long v = r.getLong(1);
                return r.wasNull() ? null : v;
            }
        }
    }

    abstract static class Leases extends ShardLeasesContract {
        abstract Db db();

        @Override
        protected TaskInstanceStore openStore() {
            return JdbcStores.open(JdbcStoreOptions.of(db().freshUrl()).withMaximumPoolSize(3));
        }
    }

    abstract static class Fencing extends FencingContract {
        private String url;

        abstract Db db();

        JdbcStoreOptions options() {
            return JdbcStoreOptions.of(url).withMaximumPoolSize(3);
        }

        @Override
        protected TaskInstanceStore openStore() {
            url = db().freshUrl();
            return JdbcStores.open(options());
        }

        @Override
        protected void afterFenceRead(TaskInstanceStore store, Runnable probe) {
            ((JdbcTaskInstanceStore) store).fenceProbe(probe);
        }

        @Override
        protected void leaseLockWait(TaskInstanceStore store, Duration wait) {
            ((JdbcTaskInstanceStore) store).leaseLockWait(wait);
        }

        @Override
        protected TaskInstanceStore openWithWriterIdleTimeout(Duration idle) {
            Assumptions.assumeFalse(db() == Db.H2, "H2 has no idle-in-transaction bound: its database lives inside"
                    + " the process that would pause");
            return JdbcStores.open(options().withWriterIdleTimeout(idle));
        }

        /** written_epoch: the shard's epoch after a fenced update, null after an unfenced one (store-internal column). */
        @Test
        void aFencedUpdateRecordsItsEpochAndAnUnfencedOneClearsIt() throws Exception {
            String a = newNode("a");
            leases.register(a, null, LONG);
            int shard = 40;
            OptionalLong epoch = leases.acquire(shard, a, 0);
            assertEquals(OptionalLong.of(1), epoch);
            Instant t = Instant.parse("2026-01-02T03:04:05.123456Z");
            TaskInstance x = TaskInstance.submitted(newId(), workflowIn(shard), "x", t);
            store.insert(List.of(x));
            assertNull(writtenEpoch(db(), url, x.id()));
            TaskInstance x1 = next(x, "x1", t);
            ShardFence fence = new ShardFence(leases.shardCount(), Map.of(shard, 1L));
            assertEquals(List.of(WriteOutcome.APPLIED), store.write(new WriteBatch(List.of(new RowUpdate(x1, 0)), fence)));
            assertEquals(1L, writtenEpoch(db(), url, x.id()));
            TaskInstance x2 = next(x1, "x2", t);
            assertEquals(List.of(WriteOutcome.APPLIED), store.write(new WriteBatch(List.of(new RowUpdate(x2, 1)))));
            assertNull(writtenEpoch(db(), url, x.id()));
            assertEquals(Shards.of(x.workflowInstanceId(), leases.shardCount()), shard);
        }
    }

    @Nested
    class H2Leases extends Leases {
        @Override
        Db db() {
            return Db.H2;
        }
    }

    @Nested
    class H2Fencing extends Fencing {
        @Override
        Db db() {
            return Db.H2;
        }
    }

    @Nested
    class PostgreSqlLeases extends Leases {
        @Override
        Db db() {
            return Db.POSTGRES;
        }
    }

    @Nested
    class PostgreSqlFencing extends Fencing {
        @Override
        Db db() {
            return Db.POSTGRES;
        }
    }

    /** PostgreSQL's multi-row UPDATE path: the fence and written_epoch there too. */
    @Nested
    class PostgreSqlMultiRowFencing extends Fencing {
        @Override
        Db db() {
            return Db.POSTGRES;
        }

        @Override
        JdbcStoreOptions options() {
            return super.options().withMultiRowUpdates(true);
        }
    }

    @Nested
    class MariaDbLeases extends Leases {
        @Override
        Db db() {
            return Db.MARIADB;
        }
    }

    @Nested
    class MariaDbFencing extends Fencing {
        @Override
        Db db() {
            return Db.MARIADB;
        }
    }
}
