package dev.taskevents.benchmarks;

import java.util.Locale;
import java.util.Map;

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
        Map<String, Stats> stats = new Alternating()
                .variant("off", label -> EndToEndBenchmark.maxThroughput(target, label, 1_000, workflows, true)
                        .eventsPerSecond())
                .variant("on (1 node)", label -> EndToEndBenchmark.maxThroughputInCluster(target, label, workflows, 1)
                        .eventsPerSecond())
                .variant("3 nodes", label -> EndToEndBenchmark.maxThroughputInCluster(target, label, workflows, 3)
                        .eventsPerSecond())
                .run(2, reps, "events/s");
        System.out.printf(Locale.ROOT, "cluster mode costs %.1f%% on one node%n",
                100 * (1 - stats.get("on (1 node)").median() / stats.get("off").median()));
    }
}
