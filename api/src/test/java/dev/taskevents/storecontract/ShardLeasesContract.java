package dev.taskevents.storecontract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Shards;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.ShardLeases;
import dev.taskevents.api.spi.ShardLeases.NodeInfo;
import dev.taskevents.api.spi.ShardLeases.Renewal;
import dev.taskevents.api.spi.ShardLeases.ShardInfo;
import dev.taskevents.api.spi.WriteBatch;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The behaviour of every {@link ShardLeases} ({@link dev.taskevents.api.spi.TaskInstanceStore#cluster()}).
 * A storage module's test extends this class and opens a fresh store, on a fresh database, in
 * {@link #openStore()}. Lease expiry is waited for on the store's own clock.
 */
public abstract class ShardLeasesContract extends ClusterStoreFixture {

    @Test
    void everyShardStartsUnownedAtEpochZero() {
        assertEquals(Shards.DEFAULT_SHARD_COUNT, leases.shardCount());
        List<ShardInfo> shards = leases.shards();
        assertEquals(leases.shardCount(), shards.size());
        for (int i = 0; i < shards.size(); i++) {
            assertEquals(new ShardInfo(i, 0, null, null, false), shards.get(i));
        }
    }

    @Test
    void anUnownedShardIsTakenAtTheNextEpoch() {
        String a = newNode("a");
        leases.register(a, "http://a:1", LONG);
        assertEquals(OptionalLong.of(1), leases.acquire(5, a, 0));
        assertEquals(new ShardInfo(5, 1, a, "http://a:1", true), shard(5));
    }

    @Test
    void aShardOfALiveOwnerIsNotTaken() {
        String a = newNode("a");
        String b = newNode("b");
        leases.register(a, null, LONG);
        leases.register(b, null, LONG);
        assertEquals(OptionalLong.of(1), leases.acquire(3, a, 0));
        assertEquals(OptionalLong.empty(), leases.acquire(3, b, 1));
        assertEquals(new ShardInfo(3, 1, a, null, true), shard(3));
    }

    @Test
    void aShardIsTakenOnceItsOwnersLeaseExpiredByTheStoresClock() throws Exception {
        String a = newNode("a");
        String b = newNode("b");
        leases.register(a, "http://a:1", LONG);
        leases.register(b, "http://b:1", LONG);
        assertEquals(OptionalLong.of(1), leases.acquire(7, a, 0));
        assertEquals(Renewal.RENEWED, leases.heartbeat(a, SHORT)); // a short lease from now on: it expires while we wait
        awaitExpired(a);
        assertEquals(new ShardInfo(7, 1, a, "http://a:1", false), shard(7));
        assertEquals(OptionalLong.of(2), leases.acquire(7, b, 1));
        assertEquals(new ShardInfo(7, 2, b, "http://b:1", true), shard(7));
    }

    @Test
    void aStaleSeenEpochLoses() {
        String a = newNode("a");
        String b = newNode("b");
        leases.register(a, null, LONG);
        leases.register(b, null, LONG);
        assertEquals(OptionalLong.of(1), leases.acquire(0, a, 0));
        assertTrue(leases.release(0, a, 1));
        // b saw epoch 0 before the take and the release: the shard is unowned, but not at 0.
        assertEquals(OptionalLong.empty(), leases.acquire(0, b, 0));
        assertEquals(new ShardInfo(0, 2, null, null, false), shard(0));
    }

    @Test
    void ofTwoConcurrentAcquiresAtOneEpochExactlyOneWins() throws Exception {
        String a = newNode("a");
        String b = newNode("b");
        leases.register(a, null, LONG);
        leases.register(b, null, LONG);
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            Future<OptionalLong> byA = threads.submit(() -> {
                go.await();
                return leases.acquire(9, a, 0);
            });
            Future<OptionalLong> byB = threads.submit(() -> {
                go.await();
                return leases.acquire(9, b, 0);
            });
            go.countDown();
            OptionalLong ra = byA.get(30, TimeUnit.SECONDS);
            OptionalLong rb = byB.get(30, TimeUnit.SECONDS);
            assertTrue(ra.isPresent() != rb.isPresent(), "exactly one wins: a " + ra + ", b " + rb);
            String winner = ra.isPresent() ? a : b;
            assertEquals(OptionalLong.of(1), ra.isPresent() ? ra : rb);
            assertEquals(new ShardInfo(9, 1, winner, null, true), shard(9));
        } finally {
            threads.shutdownNow();
        }
    }

    @Test
    void aNodeWhoseOwnLeaseExpiredTakesNothing() throws Exception {
        String a = newNode("a");
        leases.register(a, null, SHORT);
        awaitExpired(a);
        assertEquals(OptionalLong.empty(), leases.acquire(2, a, 0));
        assertEquals(new ShardInfo(2, 0, null, null, false), shard(2));
        assertEquals(OptionalLong.empty(), leases.acquire(2, newNode("never-registered"), 0));
    }

    @Test
    void releaseRaisesTheEpochAndOnlyTheOwnerAtItsEpochMayRelease() {
        String a = newNode("a");
        String b = newNode("b");
        leases.register(a, null, LONG);
        leases.register(b, null, LONG);
        assertEquals(OptionalLong.of(1), leases.acquire(4, a, 0));
        assertFalse(leases.release(4, b, 1), "not the owner");
        assertFalse(leases.release(4, a, 0), "not the owner's epoch");
        assertEquals(new ShardInfo(4, 1, a, null, true), shard(4));
        assertTrue(leases.release(4, a, 1));
        assertEquals(new ShardInfo(4, 2, null, null, false), shard(4));
        assertFalse(leases.release(4, a, 1), "released already");
        assertFalse(leases.release(4, a, 2), "never held at epoch 2");
    }

    @Test
    void aHeartbeatRenewsTheLeaseAndAnUnknownNodesHeartbeatIsFalse() {
        String a = newNode("a");
        leases.register(a, "http://a:1", SHORT);
        assertEquals(Renewal.RENEWED, leases.heartbeat(a, LONG));
        NodeInfo live = leases.liveNodes().stream().filter(n -> n.nodeId().equals(a)).findFirst().orElseThrow();
        assertEquals("http://a:1", live.address());
        assertTrue(live.leaseLeft().compareTo(Duration.ofSeconds(30)) > 0 && live.leaseLeft().compareTo(LONG) <= 0,
                "lease left " + live.leaseLeft());
        assertEquals(Renewal.NOT_REGISTERED, leases.heartbeat(newNode("unknown"), LONG));
    }

    @Test
    void aHeartbeatAfterTheLeaseExpiredRenewsItAndSaysItHadExpired() throws Exception {
        String a = newNode("a");
        leases.register(a, null, SHORT);
        awaitExpired(a);
        assertEquals(Renewal.RENEWED_AFTER_EXPIRY, leases.heartbeat(a, LONG));
        assertTrue(leases.liveNodes().stream().anyMatch(n -> n.nodeId().equals(a)), "live again");
        assertEquals(Renewal.RENEWED, leases.heartbeat(a, LONG));
    }

    @Test
    void aNodeIdIsRegisteredOnce() {
        String a = newNode("a");
        leases.register(a, null, LONG);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> leases.register(a, null, LONG));
        assertTrue(e.getMessage().contains(a), e.getMessage());
    }

    @Test
    void liveNodesAreTheUnexpiredOnesByIdAndLeaveEndsALease() throws Exception {
        String b = "b/" + UUID.randomUUID();
        String a = "a/" + UUID.randomUUID();
        String c = "c/" + UUID.randomUUID();
        leases.register(b, null, LONG);
        leases.register(a, null, LONG);
        leases.register(c, null, SHORT);
        awaitExpired(c);
        assertEquals(List.of(a, b), leases.liveNodes().stream().map(NodeInfo::nodeId).toList());
        leases.leave(b);
        assertEquals(List.of(a), leases.liveNodes().stream().map(NodeInfo::nodeId).toList());
    }

    @Test
    void reapDeletesExpiredNodesThatOwnNothing() throws Exception {
        String owner = newNode("owner");
        String idle = newNode("idle");
        String live = newNode("live");
        leases.register(owner, null, LONG);
        leases.register(idle, null, SHORT);
        leases.register(live, null, LONG);
        assertEquals(OptionalLong.of(1), leases.acquire(1, owner, 0));
        assertEquals(Renewal.RENEWED, leases.heartbeat(owner, SHORT));
        awaitExpired(owner);
        awaitExpired(idle);
        assertEquals(0, leases.reap(Duration.ofHours(1)), "expired less than an hour ago");
        assertEquals(1, leases.reap(Duration.ZERO));
        assertEquals(Renewal.NOT_REGISTERED, leases.heartbeat(idle, LONG), "idle's row is gone");
        assertEquals(Renewal.RENEWED_AFTER_EXPIRY, leases.heartbeat(owner, LONG), "owner's row stays: a shard names it");
        assertEquals(Renewal.RENEWED, leases.heartbeat(live, LONG));
    }

    @Test
    void pendingStateEventsAreThoseOfTheGivenShards() {
        int shardA = 11;
        int shardB = 12;
        long wfA = workflowIn(shardA);
        long wfB = workflowIn(shardB);
        Instant t = Instant.parse("2026-01-02T03:04:05.123456Z");
        TaskInstance a = TaskInstance.submitted(newId(), wfA, "a", t);
        TaskInstance b = TaskInstance.submitted(newId(), wfB, "b", t);
        store.insert(List.of(a, b));
        TaskInstance a1 = next(a, "a1", t);
        TaskInstance b1 = next(b, "b1", t);
        StateEvent ea1 = changeOf(a1);
        StateEvent eb1 = changeOf(b1);
        store.write(new WriteBatch(List.of(new RowUpdate(a1, 0, ea1), new RowUpdate(b1, 0, eb1))));
        TaskInstance a2 = next(a1, "a2", t);
        StateEvent ea2 = changeOf(a2);
        store.write(new WriteBatch(List.of(new RowUpdate(a2, 1, ea2))));

        assertEquals(List.of(ea1, ea2), leases.pendingStateEvents(Set.of(shardA), 100));
        assertEquals(List.of(ea1), leases.pendingStateEvents(Set.of(shardA), 1));
        assertEquals(List.of(eb1), leases.pendingStateEvents(Set.of(shardB), 100));
        assertEquals(Set.of(ea1, eb1, ea2), Set.copyOf(leases.pendingStateEvents(Set.of(shardA, shardB), 100)));
        assertEquals(List.of(), leases.pendingStateEvents(Set.of(13), 100));
        assertThrows(IllegalArgumentException.class, () -> leases.pendingStateEvents(Set.of(leases.shardCount()), 1));
        assertThrows(IllegalArgumentException.class, () -> leases.pendingStateEvents(Set.of(shardA), 0));
    }

    @Test
    void aShardOutsideTheCountIsRefused() {
        String a = newNode("a");
        leases.register(a, null, LONG);
        assertThrows(IllegalArgumentException.class, () -> leases.acquire(leases.shardCount(), a, 0));
        assertThrows(IllegalArgumentException.class, () -> leases.release(-1, a, 0));
    }
}
