package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storage.jdbc.internal.JdbcTaskInstanceStore;
import dev.taskevents.testkit.Await;
import dev.taskevents.testkit.TcpProxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The lease store's "database unreachable" mark only keeps release and leave from being sent
 * while the database really cannot be reached: a statement the database answered never sets it,
 * and once the database is back a release is sent (a graceful close sends no heartbeat before its
 * releases, so a mark left over from a blip would make every shard wait for the lease to run out).
 */
class LeaseReachabilityMarkTest {

    @Test
    void aReleaseIsSentOnceTheDatabaseIsBackEvenWithNoOtherLeaseStatementSinceTheBlip() throws Exception {
        String url = TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        Matcher hostPort = Pattern.compile("//([^:/]+):(\\d+)/").matcher(url);
        assertTrue(hostPort.find(), url);
        try (TcpProxy proxy = new TcpProxy(hostPort.group(1), Integer.parseInt(hostPort.group(2)))) {
            String proxied = hostPort.replaceFirst("//127.0.0.1:" + proxy.port() + "/");
            try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(proxied).withShardCount(4)
                    .withConnectionTimeout(Duration.ofMillis(500)))) {
                ShardLeases leases = store.cluster().orElseThrow();
                List<String> sent = new CopyOnWriteArrayList<>();
                ((JdbcTaskInstanceStore) store).leaseSentProbe(sent::add);
                leases.register("n/1", null, Duration.ofMinutes(1));
                assertEquals(OptionalLong.of(1), leases.acquire(0, "n/1", 0));
                // A blip: the last heartbeat before the close cannot reach the database.
                proxy.setDown(true);
                proxy.cutAll();
                assertThrows(StoreException.class, () -> leases.heartbeat("n/1", Duration.ofMinutes(1)));
                proxy.setDown(false);
                // The database is reachable again (judged on a connection of its own, not a lease statement).
                Await.until(() -> {
                    try (Connection c = DriverManager.getConnection(proxied); Statement s = c.createStatement()) {
                        return s.execute("select 1");
                    } catch (java.sql.SQLException stillDown) {
                        return false;
                    }
                });
                sent.clear();
                try {
                    leases.release(0, "n/1", 1);
                } catch (StoreException e) {
                    // Judged by what was sent below.
                }
                assertEquals(List.of("release"), sent, "the database is reachable again, yet the release of shard 0"
                        + " (the first lease statement since a heartbeat failed) was not sent: a close right after a"
                        + " blip releases nothing and every shard waits for the node's lease to run out");
            }
        }
    }

    @Test
    void aStatementMariaDbAnsweredWithAnErrorDoesNotStopTheNextRelease() throws Exception {
        String url = TestDatabases.freshUrl(TestDatabases.Server.MARIADB);
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url).withShardCount(4))) {
            ShardLeases leases = store.cluster().orElseThrow();
            List<String> sent = new CopyOnWriteArrayList<>();
            ((JdbcTaskInstanceStore) store).leaseSentProbe(sent::add);
            leases.register("n/1", null, Duration.ofMinutes(1));
            assertEquals(OptionalLong.of(1), leases.acquire(0, "n/1", 0));
            assertEquals(OptionalLong.of(1), leases.acquire(1, "n/1", 0));
            // The database answers the release of shard 1 with an error of SQL state class 45 (a
            // trigger's SIGNAL): the connection is fine, the statement reached the database.
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("create trigger refuse_release_of_shard_1 before update on cluster_shard for each row"
                        + " begin if old.shard_id = 1 then signal sqlstate '45000' set message_text ="
                        + " 'shard 1 is kept'; end if; end");
            }
            StoreException refused = assertThrows(StoreException.class, () -> leases.release(1, "n/1", 1));
            sent.clear();
            boolean released;
            try {
                released = leases.release(0, "n/1", 1);
            } catch (StoreException e) {
                fail("a release was not sent after a lease statement the database answered (" + refused.getMessage()
                        + "; cause " + refused.getCause() + "): the answer was taken for the database being"
                        + " unreachable, so a healthy node skips its releases: " + e.getMessage(), e);
                return;
            }
            assertEquals(List.of("release"), sent, "sent");
            assertTrue(released, "shard 0 was held at epoch 1");
        }
    }
}
