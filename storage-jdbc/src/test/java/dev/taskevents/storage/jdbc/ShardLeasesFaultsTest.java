package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storage.jdbc.internal.JdbcTaskInstanceStore;
import dev.taskevents.testkit.TcpProxy;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every lease operation with the database unreachable (a {@link TcpProxy} that cut every
 * connection and refuses new ones) throws {@link StoreException} naming what failed, with no
 * password anywhere in the message or its causes; and works again once the database is back.
 * Both before the lease connections were ever opened and after. Once a statement could not reach
 * the database, release and leave are not sent until one reaches it again (a close would wait a
 * connection timeout per shard).
 */
class ShardLeasesFaultsTest {
    private static final String PASSWORD = "Sekr3t-lease-pw";

    @Test
    void postgreSql() throws Exception {
        // PostgreSQL here trusts loopback, so a password in the URL is accepted and ignored.
        unreachable(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES) + "&password=" + PASSWORD, true);
    }

    @Test
    void mariaDb() throws Exception {
        unreachable(TestDatabases.freshUrl(TestDatabases.Server.MARIADB), true);
    }

    @Test
    void mariaDbBeforeTheLeaseConnectionsOpened() throws Exception {
        unreachable(TestDatabases.freshUrl(TestDatabases.Server.MARIADB), false);
    }

    @Test
    void postgreSqlBeforeTheLeaseConnectionsOpened() throws Exception {
        unreachable(TestDatabases.freshUrl(TestDatabases.Server.POSTGRES) + "&password=" + PASSWORD, false);
    }

    private static void unreachable(String url, boolean usedBefore) throws Exception {
        Matcher hostPort = Pattern.compile("//([^:/]+):(\\d+)/").matcher(url);
        assertTrue(hostPort.find(), url);
        try (TcpProxy proxy = new TcpProxy(hostPort.group(1), Integer.parseInt(hostPort.group(2)))) {
            String proxied = hostPort.replaceFirst("//127.0.0.1:" + proxy.port() + "/");
            try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(proxied).withMaximumPoolSize(2)
                    .withConnectionTimeout(Duration.ofMillis(500)))) {
                ShardLeases leases = store.cluster().orElseThrow();
                List<String> sent = new CopyOnWriteArrayList<>();
                ((JdbcTaskInstanceStore) store).leaseSentProbe(sent::add);
                if (usedBefore) {
                    leases.register("n/1", null, Duration.ofMinutes(1));
                }
                proxy.setDown(true);
                proxy.cutAll();
                sent.clear();
                List<Consumer<ShardLeases>> operations = List.of(
                        l -> l.register("n/2", null, Duration.ofMinutes(1)),
                        l -> l.heartbeat("n/1", Duration.ofMinutes(1)),
                        ShardLeases::liveNodes,
                        ShardLeases::shards,
                        l -> l.acquire(0, "n/1", 0),
                        l -> l.release(0, "n/1", 1),
                        l -> l.leave("n/1"),
                        l -> l.reap(Duration.ZERO),
                        l -> l.pendingStateEvents(Set.of(0), 10));
                for (Consumer<ShardLeases> operation : operations) {
                    StoreException e = assertThrows(StoreException.class, () -> operation.accept(leases));
                    for (Throwable t = e; t != null; t = t.getCause()) {
                        assertFalse(String.valueOf(t.getMessage()).contains(PASSWORD), "password in: " + t);
                        for (Throwable s : t.getSuppressed()) {
                            assertFalse(String.valueOf(s.getMessage()).contains(PASSWORD), "password in: " + s);
                        }
                    }
                    assertTrue(e.getMessage().startsWith("c"), e.getMessage()); // "could not ..." / "cannot connect ..."
                }
                assertEquals(List.of("register", "heartbeat", "liveNodes", "shards", "acquire", "release", "reap"), sent,
                        "sent while the database was away: one release as the probe, then no release or leave");
                proxy.setDown(false);
                // The pool reconnects in the background; the first calls may still find none.
                boolean[] alive = new boolean[1];
                dev.taskevents.testkit.Await.until(() -> {
                    try {
                        alive[0] = leases.heartbeat("n/1", Duration.ofMinutes(1)) != ShardLeases.Renewal.NOT_REGISTERED;
                        return true;
                    } catch (StoreException stillDown) {
                        return false;
                    }
                });
                assertTrue(alive[0] == usedBefore, "n/1 registered: " + usedBefore);
                sent.clear();
                leases.leave("n/1");
                assertEquals(List.of("leave"), sent, "tried again once a statement reached the database");
            }
        }
    }
}
