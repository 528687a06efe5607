package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.taskevents.api.Shards;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import dev.taskevents.testkit.Await;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import dev.taskevents.testkit.LoopbackPorts;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * serve in cluster mode over real HTTP: two nodes, each an engine on its own store over one H2
 * database, with 4 shards. An event for the other node's shard is answered 421 with the owner's
 * address (header and body); a request mixing both is 200 with MOVED for the other's event;
 * {@code /v1/cluster} and {@code /metrics} show the shards, epochs and counters.
 */
class ServeClusterTest {
    private static final int SHARDS = 4;
    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final String url = "jdbc:h2:mem:serve-cluster-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";


    private ServeClusterNode node(String name) throws Exception {
        return ServeClusterNode.start(name, url, SHARDS, false, toClose);
    }

    @AfterEach
    void close() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private HttpResponse<String> post(ServeClusterNode node, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(node.uri(path)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(ServeClusterNode node, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(node.uri(path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String dispatch(String eventId, long workflow, long task) {
        return "{\"eventId\":\"" + eventId + "\",\"type\":\"DISPATCH\",\"workflowInstanceId\":" + workflow
                + ",\"taskInstanceId\":" + task + ",\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"w\"}";
    }

    /** A workflow id whose shard is {@code shard}. */
    private static long workflowIn(int shard) {
        long workflow = 1;
        while (Shards.of(workflow, SHARDS) != shard) {
            workflow++;
        }
        return workflow;
    }

    @Test
    void misdirectedEventsNameTheOwnerAndTheClusterIsShown() throws Exception {
        ServeClusterNode a = node("a");
        ServeClusterNode b = node("b");
        // Each serves 2 of the 4 shards, and a's shard map (which Moved answers name owners from) has
        // seen b take its two.
        String bId = b.engine().cluster().orElseThrow().nodeId();
        Await.until(() -> a.active().size() == 2 && b.active().size() == 2 && a.engine().cluster().orElseThrow()
                .shardMap().stream().filter(sh -> bId.equals(sh.ownerNode()) && sh.ownerAlive()
                        && b.active().contains(sh.shard())).count() == 2);
        long ofA = workflowIn(a.active().getFirst());
        long ofB = workflowIn(b.active().getFirst());
        assertEquals(201, post(a, "/v1/task-instances", "[{\"id\":" + ofA * 100 + ",\"workflowInstanceId\":" + ofA
                + ",\"name\":\"t\"},{\"id\":" + ofB * 100 + ",\"workflowInstanceId\":" + ofB + ",\"name\":\"t\"}]")
                .statusCode(), "any node creates tasks of any shard");

        // Wholly for b: 421, b's address in the header and in the body, nothing applied.
        HttpResponse<String> misdirected = post(a, "/v1/events", dispatch("e-b", ofB, ofB * 100));
        assertEquals(421, misdirected.statusCode(), misdirected.body());
        assertEquals(b.address(), misdirected.headers().firstValue("Taskevents-Owner").orElse(null));
        JsonNode moved = json.readTree(misdirected.body()).get("moved");
        assertEquals(1, moved.size());
        assertEquals("e-b", moved.get(0).get("eventId").asText());
        assertEquals(Shards.of(ofB, SHARDS), moved.get(0).get("shard").asInt());
        assertEquals(b.address(), moved.get(0).get("owner").asText());

        // Mixed: 200, a's event applied, b's MOVED with its owner.
        HttpResponse<String> mixed = post(a, "/v1/events", "[" + dispatch("e-a", ofA, ofA * 100) + ","
                + dispatch("e-b", ofB, ofB * 100) + "]");
        assertEquals(200, mixed.statusCode(), mixed.body());
        JsonNode acks = json.readTree(mixed.body()).get("acks");
        assertEquals("APPLIED", acks.get(0).get("outcome").asText());
        assertEquals("MOVED", acks.get(1).get("outcome").asText());
        assertEquals(b.address(), acks.get(1).get("owner").asText());

        // Resent to the owner: applied there.
        HttpResponse<String> atOwner = post(b, "/v1/events", dispatch("e-b", ofB, ofB * 100));
        assertEquals(200, atOwner.statusCode(), atOwner.body());
        assertEquals("APPLIED", json.readTree(atOwner.body()).get("acks").get(0).get("outcome").asText());

        // The cluster as the database records it, with a's tenures.
        HttpResponse<String> cluster = get(a, "/v1/cluster");
        assertEquals(200, cluster.statusCode(), cluster.body());
        JsonNode view = json.readTree(cluster.body());
        assertEquals(a.engine().cluster().orElseThrow().nodeId(), view.get("self").asText());
        assertEquals(SHARDS, view.get("shardCount").asInt());
        assertEquals(2, view.get("nodes").size(), cluster.body());
        Map<String, Integer> shardsPerNode = new HashMap<>();
        for (JsonNode n : view.get("nodes")) {
            shardsPerNode.put(n.get("address").asText(), n.get("shards").size());
            assertTrue(n.get("leaseLeftMs").asLong() > 0, cluster.body());
        }
        assertEquals(Map.of(a.address(), 2, b.address(), 2), shardsPerNode);
        assertEquals(SHARDS, view.get("shards").size());
        for (JsonNode shard : view.get("shards")) {
            boolean mine = a.active().contains(shard.get("shard").asInt());
            // Taken once (epoch 1), or given up by a when b joined and taken by b (epoch 3).
            assertTrue(shard.get("epoch").asLong() == 1 || shard.get("epoch").asLong() == 3, shard.toString());
            if (mine) {
                assertEquals(a.engine().cluster().orElseThrow().owned().stream()
                        .filter(o -> o.shard() == shard.get("shard").asInt()).findFirst().orElseThrow().epoch(),
                        shard.get("epoch").asLong(), "a serves its shards at the epoch the database records");
            }
            assertEquals(mine ? a.address() : b.address(), shard.get("ownerAddress").asText());
            assertTrue(shard.get("ownerAlive").asBoolean());
            if (mine) {
                assertEquals("ACTIVE", shard.get("state").asText());
            } else {
                assertTrue(shard.get("state").isNull(), "b's shard has no state at a: " + shard);
            }
        }
        assertEquals(2, view.get("counters").get("movedAnswers").asLong(), cluster.body());

        String metrics = get(a, "/metrics").body();
        assertTrue(metrics.contains("\ntaskevents_cluster_owned_shards 2\n"), metrics);
        assertTrue(metrics.contains("taskevents_events_total{outcome=\"moved\"} 2\n"), metrics);
        JsonNode counters = view.get("counters");
        long taken = counters.get("takeovers").asLong();
        assertEquals(2, taken - counters.get("releases").asLong(), "a serves what it took less what it gave b: " + counters);
        assertTrue(metrics.contains("\ntaskevents_cluster_takeovers_total " + taken + "\n"), metrics);
    }

    /**
     * {@code /v1/cluster} answers from what the node's last claim round read, so a page polled
     * while the lease connections are busy (or the database slow) neither waits for them nor
     * takes them from the heartbeats: here every lease call the server could make would throw.
     */
    @Test
    void theClusterResourceAnswersFromTheLastRoundWithoutAskingTheStore() throws Exception {
        ServeClusterNode a = node("a");
        String aId = a.engine().cluster().orElseThrow().nodeId();
        // A round after the one that took the shards has read them as a's.
        Await.until(() -> a.active().size() == SHARDS && a.engine().cluster().orElseThrow().shardMap().stream()
                .filter(sh -> aId.equals(sh.ownerNode())).count() == SHARDS);
        TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url).withMaximumPoolSize(2));
        toClose.add(store);
        ShardLeases unreachable = (ShardLeases) Proxy.newProxyInstance(ShardLeases.class.getClassLoader(),
                new Class<?>[] {ShardLeases.class}, (proxy, method, args) -> {
                    throw new StoreException("the lease connections are busy: " + method.getName());
                });
        TaskInstanceStore leasesBusy = new ForwardingTaskInstanceStore(store) {
            @Override
            public Optional<ShardLeases> cluster() {
                return Optional.of(unreachable);
            }
        };
        int port = LoopbackPorts.next(); // named before it binds: of this fork's slice
        EventServer server = new EventServer(a.engine(), leasesBusy, ServerSettings.local(port, 1 << 20));
        server.start();
        toClose.add(() -> server.stop(Duration.ZERO));

        HttpResponse<String> cluster = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                + "/v1/cluster")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, cluster.statusCode(), cluster.body());
        JsonNode view = json.readTree(cluster.body());
        assertEquals(1, view.get("nodes").size(), cluster.body());
        assertEquals(SHARDS, view.get("nodes").get(0).get("shards").size(), cluster.body());
        assertEquals(SHARDS, view.get("shards").size(), cluster.body());
        assertTrue(view.get("mapAgeMs").asLong() >= 0, cluster.body());
        for (JsonNode shard : view.get("shards")) {
            assertEquals("ACTIVE", shard.get("state").asText(), cluster.body());
        }
    }

    @Test
    void aNodeOutsideClusterModeHasNoClusterResource() throws Exception {
        TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url));
        toClose.add(store);
        TaskEventEngine engine = TaskEventEngine.builder().store(store).build();
        toClose.add(engine);
        EventServer server = new EventServer(engine, store, ServerSettings.local(0, 1 << 20));
        server.start();
        toClose.add(() -> server.stop(Duration.ZERO));
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + server.address().getPort() + "/v1/cluster")).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, r.statusCode());
        assertEquals("this node does not run in cluster mode (serve --cluster)", json.readTree(r.body()).get("error").asText());
        assertNull(engine.cluster().orElse(null));
        assertTrue(!get(new ServeClusterNode("http://127.0.0.1:" + server.address().getPort(), engine, server), "/metrics").body()
                .contains("taskevents_cluster_"), "no cluster metrics outside cluster mode");
    }
}
