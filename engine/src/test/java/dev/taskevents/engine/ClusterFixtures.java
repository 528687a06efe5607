package dev.taskevents.engine;

import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import dev.taskevents.engine.cluster.ClusterMember;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** What the engine's cluster-mode tests share: the clock's instant, the lease, events, and views of a node. */
final class ClusterFixtures {
    static final Instant T = Instant.parse("2026-11-27T10:00:00Z");
    static final Duration LEASE = Duration.ofSeconds(10);
    static final Duration DRAIN = Duration.ofSeconds(5);
    /** Past a lease and a drain: a node stopped this long has lost its shards. */
    static final Duration STALL = LEASE.plus(DRAIN);

    private ClusterFixtures() {
    }

    static TaskEvent dispatch(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.DISPATCH, workflow, task).eventTime(T).host("w1").build();
    }

    static TaskEvent running(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, workflow, task).eventTime(T).host("w1").startTime(T).build();
    }

    static TaskEvent result(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.RESULT, workflow, task).eventTime(T).state(TaskState.SUCCESS)
                .endTime(T.plusSeconds(1)).build();
    }

    static ClusterMember member(TaskEventEngine engine) {
        return engine.clusterMember();
    }

    /** The shards the node serves now. */
    static List<Integer> owned(TaskEventEngine engine) {
        return engine.cluster().orElseThrow().owned().stream().map(ClusterView.OwnedShard::shard).toList();
    }

    /** Whether the store lists the node among the live ones. */
    static boolean live(ClusterTestStore store, TaskEventEngine engine) {
        String id = engine.cluster().orElseThrow().nodeId();
        return store.liveNodes().stream().anyMatch(n -> n.nodeId().equals(id));
    }

    /** A daemon thread running {@code r}, started. */
    static Thread background(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }
}
