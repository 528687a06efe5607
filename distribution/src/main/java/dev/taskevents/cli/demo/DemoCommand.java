package dev.taskevents.cli.demo;

import dev.taskevents.api.Stores;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.cli.Defaults;
import dev.taskevents.cli.Options;
import dev.taskevents.cli.UsageException;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** {@code taskevents demo}: the simulation, its progress bar and its report. Exit 0 only if verified. */
public final class DemoCommand {
    static final String HELP = """
            Usage: taskevents demo [options]

            Simulates a scheduler and its workers: W workflows of T tasks each (t0 -> t1 -> fan-out -> fan-in),
            a driver that dispatches tasks as their parents succeed, and workers that report DISPATCH, DELAY,
            RUNNING and RESULT with the faults real workers have. Then checks every task in the store.
            Exit code 0 if every task holds the state its worker reported, 1 if not.

              --store URL             where task state lives (default: %s)
                                      also memory:, jdbc:postgresql://..., jdbc:mariadb://..., jdbc:mysql://...
              --workflows N           workflow instances (default 500)
              --tasks N               tasks per workflow, 3-16 (default 6)
              --duplicate-rate R      share of events sent twice at once (default 0.05)
              --reorder-rate R        share of tasks whose RESULT comes before RUNNING (default 0.05)
              --late-running-rate R   share of tasks that resend RUNNING after RESULT (default 0.05)
              --lost-ack-rate R       share of acks lost, so the event is resent (default 0.05)
              --delay-rate R          share of tasks that report DELAY first (default 0.10)
              --failure-rate R        share of tasks that fail, stopping their workflow (default 0.02)
              --seed N                random seed (default 42)
              --timeout-seconds N     give up after N seconds (default 120)
              --nodes N               run N engine nodes in cluster mode on the store (1-9, default 1;
                                      a jdbc: store), each with its own connection pool, and kill one
                                      when 40%% of the workflows have finished: the others take its
                                      shards over. The report gains a cluster line with the failover time
              --via-serve             take the service path: start taskevents serve in this process (on
                                      loopback, a free port, a generated bearer token, the store above)
                                      and run the same simulation through the Java client: the driver
                                      creates tasks over HTTP and advances its workflows only from the
                                      state-event feed; the workers send through the client. Not with
                                      --nodes. The report gains a service line
            """.formatted(Defaults.STORE);

    private final PrintStream out;

    public DemoCommand(PrintStream out) {
        this.out = out;
    }

    public int run(List<String> args) throws InterruptedException {
        Options options = Options.parse("demo", args, Set.of("store", "workflows", "tasks", "duplicate-rate",
                "reorder-rate", "late-running-rate", "lost-ack-rate", "delay-rate", "failure-rate", "seed",
                "timeout-seconds", "nodes"), Set.of("help", "via-serve"));
        if (options.has("help")) {
            out.print(HELP);
            return 0;
        }
        SimulationConfig config = new SimulationConfig(
                options.getInt("workflows", 500, 1, 1_000_000),
                options.getInt("tasks", 6, 3, 16),
                options.getRate("duplicate-rate", 0.05),
                options.getRate("reorder-rate", 0.05),
                options.getRate("late-running-rate", 0.05),
                options.getRate("lost-ack-rate", 0.05),
                options.getRate("delay-rate", 0.10),
                options.getRate("failure-rate", 0.02),
                options.getInt("seed", 42, Integer.MIN_VALUE, Integer.MAX_VALUE),
                Duration.ofSeconds(options.getInt("timeout-seconds", 120, 1, 86_400)),
                options.getInt("nodes", 1, 1, 9));
        String url = options.get("store", Defaults.STORE);
        boolean viaServe = options.has("via-serve");
        if (viaServe && config.nodes() > 1) {
            throw new UsageException("demo: --via-serve runs one serve and does not combine with --nodes "
                    + config.nodes() + " (several nodes through serve are several serve --cluster processes);"
                    + " give one of them (see: taskevents demo --help)");
        }
        if (config.nodes() > 1 && !url.startsWith("jdbc:")) {
            throw new UsageException("demo: --nodes " + config.nodes() + " needs a store the nodes share and that fences"
                    + " writes: a jdbc: URL (the default H2 file, PostgreSQL, MariaDB or MySQL), not " + JdbcStores.redact(url)
                    + " (see: taskevents demo --help)");
        }
        out.printf("taskevents demo: opening %s%s%n", JdbcStores.redact(url),
                config.nodes() > 1 ? " for " + config.nodes() + " nodes" : viaServe ? " for serve (--via-serve)" : "");
        try (TaskInstanceStore store = Stores.open(url)) {
            // Each node has its own pool, as a process of its own would; the write transactions' idle
            // bound keeps a node's locks from outliving it by more than that, the statement bound
            // keeps a write from waiting for ever on a database that stopped answering.
            Simulation simulation = viaServe ? Simulation.viaServe(config, store)
                    : config.nodes() == 1 ? new Simulation(config, store)
                    : new Simulation(config, store, () -> JdbcStores.open(JdbcStoreOptions.of(url).withMaximumPoolSize(4)
                            .withWriterIdleTimeout(Duration.ofSeconds(1)).withStatementTimeout(ClusterNodes.LEASE)));
            DemoReport report;
            ProgressBar bar = ProgressBar.startIfTerminal(out, config.workflows(), simulation::workflowsFinished);
            try {
                report = simulation.run();
            } finally {
                if (bar != null) {
                    bar.close();
                }
            }
            report.print(out, JdbcStores.redact(url));
            return report.ok() ? 0 : 1;
        }
    }
}
