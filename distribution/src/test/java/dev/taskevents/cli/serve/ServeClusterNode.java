package dev.taskevents.cli.serve;

import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.ClusterSettings;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import dev.taskevents.testkit.LoopbackPorts;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * A serve node in cluster mode, in process: its own store on a shared database, an engine with a
 * 3 s lease renewed every 200 ms, and serve listening where it advertises, on loopback.
 */
record ServeClusterNode(String address, TaskEventEngine engine, EventServer server) {
    /**
     * Starts a node named {@code name} on {@code url}; whatever it opened goes to {@code toClose}
     * in opening order (close it in reverse).
     *
     * @param feed whether the engine keeps the state-event feed
     */
    static ServeClusterNode start(String name, String url, int shards, boolean feed, List<AutoCloseable> toClose)
            throws Exception {
        int port = LoopbackPorts.next(); // named before it binds: of this fork's slice
        String address = "http://127.0.0.1:" + port;
        TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url).withShardCount(shards).withMaximumPoolSize(4));
        toClose.add(store);
        TaskEventEngine.Builder builder = TaskEventEngine.builder().store(store).cluster(ClusterSettings.builder()
                .nodeName(name).advertisedAddress(address).lease(Duration.ofSeconds(3))
                .renewInterval(Duration.ofMillis(200)).build());
        if (feed) {
            builder.stateFeed(Duration.ofHours(1));
        }
        TaskEventEngine engine = builder.build();
        toClose.add(engine);
        EventServer server = new EventServer(engine, store, ServerSettings.local(port, 1 << 20));
        server.start();
        toClose.add(() -> server.stop(Duration.ZERO));
        return new ServeClusterNode(address, engine, server);
    }

    URI uri(String path) {
        return URI.create(address + path);
    }

    /** The shards this node serves now. */
    List<Integer> active() {
        return engine.cluster().orElseThrow().owned().stream()
                .filter(o -> o.state() == ClusterView.ShardState.ACTIVE).map(ClusterView.OwnedShard::shard).toList();
    }

    String id() {
        return engine.cluster().orElseThrow().nodeId();
    }
}
