package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.ClusterSettings;
import dev.taskevents.engine.ClusterView;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.internal.JdbcTaskInstanceStore;
import dev.taskevents.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every batch that records in the state-event feed, of every node, updates the feed's one head
 * row just before its commit. Node a stopped there (its batch thread held inside the transaction,
 * after the feed append: what SIGSTOP, a GC pause or a partition leaves in the database) stalls
 * node b's writes, for b's own shards too, only until the database ends a's idle session: in an
 * embedded cluster whose store options chose no writer idle timeout as well (the store bounds its
 * write sessions once it takes part in a cluster). a's batch is held until b's event was answered.
 */
class FeedHeadStoppedWriterTest {
    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

    @ParameterizedTest
    @EnumSource(value = TestDatabases.Server.class, names = {"POSTGRES", "MARIADB"})
    void aNodeStoppedBeforeItsCommitStallsAnotherNodesWritesOnlyUntilItsSessionEnds(TestDatabases.Server server)
            throws Exception {
        String url = TestDatabases.freshUrl(server);
        JdbcStoreOptions options = JdbcStoreOptions.of(url).withShardCount(2).withMaximumPoolSize(3);
        try (TaskInstanceStore storeA = JdbcStores.open(options); TaskInstanceStore storeB = JdbcStores.open(options)) {
            ClusterSettings.Builder s = ClusterSettings.builder().lease(Duration.ofSeconds(3))
                    .renewInterval(Duration.ofMillis(500));
            TaskEventEngine a = TaskEventEngine.builder().store(storeA).stateFeed(Duration.ofHours(1))
                    .cluster(s.nodeName("a").build()).build();
            Await.until(() -> a.cluster().orElseThrow().owned().size() == 2);
            TaskEventEngine b = TaskEventEngine.builder().store(storeB).stateFeed(Duration.ofHours(1))
                    .cluster(s.nodeName("b").build()).build();
            CountDownLatch stopped = new CountDownLatch(1);
            CountDownLatch resume = new CountDownLatch(1);
            try {
                Await.until(() -> active(b).size() == 1 && active(a).size() == 1);
                int bShard = active(b).getFirst().shard();
                int aShard = active(a).getFirst().shard();
                long bWorkflow = workflowIn(bShard);
                long aWorkflow = workflowIn(aShard);
                storeB.insert(List.of(TaskInstance.submitted(500, bWorkflow, "t", NOW),
                        TaskInstance.submitted(600, aWorkflow, "t", NOW)));

                AtomicBoolean first = new AtomicBoolean(true);
                ((JdbcTaskInstanceStore) storeA).beforeCommitProbe(transaction -> {
                    if (transaction.equals("write") && first.compareAndSet(true, false)) {
                        stopped.countDown();
                        try {
                            resume.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                });
                CompletableFuture<Acknowledgement> aAck = a.submit(running("a1", aWorkflow, 600));
                assertTrue(stopped.await(30, TimeUnit.SECONDS), "node a's batch reached its commit");

                CompletableFuture<Acknowledgement> bAck = b.submit(running("b1", bWorkflow, 500));
                Acknowledgement answer;
                try {
                    // Bounded by the store's idle bound (half the lease) plus retries; 30 s only detects a hang.
                    answer = bAck.get(30, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    resume.countDown();
                    fail("node b's event for its own shard " + bShard + " was not answered within 30 s while node a"
                            + " sat inside its commit holding the feed's head row (answered "
                            + bAck.get(60, TimeUnit.SECONDS) + " once a went on)");
                    return;
                }
                assertInstanceOf(Acknowledgement.Applied.class, answer, "node b's event while a was stopped");
                resume.countDown();
                // a's session was ended under it: its commit fails and its batch is retried under the same epoch.
                assertInstanceOf(Acknowledgement.Applied.class, aAck.get(60, TimeUnit.SECONDS), "node a's event");
            } finally {
                resume.countDown();
                b.close(Duration.ofSeconds(5));
                a.close(Duration.ofSeconds(5));
            }
        }
    }

    private static List<ClusterView.OwnedShard> active(TaskEventEngine engine) {
        return engine.cluster().orElseThrow().owned().stream()
                .filter(s -> s.state() == ClusterView.ShardState.ACTIVE).toList();
    }

    private static long workflowIn(int shard) {
        long wf = 1;
        while (Shards.of(wf, 2) != shard) {
            wf++;
        }
        return wf;
    }

    private static TaskEvent running(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, workflow, task).eventTime(NOW).host("w").startTime(NOW)
                .build();
    }
}
