package dev.taskevents.api.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * What the SPI's own types refuse and default to, independent of any store: a row update must
 * write the next version and may only carry a notification of that very change; a batch names
 * each task once; the default provider match and the default multi-workflow read.
 */
class SpiValueTypesTest {
    private static final Instant T = Instant.parse("2026-01-01T00:00:00Z");

    private static TaskInstance row(long id, long workflow, long version) {
        return new TaskInstance(id, workflow, "t", TaskState.RUNNING, "h", null, null, 0, null,
                T, null, null, null, "e", version, T);
    }

    private static StateEvent told(long workflow, long id, long version) {
        return new StateEvent(workflow, id, TaskEventType.RUNNING, TaskState.RUNNING, "e", version, T);
    }

    @Test
    void aRowUpdateWritesTheVersionAfterTheExpectedOne() {
        RowUpdate u = new RowUpdate(row(1, 2, 4), 3);
        assertEquals(3, u.expectedVersion());
        assertNull(u.notification());
        assertEquals("row 1 has version 4 but an update from version 4 must write version 5",
                assertThrows(IllegalArgumentException.class, () -> new RowUpdate(row(1, 2, 4), 4)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new RowUpdate(row(1, 2, 4), 2));
    }

    @Test
    void aRowUpdatesNotificationMustDescribeThatVeryChange() {
        StateEvent same = told(2, 1, 4);
        assertSame(same, new RowUpdate(row(1, 2, 4), 3, same).notification());
        for (StateEvent other : List.of(told(2, 9, 4), told(9, 1, 4), told(2, 1, 5))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new RowUpdate(row(1, 2, 4), 3, other));
            assertEquals("the notification " + other + " does not describe row 1 of workflow instance 2 at version 4",
                    e.getMessage());
        }
    }

    @Test
    void aWriteBatchNamesEachTaskInstanceOnce() {
        RowUpdate a = new RowUpdate(row(1, 2, 1), 0);
        RowUpdate b = new RowUpdate(row(3, 2, 1), 0);
        assertEquals(List.of(a, b), new WriteBatch(List.of(a, b)).updates());
        assertEquals("task instance 1 appears twice in one write batch",
                assertThrows(IllegalArgumentException.class,
                        () -> new WriteBatch(List.of(a, b, new RowUpdate(row(1, 2, 5), 4)))).getMessage());
    }

    @Test
    void aFencedBatchHasAnEpochForEveryRowsShard() {
        int shardOf7 = dev.taskevents.api.Shards.of(7, 4);
        ShardFence fence = new ShardFence(4, Map.of(shardOf7, 3L));
        WriteBatch batch = new WriteBatch(List.of(new RowUpdate(row(1, 7, 1), 0)), fence);
        assertSame(fence.epochs().get(shardOf7), batch.fence().epochs().get(shardOf7));
        assertEquals(shardOf7, fence.shardOf(7));
        long otherWorkflow = 8;
        while (dev.taskevents.api.Shards.of(otherWorkflow, 4) == shardOf7) {
            otherWorkflow++;
        }
        long other = otherWorkflow;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new WriteBatch(List.of(new RowUpdate(row(1, 7, 1), 0), new RowUpdate(row(2, other, 1), 0)), fence));
        assertEquals("task instance 2 of workflow instance " + other + " is in shard "
                + dev.taskevents.api.Shards.of(other, 4) + ", for which the batch's fence has no epoch", e.getMessage());
        assertSame(ShardFence.NONE, new WriteBatch(List.of(new RowUpdate(row(1, 7, 1), 0))).fence());
        assertFalse(ShardFence.NONE.fenced());
        assertThrows(IllegalStateException.class, () -> ShardFence.NONE.shardOf(7));
    }

    @Test
    void aFenceRefusesShardsOutOfRangeAndNegativeEpochs() {
        assertEquals("shard 4 is not one of the 4 shards",
                assertThrows(IllegalArgumentException.class, () -> new ShardFence(4, Map.of(4, 1L))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ShardFence(4, Map.of(-1, 1L)));
        assertEquals("epoch of shard 0 must not be negative, was -1",
                assertThrows(IllegalArgumentException.class, () -> new ShardFence(4, Map.of(0, -1L))).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new ShardFence(0, Map.of(0, 1L)));
        assertThrows(IllegalArgumentException.class, () -> new ShardFence(65_537, Map.of()));
        assertTrue(new ShardFence(1, Map.of(0, 0L)).fenced());
    }

    @Test
    void movedIsNotDeliveredAndNamesItsShard() {
        dev.taskevents.api.Acknowledgement moved = new dev.taskevents.api.Acknowledgement.Moved("e1", 17, null);
        assertFalse(moved.delivered());
        assertThrows(IllegalArgumentException.class, () -> new dev.taskevents.api.Acknowledgement.Moved("e1", -1, null));
        assertThrows(NullPointerException.class, () -> new dev.taskevents.api.Acknowledgement.Moved(null, 1, "x"));
        assertFalse(new dev.taskevents.api.Acknowledgement.Rejected("e",
                dev.taskevents.api.Acknowledgement.Rejected.Reason.UNKNOWN_TASK_INSTANCE, "m").delivered());
        assertTrue(new dev.taskevents.api.Acknowledgement.Stale("e", TaskState.SUCCESS).delivered());
        assertTrue(new dev.taskevents.api.Acknowledgement.Duplicate("e", TaskState.SUCCESS).delivered());
        assertTrue(new dev.taskevents.api.Acknowledgement.Applied("e", row(1, 2, 1)).delivered());
    }

    @Test
    void aStoreTakesNoPartInClusterModeUnlessItSaysSo() {
        assertTrue(new ReadOnlyStore(Map.of()).cluster().isEmpty());
    }

    @Test
    void aDuplicateInsertNamesTheIds() {
        DuplicateTaskInstanceException e = new DuplicateTaskInstanceException(List.of(4L, 9L));
        assertEquals(List.of(4L, 9L), e.ids());
        assertTrue(e.getMessage().endsWith(": [4, 9]"), e.getMessage());
    }

    @Test
    void aProviderSupportsTheUrlsStartingWithOneOfItsPrefixes() {
        StorageProvider p = new NamedProvider("p", List.of("a:", "b:"));
        assertTrue(p.supports("a:x"));
        assertTrue(p.supports("b:"));
        assertFalse(p.supports("c:a:"));
        assertFalse(p.supports("xa:"));
    }

    @Test
    void theDefaultMultiWorkflowReadAsksForEachWorkflow() {
        TaskInstance r1 = row(1, 10, 1);
        TaskInstance r2 = row(2, 20, 1);
        Map<Long, List<TaskInstance>> rows = Map.of(10L, List.of(r1), 20L, List.of(r2));
        TaskInstanceStore store = new ReadOnlyStore(rows);
        assertEquals(Map.of(10L, List.of(r1), 20L, List.of(r2), 30L, List.of()),
                store.findByWorkflows(List.of(10L, 20L, 30L)));
    }

    record NamedProvider(String name, List<String> urlPrefixes) implements StorageProvider {
        @Override
        public TaskInstanceStore open(String url) {
            throw new UnsupportedOperationException("not opened in these tests");
        }
    }

    /** Answers findByWorkflow from a map; every other operation is outside these tests. */
    private record ReadOnlyStore(Map<Long, List<TaskInstance>> rows) implements TaskInstanceStore {
        @Override
        public Optional<TaskInstance> find(long taskInstanceId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<TaskInstance> findByWorkflow(long workflowInstanceId) {
            return rows.getOrDefault(workflowInstanceId, List.of());
        }

        @Override
        public void insert(List<TaskInstance> rows) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<WriteOutcome> write(WriteBatch batch) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<StateEvent> pendingStateEvents(int limit) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<StateEvent> pendingStateEvents(long workflowInstanceId) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void removeStateEvents(Collection<StateEvent> told) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {}
    }
}
