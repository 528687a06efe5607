package dev.taskevents.benchmarks;

import java.util.Locale;
import java.util.Map;

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
        Map<String, Stats> stats = new Alternating()
                .variant("without", label -> EndToEndBenchmark.maxThroughput(target, label, 1_000, workflows, false)
                        .eventsPerSecond())
                .variant("with", label -> EndToEndBenchmark.maxThroughput(target, label, 1_000, workflows, true)
                        .eventsPerSecond())
                .run(2, reps, "events/s");
        System.out.printf(Locale.ROOT, "the outbox costs %.1f%%%n",
                100 * (1 - stats.get("with").median() / stats.get("without").median()));
    }
}
