package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.ClusterSettings;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.internal.JdbcTaskInstanceStore;
import dev.taskevents.testkit.Await;
import dev.taskevents.testkit.TcpProxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A graceful close (serve's SIGTERM) while the database is away sends the database at most one
 * release or leave: each would wait a whole connection timeout, and a shard not released expires
 * with the node's lease anyway. Counted by the statements the lease connections send, not timed.
 */
class ClusterCloseWithDatabaseDownTest {
    private static final int SHARDS = 8;

    @Test
    void aCloseWithTheDatabaseDownTriesOneReleaseNotOnePerShard() throws Exception {
        String url = TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        Matcher hostPort = Pattern.compile("//([^:/]+):(\\d+)/").matcher(url);
        assertTrue(hostPort.find(), url);
        try (TcpProxy proxy = new TcpProxy(hostPort.group(1), Integer.parseInt(hostPort.group(2)))) {
            String proxied = hostPort.replaceFirst("//127.0.0.1:" + proxy.port() + "/");
            // serve's store: JdbcStoreOptions.of (5 s connection timeout), fewer shards than its 256.
            try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(proxied).withShardCount(SHARDS)
                    .withWriterIdleTimeout(Duration.ofMillis(1500)))) {
                List<String> sentWhileDown = new CopyOnWriteArrayList<>();
                AtomicBoolean down = new AtomicBoolean();
                ((JdbcTaskInstanceStore) store).leaseSentProbe(method -> {
                    if (down.get()) {
                        sentWhileDown.add(method);
                    }
                });
                TaskEventEngine engine = TaskEventEngine.builder().store(store)
                        .cluster(ClusterSettings.builder().nodeName("a").lease(Duration.ofSeconds(3))
                                .renewInterval(Duration.ofMillis(500)).build())
                        .build();
                Await.until(() -> engine.cluster().orElseThrow().owned().size() == SHARDS
                        && engine.cluster().orElseThrow().owned().stream()
                                .allMatch(s -> s.state() == ClusterView.ShardState.ACTIVE));
                down.set(true);
                proxy.setDown(true);
                proxy.cutAll();
                long start = System.nanoTime();
                // A deadline far above SHARDS connection timeouts: the engine's own deadline is not what stops it here.
                engine.close(Duration.ofSeconds(120));
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                List<String> releasesAndLeaves = sentWhileDown.stream()
                        .filter(m -> m.equals("release") || m.equals("leave")).toList();
                assertTrue(releasesAndLeaves.size() <= 1, "close with the database down sent " + releasesAndLeaves
                        + " to it, each waiting up to a connection timeout (took " + tookMs + " ms for " + SHARDS
                        + " shards); after the first could not reach the database the rest must not be tried");
                assertEquals(List.of(), engine.cluster().orElseThrow().owned(), "every tenure ended at close");
            }
        }
    }
}
