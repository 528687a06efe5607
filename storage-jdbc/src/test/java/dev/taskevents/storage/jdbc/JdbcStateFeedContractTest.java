package dev.taskevents.storage.jdbc;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storecontract.StateFeedContract;
import org.junit.jupiter.api.Nested;

/** The state-feed contract on each database, through ServiceLoader as a host would open the store. */
class JdbcStateFeedContractTest {

    @Nested
    class H2 extends StateFeedContract {
        @Override
        protected TaskInstanceStore openStore() {
            return Stores.open(TestDatabases.freshH2Url());
        }
    }

    @Nested
    class PostgreSql extends StateFeedContract {
        @Override
        protected TaskInstanceStore openStore() {
            return JdbcStores.open(JdbcStoreOptions.of(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES))
                    .withMaximumPoolSize(2));
        }
    }

    @Nested
    class MariaDb extends StateFeedContract {
        @Override
        protected TaskInstanceStore openStore() {
            return JdbcStores.open(JdbcStoreOptions.of(TestDatabases.freshUrl(TestDatabases.Server.MARIADB))
                    .withMaximumPoolSize(2));
        }
    }
}
