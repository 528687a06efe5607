package dev.taskevents.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The outbox's cost on its own: group commit at full load on PostgreSQL, with a state sink (every
 * change also recorded in the outbox and removed once told) and without, alternating run by run.
 * {@code benchmarks/run OutboxCost [reps] [workflows]} (defaults 5 and 4,000).
 */
public final class OutboxCost {
    private OutboxCost() {}

    public static void main(String[] args) throws Exception {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int workflows = args.length > 1 ? Integer.parseInt(args[1]) : 4_000;
        String url = System.getenv().getOrDefault("TASKEVENTS_TEST_POSTGRES_URL",
                "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
        EndToEndBenchmark.Target target = new EndToEndBenchmark.Target("PostgreSQL", url);
        for (int i = 0; i < 2; i++) {
            EndToEndBenchmark.maxThroughput(target, "warm-up", 1_000, workflows / 2, false);
            EndToEndBenchmark.maxThroughput(target, "warm-up", 1_000, workflows / 2, true);
        }
        List<Double> with = new ArrayList<>();
        List<Double> without = new ArrayList<>();
        for (int rep = 0; rep < reps; rep++) {
            without.add(EndToEndBenchmark.maxThroughput(target, "without", 1_000, workflows, false).eventsPerSecond());
            with.add(EndToEndBenchmark.maxThroughput(target, "with", 1_000, workflows, true).eventsPerSecond());
            System.out.printf(Locale.ROOT, "rep %d: without %,.0f  with %,.0f events/s%n", rep + 1, without.getLast(),
                    with.getLast());
        }
        double medianWith = median(with);
        double medianWithout = median(without);
        System.out.printf(Locale.ROOT, "median: without outbox %,.0f, with outbox %,.0f events/s: %.1f%% cost%n",
                medianWithout, medianWith, 100 * (1 - medianWith / medianWithout));
    }

    private static double median(List<Double> values) {
        List<Double> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }
}
