package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.storecontract.TaskInstanceStoreContract;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The store contract on each database, through ServiceLoader (Stores.open) as a host would open it. */
class JdbcStoreContractTest {

    abstract static class OnOneDatabase extends TaskInstanceStoreContract {
        private String url;

        abstract String newDatabaseUrl();

        String url() {
            return url;
        }

        @Override
        protected TaskInstanceStore openStore() {
            if (url == null) {
                url = newDatabaseUrl();
            }
            return Stores.open(url);
        }

        /** Runs DDL on the test's own database, beside the store (a fresh schema per test). */
        void execute(String ddl) throws SQLException {
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute(ddl);
            }
        }

        /** A CHECK constraint the UPDATE to version 1 violates: the statement fails inside the batch. */
        @Override
        protected void makeUpdatesOfRowFail(long id) throws Exception {
            execute("alter table task_instance add constraint te_contract_fail check (id <> " + id + " or version = 0)");
        }
    }

    @Nested
    class H2 extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshH2Url();
        }

        @Override
        protected String malformedUrl() {
            return "jdbc:h2:file:/tmp/taskevents-malformed;NO_SUCH_SETTING=1";
        }

        /** H2 folds unquoted names to upper case; the migrations created them quoted, in lower case. */
        @Override
        protected void makeUpdatesOfRowFail(long id) throws Exception {
            execute("alter table \"task_instance\" add constraint te_contract_fail check (\"id\" <> " + id
                    + " or \"version\" = 0)");
        }

        @Override
        protected String unreachableUrl() {
            return "jdbc:h2:file:/nonexistent-" + UUID.randomUUID() + "/db;IFEXISTS=TRUE";
        }
    }

    @Nested
    class PostgreSql extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        }

        @Override
        protected void makeUpdatesOfRowMatchNothing(long id) throws Exception {
            skipUpdatesOf(this, id);
        }

        @Override
        protected String malformedUrl() {
            return "jdbc:postgresql://127.0.0.1:notaport/test?user=postgres";
        }

        @Override
        protected String unreachableUrl() {
            return "jdbc:postgresql://127.0.0.1:1/test?user=postgres";
        }
    }

    /** PostgreSQL with the multi-row UPDATE path instead of the default JDBC batch. */
    @Nested
    class PostgreSqlMultiRow extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        }

        @Override
        protected TaskInstanceStore openStore() {
            super.openStore().close();
            return JdbcStores.open(JdbcStoreOptions.of(url()).withMultiRowUpdates(true));
        }

        @Override
        protected void makeUpdatesOfRowMatchNothing(long id) throws Exception {
            skipUpdatesOf(this, id);
        }

        /**
         * More than 1,000 rows in one batch go out as many multi-row UPDATEs of 100 rows: every row
         * must be in the database afterwards, read back over a plain JDBC connection (not through
         * the store), each with its own new version, event id and var pool.
         */
        @Test
        void moreThanAThousandRowsOfOneBatchAreAllInTheDatabase() throws Exception {
            long wf = newId();
            List<TaskInstance> rows = new ArrayList<>();
            for (int i = 0; i < 2_345; i++) {
                rows.add(submitted(newId(), wf));
            }
            store.insert(rows);
            Map<Long, TaskInstance> written = new HashMap<>();
            List<RowUpdate> updates = new ArrayList<>();
            for (TaskInstance r : rows) {
                TaskInstance next = finished(r, 1, "pool-" + r.id());
                written.put(r.id(), next);
                updates.add(new RowUpdate(next, 0));
            }
            assertEquals(Collections.nCopies(rows.size(), WriteOutcome.APPLIED), store.write(new WriteBatch(updates)));
            Map<Long, String> inDatabase = new HashMap<>();
            try (Connection c = DriverManager.getConnection(url()); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("select id, version, finish_event_id, var_pool from task_instance")) {
                while (r.next()) {
                    inDatabase.put(r.getLong(1), r.getLong(2) + "/" + r.getString(3) + "/" + r.getString(4));
                }
            }
            Map<Long, String> expected = new HashMap<>();
            written.forEach((id, row) -> expected.put(id, row.version() + "/" + row.finishEventId() + "/" + row.varPool()));
            assertEquals(expected, inDatabase);
        }
    }

    @Nested
    class MariaDb extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
        }

        @Override
        protected String malformedUrl() {
            return "jdbc:mariadb://127.0.0.1:notaport/test?user=root";
        }

        @Override
        protected String unreachableUrl() {
            return "jdbc:mariadb://127.0.0.1:1/test?user=root";
        }
    }

    /**
     * jdbc:mysql: URLs go through MySQL Connector/J and jOOQ's MySQL dialect. Runs only where
     * {@code TASKEVENTS_TEST_MYSQL_URL} names a real MySQL server; these machines and CI have none,
     * so it is skipped, with that reason, even under {@code TASKEVENTS_TEST_REQUIRE_DATABASES=true}.
     */
    @Nested
    class MySqlDriver extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.MYSQL);
        }
    }

    /**
     * PostgreSQL: a BEFORE UPDATE trigger that returns NULL for row {@code id}, so that its UPDATE
     * succeeds and changes nothing (update count 0), as if the row had changed underneath.
     */
    static void skipUpdatesOf(OnOneDatabase db, long id) throws SQLException {
        db.execute("create function te_contract_skip() returns trigger language plpgsql as $$ begin"
                + " if new.id = " + id + " then return null; end if; return new; end $$");
        db.execute("create trigger te_contract_skip before update on task_instance for each row"
                + " execute function te_contract_skip()");
    }
}
