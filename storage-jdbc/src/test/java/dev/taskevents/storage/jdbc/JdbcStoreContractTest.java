package dev.taskevents.storage.jdbc;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storecontract.TaskInstanceStoreContract;
import org.junit.jupiter.api.Nested;

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
    }

    @Nested
    class H2 extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshH2Url();
        }
    }

    @Nested
    class PostgreSql extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
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
    }

    @Nested
    class MariaDb extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
        }
    }

    /** jdbc:mysql: URLs go through MySQL Connector/J and jOOQ's MySQL dialect. */
    @Nested
    class MySqlDriver extends OnOneDatabase {
        @Override
        String newDatabaseUrl() {
            return TestDatabases.freshUrl(TestDatabases.Server.MYSQL);
        }
    }
}
