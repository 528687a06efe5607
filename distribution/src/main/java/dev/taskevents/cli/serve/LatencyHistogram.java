package dev.taskevents.cli.serve;

import java.util.concurrent.atomic.LongAdder;

/** Ack latencies in fixed buckets, for a Prometheus histogram. Thread-safe, lock-free. */
final class LatencyHistogram {
    private static final double[] BOUNDS_SECONDS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
            2.5, 5, 10};
    private final LongAdder[] buckets = new LongAdder[BOUNDS_SECONDS.length + 1];
    private final LongAdder sumNanos = new LongAdder();

    LatencyHistogram() {
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = new LongAdder();
        }
    }

    void record(long nanos) {
        double seconds = nanos / 1e9;
        int i = 0;
        while (i < BOUNDS_SECONDS.length && seconds > BOUNDS_SECONDS[i]) {
            i++;
        }
        buckets[i].increment();
        sumNanos.add(nanos);
    }

    void writeTo(StringBuilder out, String name, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(" histogram\n");
        long[] counts = new long[buckets.length];
        for (int i = 0; i < counts.length; i++) {
            counts[i] = buckets[i].sum();
        }
        writeSeries(out, name, "", BOUNDS_SECONDS, counts, sumNanos.sum());
    }

    /**
     * One series of a Prometheus histogram: its cumulative buckets, sum and count.
     *
     * @param labels the series' labels ({@code stage="queued"}), or empty
     * @param counts per bucket, not cumulative: one per bound and last the one above every bound
     */
    static void writeSeries(StringBuilder out, String name, String labels, double[] boundsSeconds, long[] counts,
                            long sumNanos) {
        String prefix = labels.isEmpty() ? "" : labels + ",";
        String own = labels.isEmpty() ? " " : "{" + labels + "} ";
        long cumulative = 0;
        for (int i = 0; i < boundsSeconds.length; i++) {
            cumulative += counts[i];
            out.append(name).append("_bucket{").append(prefix).append("le=\"").append(boundsSeconds[i]).append("\"} ")
                    .append(cumulative).append('\n');
        }
        cumulative += counts[boundsSeconds.length];
        out.append(name).append("_bucket{").append(prefix).append("le=\"+Inf\"} ").append(cumulative).append('\n');
        out.append(name).append("_sum").append(own).append(sumNanos / 1e9).append('\n');
        out.append(name).append("_count").append(own).append(cumulative).append('\n');
    }
}
