package dev.taskevents.cli.serve;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.TaskEventEngine;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code GET /v1/cluster}: 404 unless the node runs in cluster mode. */
final class ClusterEndpoint {
    private ClusterEndpoint() {}

    /**
     * {@code GET /v1/cluster}: this node, the live nodes and every shard's epoch and owner as this
     * node's last claim round read them from the store ({@code mapAgeMs} ago; the leases left are
     * counted down by that age), with this node's own tenure state per shard it holds, and its
     * counters. It reads nothing from the store: the lease connections are two, kept for the
     * heartbeats and rounds, and an operator's page polled during an incident must not queue
     * behind them or delay them.
     */
    static ObjectNode json(JsonCodec json, TaskEventEngine engine) {
        ClusterView view = engine.cluster().orElseThrow(() -> new BadRequest(404,
                "this node does not run in cluster mode (serve --cluster)"));
        List<ShardLeases.NodeInfo> nodes = view.liveNodes();
        List<ShardLeases.ShardInfo> shards = view.shardMap();
        Duration age = view.mapAge() == null ? Duration.ZERO : view.mapAge();
        Map<Integer, ClusterView.OwnedShard> mine = new HashMap<>();
        view.owned().forEach(o -> mine.put(o.shard(), o));
        ObjectNode body = json.mapper.createObjectNode().put("self", view.nodeId()).put("shardCount", view.shardCount());
        if (view.mapAge() == null) {
            body.putNull("mapAgeMs"); // no round has read the cluster yet
        } else {
            body.put("mapAgeMs", view.mapAge().toMillis());
        }
        ArrayNode nodeList = body.putArray("nodes");
        for (ShardLeases.NodeInfo node : nodes) {
            ArrayNode owned = nodeList.addObject().put("id", node.nodeId()).put("address", node.address())
                    .put("leaseLeftMs", Math.max(0, node.leaseLeft().minus(age).toMillis())).putArray("shards");
            shards.stream().filter(sh -> node.nodeId().equals(sh.ownerNode())).forEach(sh -> owned.add(sh.shard()));
        }
        ArrayNode shardList = body.putArray("shards");
        for (ShardLeases.ShardInfo shard : shards) {
            ObjectNode entry = shardList.addObject().put("shard", shard.shard()).put("epoch", shard.epoch())
                    .put("owner", shard.ownerNode()).put("ownerAddress", shard.ownerAddress())
                    .put("ownerAlive", shard.ownerAlive());
            ClusterView.OwnedShard own = mine.get(shard.shard());
            // This node's tenure, if it is the one the store records (else it is stale or not yet taken).
            entry.put("state", own == null || own.epoch() != shard.epoch() ? null : own.state().name());
        }
        ClusterView.Counters c = view.counters();
        body.putObject("counters").put("takeovers", c.takeovers()).put("releases", c.releases())
                .put("shardsLost", c.shardsLost()).put("fencedRows", c.fencedRows())
                .put("movedAnswers", c.movedAnswers()).put("heartbeatFailures", c.heartbeatFailures());
        return body;
    }
}
