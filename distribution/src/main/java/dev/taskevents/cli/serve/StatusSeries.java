package dev.taskevents.cli.serve;

import java.util.Arrays;

/**
 * Acknowledgements per second over the last {@link #SECONDS} seconds, with each second's latency
 * percentiles: a ring of one small histogram per second, kept in memory (no time-series store).
 * A slot is reused when its second comes round again, so memory is fixed: {@code SECONDS x BUCKETS}
 * longs. Thread-safe; one short lock per record.
 */
final class StatusSeries {
    static final int SECONDS = 300;
    /** Quarter-octave buckets from {@link #SMALLEST_NANOS}: 80 of them reach about 52 s. */
    private static final int BUCKETS = 80;
    private static final double SMALLEST_NANOS = 50_000;

    /** Per second, oldest first, ending with the last complete second. */
    record Snapshot(long endSecond, long[] events, double[] p50Ms, double[] p99Ms) {}

    private final long[][] counts = new long[SECONDS][BUCKETS];
    /** The second each slot holds; a slot whose second is not the one asked for counts as empty. */
    private final long[] secondOf = new long[SECONDS];

    StatusSeries() {
        Arrays.fill(secondOf, -1);
    }

    synchronized void record(long epochSecond, long latencyNanos) {
        int slot = (int) Math.floorMod(epochSecond, (long) SECONDS);
        if (secondOf[slot] != epochSecond) {
            Arrays.fill(counts[slot], 0);
            secondOf[slot] = epochSecond;
        }
        counts[slot][bucket(latencyNanos)]++;
    }

    /** The {@code SECONDS - 1} complete seconds before {@code nowSecond}. */
    synchronized Snapshot snapshot(long nowSecond) {
        int n = SECONDS - 1;
        long[] events = new long[n];
        double[] p50 = new double[n];
        double[] p99 = new double[n];
        for (int i = 0; i < n; i++) {
            long second = nowSecond - n + i;
            int slot = (int) Math.floorMod(second, (long) SECONDS);
            if (secondOf[slot] != second) {
                continue;
            }
            long[] histogram = counts[slot];
            long total = Arrays.stream(histogram).sum();
            events[i] = total;
            p50[i] = percentileMs(histogram, total, 0.50);
            p99[i] = percentileMs(histogram, total, 0.99);
        }
        return new Snapshot(nowSecond - 1, events, p50, p99);
    }

    private static int bucket(long nanos) {
        if (nanos <= SMALLEST_NANOS) {
            return 0;
        }
        int b = (int) Math.floor(4 * Math.log(nanos / SMALLEST_NANOS) / Math.log(2));
        return Math.min(BUCKETS - 1, b);
    }

    /** The middle of the bucket holding the {@code q} quantile, in ms; 0 for an empty second. */
    private static double percentileMs(long[] histogram, long total, double q) {
        if (total == 0) {
            return 0;
        }
        long rank = (long) Math.ceil(q * total);
        long seen = 0;
        for (int b = 0; b < BUCKETS; b++) {
            seen += histogram[b];
            if (seen >= rank) {
                return SMALLEST_NANOS * Math.pow(2, (b + 0.5) / 4) / 1e6;
            }
        }
        return SMALLEST_NANOS * Math.pow(2, BUCKETS / 4.0) / 1e6;
    }
}
