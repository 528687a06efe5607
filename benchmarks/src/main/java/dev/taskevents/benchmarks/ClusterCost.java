package dev.taskevents.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Cluster mode's cost, on PostgreSQL, in one run: group commit at full load on one node with
 * cluster mode off and on (every batch then reads its shards' epochs under a shared lock first),
 * alternating run by run; then three nodes in this process, each with its own pool, on the same
 * database (their aggregate: on 2 cores, the nodes and PostgreSQL share the same two cores).
 * {@code benchmarks/run ClusterCost [reps] [workflows]} (defaults 5 and 4,000).
 */
public final class ClusterCost {
    private ClusterCost() {}

    public static void main(String[] args) throws Exception {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int workflows = args.length > 1 ? Integer.parseInt(args[1]) : 4_000;
        String url = System.getenv().getOrDefault("TASKEVENTS_TEST_POSTGRES_URL",
                "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
        EndToEndBenchmark.Target target = new EndToEndBenchmark.Target("PostgreSQL", url);
        for (int i = 0; i < 2; i++) {
            EndToEndBenchmark.maxThroughput(target, "warm-up", 1_000, workflows / 2, true);
            EndToEndBenchmark.maxThroughputInCluster(target, "warm-up", workflows / 2, 1);
        }
        List<Double> off = new ArrayList<>();
        List<Double> on = new ArrayList<>();
        List<Double> three = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            off.add(EndToEndBenchmark.maxThroughput(target, "off", 1_000, workflows, true).eventsPerSecond());
            on.add(EndToEndBenchmark.maxThroughputInCluster(target, "on", workflows, 1).eventsPerSecond());
            three.add(EndToEndBenchmark.maxThroughputInCluster(target, "three nodes", workflows, 3).eventsPerSecond());
            System.out.printf(Locale.ROOT, "rep %d: cluster off %,.0f  on (1 node) %,.0f  3 nodes %,.0f events/s%n",
                    rep + 1, off.getLast(), on.getLast(), three.getLast());
        }
        double medianOff = median(off);
        double medianOn = median(on);
        System.out.printf(Locale.ROOT, "median: cluster off %,.0f, on %,.0f events/s (%.1f%% cost); three nodes"
                + " %,.0f events/s in all%n", medianOff, medianOn, 100 * (1 - medianOn / medianOff), median(three));
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
