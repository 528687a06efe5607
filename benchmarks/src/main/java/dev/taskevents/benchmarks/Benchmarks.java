package dev.taskevents.benchmarks;

import dev.taskevents.engine.executor.ThreadMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Runs every workload for taskevents and the baselines in one JVM and writes a Markdown report.
 *
 * <pre>
 * benchmarks/run Benchmarks                      # full run, writes benchmarks/RESULTS.md (minutes)
 * benchmarks/run Benchmarks --quick --out F.md   # seconds: what CI runs so that nothing rots
 * </pre>
 * Databases: TASKEVENTS_TEST_POSTGRES_URL and TASKEVENTS_TEST_MARIADB_URL, else the local defaults.
 * Exit code 1 only if a design broke per-key order or exclusivity, or the state-event feed missed,
 * repeated or reordered an event; numbers are reported, not judged.
 */
public final class Benchmarks {
    private final boolean quick;
    private final StringBuilder md = new StringBuilder();
    private long orderViolationsOfTaskEvents;
    private boolean feedBroken;

    private Benchmarks(boolean quick) {
        this.quick = quick;
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        Path out = Path.of("benchmarks/RESULTS.md");
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals("--out")) {
                out = Path.of(args[i + 1]);
            }
        }
        Benchmarks run = new Benchmarks(quick);
        run.all(String.join(" ", args));
        Files.writeString(out, run.md.toString());
        System.out.println("\nwrote " + out.toAbsolutePath());
        System.exit(run.orderViolationsOfTaskEvents == 0 && !run.feedBroken ? 0 : 1);
    }

    private void all(String args) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        line("# taskevents benchmarks" + (quick ? " (quick mode: sizes too small to mean much)" : ""));
        line("");
        line("- date: " + ZonedDateTime.now().format(DateTimeFormatter.RFC_1123_DATE_TIME));
        line("- machine: " + cores + " cores, " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB max heap, "
                + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        line("- JDK: " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")");
        line("- command: `benchmarks/run Benchmarks" + (args.isEmpty() ? "" : " " + args) + "`");
        line("- every design runs in this same JVM, one after another; order (per key FIFO, never two at once)"
                + " is checked in every workload");
        line("");
        burst(cores);
        paced();
        idle(cores);
        endToEnd();
        feed();
    }

    private void burst(int cores) throws InterruptedException {
        int keys = quick ? 1_000 : 10_000;
        int perKey = quick ? 10 : 100;
        int reps = quick ? 1 : 5;
        section("1. Burst", keys + " keys x " + perKey + " empty tasks from 2 submitting threads, " + cores
                + " worker threads; events/s, median of " + reps + " runs after a warm-up (min-max).");
        line("| design | events/s | min-max | vs taskevents | order violations |");
        line("|---|---|---|---|---|");
        List<ExecutorBenchmarks.Burst> results = new ArrayList<>();
        for (Supplier<Design> design : designs(cores, false)) {
            results.add(ExecutorBenchmarks.burst(design, keys, perKey, reps));
            System.out.println("burst: " + results.getLast());
        }
        double ours = results.getFirst().eventsPerSecond().median();
        for (ExecutorBenchmarks.Burst r : results) {
            line(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f-%,.0f | %.2fx | %d |", r.design(),
                    r.eventsPerSecond().median(), r.eventsPerSecond().min(), r.eventsPerSecond().max(),
                    r.eventsPerSecond().median() / ours, r.violations()));
            countViolations(r.design(), r.violations());
        }
        line("");
    }

    private void paced() throws InterruptedException {
        int keys = quick ? 200 : 2_000;
        int perKey = quick ? 5 : 20;
        int rate = quick ? 2_000 : 6_000;
        section("2. Paced I/O", keys + " keys x " + perKey + " events sent at " + rate + " events/s, 16 workers"
                + " (16 platform threads; one virtual thread per drain for the virtual row); each task blocks 1 ms,"
                + " 1% of the keys block 20 ms. Latency of the fast keys from the intended send time to the end of the"
                + " task (no coordinated omission), in ms.");
        line("| design | p50 | p99 | max | slow keys' p99 | p99 vs taskevents | order violations |");
        line("|---|---|---|---|---|---|---|");
        List<ExecutorBenchmarks.Paced> results = new ArrayList<>();
        for (Supplier<Design> design : designs(16, true)) {
            results.add(ExecutorBenchmarks.paced(design, keys, perKey, rate));
            System.out.println("paced: " + results.getLast());
        }
        double ours = results.getFirst().p99();
        for (ExecutorBenchmarks.Paced r : results) {
            line(String.format(Locale.ROOT, "| %s | %.2f | %.2f | %.2f | %.2f | %.2fx | %d |", r.design(), r.p50(),
                    r.p99(), r.max(), r.slowP99(), r.p99() / ours, r.violations()));
            countViolations(r.design(), r.violations());
        }
        line("");
    }

    private void idle(int cores) throws InterruptedException {
        int keys = quick ? 10_000 : 1_000_000;
        section("3. Idle keys", String.format(Locale.ROOT, "%,d keys with one empty task each; heap still used"
                + " once all ran, after a GC, minus the heap before the design was made.", keys));
        line("| design | retained heap | bytes per key |");
        line("|---|---|---|");
        for (Supplier<Design> design : designs(cores, false)) {
            ExecutorBenchmarks.Idle r = ExecutorBenchmarks.idleKeys(design, keys);
            System.out.println("idle: " + r);
            line(String.format(Locale.ROOT, "| %s | %,d KiB | %.1f |", r.design(), r.retainedBytes() / 1024,
                    r.bytesPerKey()));
        }
        line("");
    }

    private void endToEnd() throws Exception {
        List<EndToEndBenchmark.Target> targets = List.of(
                new EndToEndBenchmark.Target("PostgreSQL", env("TASKEVENTS_TEST_POSTGRES_URL",
                        "jdbc:postgresql://127.0.0.1:5432/test?user=postgres")),
                new EndToEndBenchmark.Target("MariaDB", env("TASKEVENTS_TEST_MARIADB_URL",
                        "jdbc:mariadb://127.0.0.1:3306/test?user=root")),
                new EndToEndBenchmark.Target("H2 (file)", "jdbc:h2:"));
        int workflows = quick ? 200 : 4_000;
        section("4. End to end", "The engine with the JDBC store: " + workflows + " workflows x "
                + EndToEndBenchmark.TASKS_PER_WORKFLOW + " tasks, RUNNING and RESULT each ("
                + workflows * EndToEndBenchmark.TASKS_PER_WORKFLOW * 2 + " events), acknowledged after commit."
                + " Max: 2 threads submit as fast as backpressure allows (latency there is mostly queueing)."
                + " Every mode has a state sink, so the outbox is written, but \"no sink (no outbox)\"; those two"
                + " alternate, and their ratio is the outbox's cost."
                + " Half load: one thread sends at half the group-commit maximum; latency from intended send time"
                + " to ack. One commit per event runs an eighth of the events. \"Cached workflows\": the p99 of every"
                + " event but each workflow's first, whose ack also waits for the workflow's snapshot load.");
        line("| database | mode | events/s | ack p50 ms | ack p99 ms | ack max ms | p99 ms, cached workflows | rows per commit |");
        line("|---|---|---|---|---|---|---|---|");
        for (EndToEndBenchmark.Target target : targets) {
            try {
                EndToEndBenchmark.maxThroughput(target, "warm-up", 1_000, Math.max(100, workflows / 4));
                // With and without the outbox (a state sink), alternating, so that drift hits both alike.
                List<EndToEndBenchmark.Result> group = new ArrayList<>();
                List<EndToEndBenchmark.Result> noOutbox = new ArrayList<>();
                for (int rep = 0; rep < (quick ? 1 : 3); rep++) {
                    noOutbox.add(EndToEndBenchmark.maxThroughput(target, "group commit, max, no sink (no outbox)",
                            1_000, workflows, false));
                    group.add(EndToEndBenchmark.maxThroughput(target, "group commit, max", 1_000, workflows, true));
                }
                group.sort((a, b) -> Double.compare(a.eventsPerSecond(), b.eventsPerSecond()));
                noOutbox.sort((a, b) -> Double.compare(a.eventsPerSecond(), b.eventsPerSecond()));
                EndToEndBenchmark.Result best = group.get(group.size() / 2);
                EndToEndBenchmark.Result bestNoOutbox = noOutbox.get(noOutbox.size() / 2);
                EndToEndBenchmark.Result single = EndToEndBenchmark.maxThroughput(target, "one commit per event, max", 1,
                        Math.max(20, workflows / 8));
                EndToEndBenchmark.Result half = EndToEndBenchmark.atRate(target, "group commit, half load", 1_000,
                        workflows, best.eventsPerSecond() / 2);
                for (EndToEndBenchmark.Result r : List.of(bestNoOutbox, best, single, half)) {
                    System.out.println("end to end " + target.name() + ": " + r);
                    line(String.format(Locale.ROOT, "| %s | %s | %,.0f | %.2f | %.2f | %.2f | %.2f | %.1f |",
                            target.name(), r.mode(), r.eventsPerSecond(), r.p50(), r.p99(), r.max(), r.p99Cached(),
                            r.rowsPerBatch()));
                }
                line(String.format(Locale.ROOT, "| %s | group commit / one commit per event | %.1fx | | | | | |",
                        target.name(), best.eventsPerSecond() / single.eventsPerSecond()));
                line(String.format(Locale.ROOT, "| %s | outbox cost: with sink / without | %.3f (%s vs %s) | | | | | |",
                        target.name(), best.eventsPerSecond() / bestNoOutbox.eventsPerSecond(), rates(group),
                        rates(noOutbox)));
            } catch (Exception e) {
                System.out.println("end to end " + target.name() + " not run: " + e);
                line("| " + target.name() + " | not run: " + e.getMessage().replace('|', '/') + " | | | | | | |");
            }
        }
        line("");
    }

    private void feed() throws Exception {
        int workflows = quick ? 200 : 4_000;
        int reps = quick ? 1 : 3;
        section("5. The state-event feed", "The engine in record-only feed mode (`stateFeed`, no sink) with the JDBC"
                + " store, and a consumer reading the feed from its start while the events are sent: in the JVM"
                + " through the store's feed (what serve's `GET /v1/state-events` reads), and over loopback HTTP"
                + " (serve's EventServer in this JVM, the client's FeedReader). Full load: 2 threads submit to the"
                + " engine as fast as backpressure allows; no feed, the feed without a consumer, and the feed with"
                + " each consumer alternate. Half load: one thread at half the lower full rate with a consumer;"
                + " commit to consumer is the consumer's receipt minus the event's ack (negative: read before the"
                + " ack callback ran). `benchmarks/run FeedBenchmark` runs more repetitions; details in its class"
                + " comment.");
        try {
            FeedBenchmark.Report report = FeedBenchmark.measure(new EndToEndBenchmark.Target("PostgreSQL",
                    env("TASKEVENTS_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test?user=postgres")),
                    workflows, reps, quick ? 0 : 1, System.out);
            report.markdown().forEach(this::line);
        } catch (FeedBenchmark.FeedViolation e) {
            feedBroken = true;
            System.out.println("feed broken: " + e.getMessage());
            line("**The feed broke its promise:** " + e.getMessage());
        } catch (Exception e) {
            System.out.println("feed not run: " + e);
            line("not run: " + String.valueOf(e.getMessage()));
        }
        line("");
    }

    private static String rates(List<EndToEndBenchmark.Result> results) {
        return results.stream().map(r -> String.format(Locale.ROOT, "%,.0f", r.eventsPerSecond())).toList().toString();
    }

    private List<Supplier<Design>> designs(int threads, boolean withVirtual) {
        List<Supplier<Design>> designs = new ArrayList<>();
        designs.add(() -> new Design.TaskEvents(threads, ThreadMode.PLATFORM));
        if (withVirtual) {
            designs.add(() -> new Design.TaskEvents(threads, ThreadMode.VIRTUAL));
        }
        designs.add(() -> new Design.Polling(threads));
        designs.add(() -> new Design.Striped(threads));
        designs.add(() -> new Design.Sequential(threads));
        return designs;
    }

    private void countViolations(String design, long violations) {
        if (design.startsWith("taskevents")) {
            orderViolationsOfTaskEvents += violations;
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }

    private void section(String title, String what) {
        line("## " + title);
        line("");
        line(what);
        line("");
        System.out.println("== " + title);
    }

    private void line(String text) {
        md.append(text).append('\n');
    }
}
