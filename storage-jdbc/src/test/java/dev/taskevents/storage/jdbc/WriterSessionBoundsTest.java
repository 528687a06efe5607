package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.TaskInstanceStore;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The bound a JDBC store puts on its write sessions, as it reports it: the chosen writer idle
 * timeout; without one, none for a single node and half the shortest lease registered once it
 * takes part in a cluster (at least 1 s; whole seconds on MariaDB); never on H2.
 */
class WriterSessionBoundsTest {
    private static String url(String where) {
        return switch (where) {
            case "h2" -> TestDatabases.freshH2Url();
            case "mariadb" -> TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
            default -> TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgres", "mariadb"})
    void withoutAChosenTimeoutTheBoundIsHalfTheShortestLeaseOnceANodeRegistered(String where) {
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url(where)))) {
            ShardLeases leases = store.cluster().orElseThrow();
            assertEquals(Optional.empty(), leases.writerIdleTimeout(), "a single node");
            leases.register("a/1", null, Duration.ofMillis(3_000));
            Optional<Duration> half = switch (where) {
                case "h2" -> Optional.empty();
                case "mariadb" -> Optional.of(Duration.ofSeconds(2));
                default -> Optional.of(Duration.ofMillis(1_500));
            };
            assertEquals(half, leases.writerIdleTimeout(), "after a node registered with a 3 s lease");
            leases.register("b/1", null, Duration.ofSeconds(30));
            assertEquals(half, leases.writerIdleTimeout(), "a longer lease does not lengthen it");
            leases.register("c/1", null, Duration.ofMillis(600));
            assertEquals(where.equals("h2") ? Optional.empty() : Optional.of(Duration.ofSeconds(1)),
                    leases.writerIdleTimeout(), "never below 1 s");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"postgres", "mariadb"})
    void aChosenTimeoutStaysWhateverTheLeases(String where) {
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url(where))
                .withWriterIdleTimeout(Duration.ofSeconds(7)))) {
            ShardLeases leases = store.cluster().orElseThrow();
            assertEquals(Optional.of(Duration.ofSeconds(7)), leases.writerIdleTimeout());
            leases.register("a/1", null, Duration.ofSeconds(3));
            assertEquals(Optional.of(Duration.ofSeconds(7)), leases.writerIdleTimeout());
        }
    }
}
