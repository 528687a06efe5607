package dev.taskevents.storecontract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardFence;
import dev.taskevents.api.spi.ShardLeases.Renewal;
import dev.taskevents.api.spi.StoreException;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.testkit.Await;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The fence on {@link TaskInstanceStore#write} in cluster mode: a row is APPLIED only if its shard's
 * epoch equals the fence's when the batch commits, and a takeover waits for a write in flight
 * under the old epoch. The interleavings are forced: a write is held inside its transaction right
 * after its fence read ({@link #afterFenceRead}) while another thread takes the shard over, and
 * "the takeover is blocked" is the database's own verdict: its lock-wait bound ends the takeover's
 * statement ({@link #leaseLockWait}), never a time the test judges.
 */
public abstract class FencingContract extends ClusterStoreFixture {
    private static final Instant T = Instant.parse("2026-01-02T03:04:05.123456Z");

    /** Runs {@code probe} inside every fenced write of {@code store}, right after its fence read (locks held). */
    protected abstract void afterFenceRead(TaskInstanceStore store, Runnable probe);

    /** Lets the lease statements of {@code store} wait up to {@code wait} for a shard lock (before its first lease call). */
    protected abstract void leaseLockWait(TaskInstanceStore store, Duration wait);

    /**
     * A second store on the test's database whose write transactions the database ends after
     * {@code idle} without a statement; aborts the test where the database has no such bound.
     */
    protected abstract TaskInstanceStore openWithWriterIdleTimeout(Duration idle);

    private record Owned(String node, int shard, long epoch, long workflow) {
    }

    private Owned own(String node, int shard) {
        OptionalLong epoch = leases.acquire(shard, node, leases.shards().get(shard).epoch());
        assertTrue(epoch.isPresent(), "shard " + shard + " taken by " + node);
        return new Owned(node, shard, epoch.getAsLong(), workflowIn(shard));
    }

    private TaskInstance inserted(long workflow) {
        TaskInstance row = TaskInstance.submitted(newId(), workflow, "task", T);
        store.insert(List.of(row));
        return row;
    }

    private static RowUpdate update(TaskInstance row, String eventId) {
        TaskInstance next = next(row, eventId, T);
        return new RowUpdate(next, row.version(), changeOf(next));
    }

    private ShardFence fence(Owned... owned) {
        Map<Integer, Long> epochs = new java.util.HashMap<>();
        for (Owned o : owned) {
            epochs.put(o.shard(), o.epoch());
        }
        return new ShardFence(leases.shardCount(), epochs);
    }

    @Test
    void aStaleEpochsRowsAreFencedAndNothingOfThemWrittenWhileOtherShardsApply() {
        String a = newNode("a");
        leases.register(a, null, LONG);
        Owned lost = own(a, 20);
        Owned kept = own(a, 21);
        TaskInstance x = inserted(lost.workflow());
        TaskInstance y = inserted(kept.workflow());
        TaskInstance z = inserted(lost.workflow());
        assertTrue(leases.release(lost.shard(), a, lost.epoch()));

        RowUpdate ux = update(x, "x1");
        RowUpdate uy = update(y, "y1");
        RowUpdate uz = update(z, "z1");
        assertEquals(List.of(WriteOutcome.FENCED, WriteOutcome.APPLIED, WriteOutcome.FENCED),
                store.write(new WriteBatch(List.of(ux, uy, uz), fence(lost, kept))));
        assertEquals(x, store.find(x.id()).orElseThrow());
        assertEquals(z, store.find(z.id()).orElseThrow());
        assertEquals(uy.row(), store.find(y.id()).orElseThrow());
        assertEquals(List.of(uy.notification()), store.pendingStateEvents(100));
    }

    @Test
    void aFencedRowIsFencedBeforeItIsFoundMissingOrInConflict() {
        String a = newNode("a");
        leases.register(a, null, LONG);
        Owned o = own(a, 22);
        TaskInstance x = inserted(o.workflow());
        assertTrue(leases.release(o.shard(), a, o.epoch()));
        TaskInstance ghost = TaskInstance.submitted(newId(), o.workflow(), "ghost", T);
        RowUpdate conflicting = new RowUpdate(next(next(x, "x1", T), "x2", T), 1, null);
        assertEquals(List.of(WriteOutcome.FENCED, WriteOutcome.FENCED),
                store.write(new WriteBatch(List.of(update(ghost, "g"), conflicting), fence(o))));
    }

    @Test
    void aFenceForAnotherShardCountIsRefused() {
        TaskInstance x = inserted(newId());
        int otherCount = leases.shardCount() == 7 ? 8 : 7;
        ShardFence wrong = new ShardFence(otherCount,
                Map.of(dev.taskevents.api.Shards.of(x.workflowInstanceId(), otherCount), 0L));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.write(new WriteBatch(List.of(update(x, "x1")), wrong)));
        assertTrue(e.getMessage().contains(String.valueOf(otherCount)), e.getMessage());
        assertEquals(x, store.find(x.id()).orElseThrow());
    }

    @Test
    void anUnfencedWriteStillWorksOnAClusterStore() {
        TaskInstance x = inserted(newId());
        RowUpdate ux = update(x, "x1");
        assertEquals(List.of(WriteOutcome.APPLIED), store.write(new WriteBatch(List.of(ux))));
        assertEquals(ux.row(), store.find(x.id()).orElseThrow());
    }

    /**
     * A write holds its shard's fence lock; a takeover started meanwhile ends only after it, the
     * write commits under the old epoch, and the takeover's epoch fences the next batch of the old
     * one.
     */
    @Test
    void aTakeoverWaitsForAWriteInFlightUnderTheOldEpoch() throws Exception {
        leaseLockWait(store, Duration.ofMinutes(2));
        String a = newNode("a");
        String b = newNode("b");
        leases.register(a, null, LONG);
        leases.register(b, null, LONG);
        Owned o = own(a, 30);
        TaskInstance x = inserted(o.workflow());
        TaskInstance y = inserted(o.workflow());
        assertEquals(Renewal.RENEWED, leases.heartbeat(a, SHORT)); // a short lease from now on: it expires while we wait
        awaitExpired(a); // the fence still holds: epochs decide, not leases

        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        afterFenceRead(store, () -> {
            held.countDown();
            try {
                resume.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        RowUpdate ux = update(x, "x1");
        CompletableFuture<List<WriteOutcome>> write = CompletableFuture.supplyAsync(
                () -> store.write(new WriteBatch(List.of(ux), fence(o))), runnable -> Thread.ofPlatform().start(runnable));
        assertTrue(held.await(30, TimeUnit.SECONDS), "the write reached its fence read");
        afterFenceRead(store, null);
        CompletableFuture<OptionalLong> takeover = CompletableFuture.supplyAsync(
                () -> leases.acquire(o.shard(), b, o.epoch()), runnable -> Thread.ofPlatform().start(runnable));
        // The takeover cannot commit while the write holds the fence's shared lock:
        // aBlockedTakeoverOrReleaseGivesUpAndTheEpochStays has the database itself refuse it by its
        // lock-wait bound. Here the bound is long, so the takeover is still waiting, or not yet
        // sent, whichever the threads made of it; either way it ends only after the write.
        assertFalse(takeover.isDone(), () -> "the takeover must wait for the write holding the old epoch, but it"
                + " ended with " + (takeover.isCompletedExceptionally() ? "a failure" : takeover.join())
                + " while the write was held" + (write.isDone() ? " (and the write had ended)" : ""));
        resume.countDown();

        assertEquals(List.of(WriteOutcome.APPLIED), write.get(30, TimeUnit.SECONDS));
        assertEquals(OptionalLong.of(o.epoch() + 1), takeover.get(30, TimeUnit.SECONDS));
        assertEquals(ux.row(), store.find(x.id()).orElseThrow());
        RowUpdate uy = update(y, "y1");
        assertEquals(List.of(WriteOutcome.FENCED), store.write(new WriteBatch(List.of(uy), fence(o))));
        assertEquals(y, store.find(y.id()).orElseThrow());
        assertEquals(List.of(ux.notification()), store.pendingStateEvents(100));
    }

    /**
     * A takeover or release blocked by a held write gives up after the lease lock-wait bound
     * instead of hanging: acquire answers "not taken", release throws StoreException (the shard is
     * still held), and the epoch is unchanged; once the write ended, both go through.
     */
    @Test
    void aBlockedTakeoverOrReleaseGivesUpAndTheEpochStays() throws Exception {
        leaseLockWait(store, Duration.ofMillis(500));
        String a = newNode("a");
        String b = newNode("b");
        leases.register(a, null, LONG);
        leases.register(b, null, LONG);
        Owned o = own(a, 32);
        TaskInstance x = inserted(o.workflow());
        assertEquals(Renewal.RENEWED, leases.heartbeat(a, SHORT));
        awaitExpired(a);

        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        afterFenceRead(store, () -> {
            held.countDown();
            try {
                resume.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        RowUpdate ux = update(x, "x1");
        CompletableFuture<List<WriteOutcome>> write = CompletableFuture.supplyAsync(
                () -> store.write(new WriteBatch(List.of(ux), fence(o))), runnable -> Thread.ofPlatform().start(runnable));
        try {
            assertTrue(held.await(30, TimeUnit.SECONDS), "the write reached its fence read");
            afterFenceRead(store, null);
            assertEquals(OptionalLong.empty(), leases.acquire(o.shard(), b, o.epoch()));
            assertThrows(StoreException.class, () -> leases.release(o.shard(), a, o.epoch()));
            assertEquals(o.epoch(), leases.shards().get(o.shard()).epoch());
        } finally {
            resume.countDown();
        }
        assertEquals(List.of(WriteOutcome.APPLIED), write.get(30, TimeUnit.SECONDS));
        assertEquals(OptionalLong.of(o.epoch() + 1), leases.acquire(o.shard(), b, o.epoch()));
        assertEquals(ux.row(), store.find(x.id()).orElseThrow());
    }

    /**
     * A write paused inside its transaction past the writer idle timeout: the database ends it, the
     * takeover completes, the paused write's commit fails, and its retry is FENCED. Nothing of it is written.
     */
    @Test
    void aWriterPausedPastTheIdleTimeoutLosesItsShardAndWritesNothing() throws Exception {
        try (TaskInstanceStore writer = openWithWriterIdleTimeout(Duration.ofSeconds(1))) {
            assertEquals(OptionalLong.of(Duration.ofSeconds(1).toMillis()),
                    writer.cluster().orElseThrow().writerIdleTimeout().map(d -> OptionalLong.of(d.toMillis()))
                            .orElse(OptionalLong.empty()));
            String a = newNode("a");
            String b = newNode("b");
            leases.register(a, null, LONG);
            leases.register(b, null, LONG);
            Owned o = own(a, 31);
            TaskInstance x = inserted(o.workflow());
            assertEquals(Renewal.RENEWED, leases.heartbeat(a, SHORT)); // a short lease from now on: it expires while we wait
            awaitExpired(a);

            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch resume = new CountDownLatch(1);
            afterFenceRead(writer, () -> {
                held.countDown();
                try {
                    resume.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            RowUpdate ux = update(x, "x1");
            CompletableFuture<List<WriteOutcome>> write = CompletableFuture.supplyAsync(
                    () -> writer.write(new WriteBatch(List.of(ux), fence(o))), runnable -> Thread.ofPlatform().start(runnable));
            assertTrue(held.await(30, TimeUnit.SECONDS), "the write reached its fence read");
            afterFenceRead(writer, null);
            // Each attempt gives up after the lease lock-wait bound while the paused writer holds the
            // lock; the database ends the writer's session after its idle timeout, and then one succeeds.
            OptionalLong[] taken = {OptionalLong.empty()};
            Await.until(() -> {
                taken[0] = leases.acquire(o.shard(), b, o.epoch());
                return taken[0].isPresent();
            });
            assertEquals(OptionalLong.of(o.epoch() + 1), taken[0]);
            resume.countDown();
            ExecutionException failed = assertThrows(ExecutionException.class, () -> write.get(30, TimeUnit.SECONDS));
            assertTrue(failed.getCause() instanceof StoreException, "the paused write failed: " + failed.getCause());
            assertEquals(List.of(WriteOutcome.FENCED), writer.write(new WriteBatch(List.of(ux), fence(o))));
            assertEquals(x, store.find(x.id()).orElseThrow());
            assertEquals(List.<StateEvent>of(), store.pendingStateEvents(100));
        }
    }
}
