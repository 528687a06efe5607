package dev.taskevents.client.internal;

import dev.taskevents.api.Shards;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where an event of a workflow instance goes. Without cluster mode every answer comes from the
 * node it was sent to, and this is just "the preferred configured node". With it, a 421 or a MOVED
 * answer names the shard's owner, and the owner is remembered:
 * <ul>
 *   <li>with the cluster's shard count (given to the builder), per shard, computed with
 *       {@link Shards#of} exactly as serve does, so one answer routes every workflow of the shard;
 *   <li>without it, per workflow instance (at most {@value #MAX_WORKFLOWS} remembered, least
 *       recently learned dropped first; a dropped one costs one more 421).
 * </ul>
 * An owner is followed only within the scheme of the node that named it, or if it is a configured
 * node ({@link #mayFollow}). An owner that is unknown (null) or unreachable is forgotten, and the event goes to a configured
 * node other than the one that failed: the {@code preferred} node moves past a node that failed, so
 * that events do not all keep hitting a dead first node.
 *
 * <p>Thread-safe (every method synchronised: it is called once per event per try, far below the
 * cost of the HTTP request).
 */
public final class Routes {
    static final int MAX_WORKFLOWS = 100_000;

    private final List<URI> nodes;
    private final int shardCount; // 0: unknown
    private final Map<Integer, URI> shardOwners = new LinkedHashMap<>();
    private final Map<Long, URI> workflowOwners = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, URI> eldest) {
            return size() > MAX_WORKFLOWS;
        }
    };
    private int preferred;

    /** @param shardCount the cluster's shard count, or 0 when unknown */
    public Routes(List<URI> nodes, int shardCount) {
        if (nodes.isEmpty()) {
            throw new IllegalArgumentException("at least one node URI is needed");
        }
        this.nodes = List.copyOf(nodes);
        this.shardCount = shardCount == 0 ? 0 : Shards.checkCount(shardCount);
    }

    public List<URI> nodes() {
        return nodes;
    }

    /** The target for the workflow's next try, avoiding {@code avoid} (the target that just failed) if it can. */
    public synchronized URI target(long workflowInstanceId, URI avoid) {
        URI owner = shardCount > 0 ? shardOwners.get(Shards.of(workflowInstanceId, shardCount))
                : workflowOwners.get(workflowInstanceId);
        if (owner != null && !owner.equals(avoid)) {
            return owner;
        }
        URI node = nodes.get(preferred);
        if (node.equals(avoid) && nodes.size() > 1) {
            return nodes.get((preferred + 1) % nodes.size());
        }
        return node;
    }

    /** The node to read the feed from (any node serves it), avoiding {@code avoid} if it can. */
    public synchronized URI feedNode(URI avoid) {
        URI node = nodes.get(preferred);
        return node.equals(avoid) && nodes.size() > 1 ? nodes.get((preferred + 1) % nodes.size()) : node;
    }

    /** A 421/MOVED answer: the workflow's shard is owned by {@code owner} (null: by nobody known). */
    public synchronized void moved(long workflowInstanceId, int shard, URI owner) {
        if (shardCount > 0 && shard >= 0 && shard < shardCount) {
            if (owner == null) {
                shardOwners.remove(shard);
            } else {
                shardOwners.put(shard, owner);
            }
        }
        if (owner == null) {
            workflowOwners.remove(workflowInstanceId);
        } else if (shardCount == 0) {
            workflowOwners.put(workflowInstanceId, owner);
        }
    }

    /** {@code target} did not answer: forget it as an owner, and prefer the next configured node. */
    public synchronized void unreachable(URI target) {
        shardOwners.values().removeIf(target::equals);
        workflowOwners.values().removeIf(target::equals);
        if (nodes.get(preferred).equals(target)) {
            preferred = (preferred + 1) % nodes.size();
        }
    }

    /**
     * Whether an owner named by {@code from} may be sent to: only within {@code from}'s scheme, or
     * to a configured node. An answer of one node must not move an https:// client's events and
     * token to plain http:// (nor an http:// client to a TLS it was not set up for); the caller's
     * own list of nodes is trusted as given. A configured node is matched by its {@link NodeAddress}
     * (scheme, host in any case, effective port), not by the exact URI: {@code http://te-b:8080/}
     * given to the builder admits an owner named {@code http://TE-B:8080}.
     */
    public boolean mayFollow(URI from, URI owner) {
        if (owner.getScheme().equalsIgnoreCase(from.getScheme())) {
            return true;
        }
        NodeAddress address = NodeAddress.of(owner);
        return nodes.stream().anyMatch(node -> NodeAddress.of(node).equals(address));
    }

    /** An owner address as a server gave it; null if absent or not an absolute http(s) URI. */
    public static URI ownerUri(String address) {
        if (address == null || address.isBlank()) {
            return null;
        }
        try {
            URI uri = URI.create(address.strip());
            return uri.isAbsolute() && ("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
                    && uri.getHost() != null ? uri : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
