package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * {@link Shards#of} is frozen: every node and every client of every existing cluster must keep
 * computing the same shard. The golden values below were computed once (docs/plans/cluster-mode
 * probes/sh.jsh, in the tree until 3c89620) and are never regenerated; a change to the function fails here.
 */
class ShardsTest {

    @Test
    void goldenValuesNeverChange() {
        long[] ids = {1, 2, 1000, Long.MAX_VALUE};
        int[] counts = {1, 7, 256, 65_536};
        int[][] expected = {
                {0, 6, 229, 1509},
                {0, 1, 138, 5258},
                {0, 0, 215, 60119},
                {0, 3, 189, 57021},
        };
        for (int i = 0; i < ids.length; i++) {
            for (int j = 0; j < counts.length; j++) {
                assertEquals(expected[i][j], Shards.of(ids[i], counts[j]),
                        "shard of " + ids[i] + " among " + counts[j]);
            }
        }
    }

    @Test
    void negativeIdsMapIntoRangeUnsigned() {
        for (long id = -1000; id < 0; id++) {
            int shard = Shards.of(id, 7);
            assertTrue(shard >= 0 && shard < 7, "shard " + shard + " of id " + id);
        }
        assertEquals(Shards.of(Long.MIN_VALUE, 65_536), Shards.of(Long.MIN_VALUE, 65_536));
    }

    @Test
    void stridedIdsSpreadEvenly() {
        // 1,000,000 ids with a common stride of 1024 over 256 shards: expected 3906 each; the
        // mixer keeps every shard within 6 % of it (a plain remainder would fill one shard only).
        int[] counts = new int[256];
        for (long i = 0; i < 1_000_000; i++) {
            counts[Shards.of(i * 1024, 256)]++;
        }
        for (int s = 0; s < 256; s++) {
            assertTrue(counts[s] > 3906 * 0.94 && counts[s] < 3906 * 1.06, "shard " + s + " got " + counts[s]);
        }
    }

    @Test
    void shardCountsOutsideTheRangeAreRefused() {
        assertEquals("shard count must be between 1 and 65536, was 0",
                assertThrows(IllegalArgumentException.class, () -> Shards.of(1, 0)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Shards.of(1, -5));
        assertThrows(IllegalArgumentException.class, () -> Shards.of(1, 65_537));
        assertEquals(65_536, Shards.checkCount(65_536));
        assertEquals(1, Shards.checkCount(1));
    }
}
