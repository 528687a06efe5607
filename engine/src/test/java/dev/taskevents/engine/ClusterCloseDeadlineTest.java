package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.spi.WorkflowStateSink;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A graceful close in cluster mode ends by its deadline however slowly the store answers: the
 * releases and the leave not sent by then are not sent (the shards move when the lease runs
 * out). The store's slowness is a clock it advances itself, one second per release.
 */
class ClusterCloseDeadlineTest {
    private static final int SHARDS = 8;

    private final AtomicLong nanos = new AtomicLong();

    /** The cluster test store, whose every release takes a second of the member's clock. */
    private final class SlowReleases extends ForwardingShardLeases {
        final AtomicInteger releases = new AtomicInteger();
        final AtomicInteger leaves = new AtomicInteger();

        SlowReleases(ClusterTestStore inner) {
            super(inner);
        }

        @Override
        public boolean release(int shard, String nodeId, long epoch) {
            releases.incrementAndGet();
            nanos.addAndGet(Duration.ofSeconds(1).toNanos());
            return inner.release(shard, nodeId, epoch);
        }

        @Override
        public void leave(String nodeId) {
            leaves.incrementAndGet();
            inner.leave(nodeId);
        }
    }

    @Test
    void aCloseSendsNoReleaseOrLeaveAfterItsDeadline() {
        SlowReleases store = new SlowReleases(new ClusterTestStore(SHARDS));
        TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(WorkflowStateSink.NONE)
                .cluster(ClusterSettings.builder().nodeName("a").lease(Duration.ofSeconds(10))
                        .renewInterval(Duration.ofSeconds(2)).manualRounds().nanoClock(nanos::get).build())
                .build();
        engine.clusterMember().heartbeat();
        engine.clusterMember().round();
        assertEquals(SHARDS, engine.cluster().orElseThrow().owned().size());

        engine.close(Duration.ofMillis(2_500));

        // Releases sent at 0 s, 1 s and 2 s of the member's clock; at 3 s the deadline had passed.
        assertEquals(3, store.releases.get(), "releases sent by a close whose deadline was 2.5 s, 1 s each");
        assertEquals(0, store.leaves.get(), "the lease ends by itself after the deadline");
        assertEquals(List.of(), engine.cluster().orElseThrow().owned(), "every tenure ended");
        long released = store.inner.shards().stream().filter(s -> s.ownerNode() == null).count();
        assertEquals(3, released, "the shards released before the deadline");
        assertTrue(store.inner.shards().stream().filter(s -> s.ownerNode() != null)
                .allMatch(s -> s.epoch() == 1), "the others stay held at their epoch until the lease runs out");
    }
}
