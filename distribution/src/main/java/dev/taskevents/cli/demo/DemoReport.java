package dev.taskevents.cli.demo;

import dev.taskevents.api.TaskEventType;
import dev.taskevents.engine.EngineStats;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** What a demo run did and whether the store ended as the workers dictated. */
public record DemoReport(SimulationConfig config, long elapsedNanos, Map<TaskEventType, Long> sent, long duplicatesSent,
                         long resends, long backpressureWaits, EngineStats engine, long[] ackLatencyNanos,
                         int workflows, int workflowsFinished, int workflowsSucceeded, boolean finishedInTime,
                         Verification verification, List<Throwable> driverErrors, ClusterRun cluster,
                         long stateEventsRepeated, ServiceRun service) {

    /** The store check: how many task rows were compared and what did not match. */
    public record Verification(int tasksChecked, List<String> problems) {}

    /**
     * A run of several nodes: what the cluster did.
     *
     * @param nodes engine nodes
     * @param shardCount the store's shard count
     * @param killed the node killed mid-run, or null if the run ended before the kill point
     * @param killedAtPercent how far the run was (workflows finished) when it was killed
     * @param killedShards shards the killed node served when it died
     * @param takeovers shard acquisitions by all nodes (the first claims included)
     * @param failoverNanos from the kill to the first Applied answer from another node for an event
     *     of the killed node's shards; -1 if none came
     * @param killedStats the killed node's counters (not in the report's engine counters), or null
     */
    public record ClusterRun(int nodes, int shardCount, String killed, int killedAtPercent, int killedShards,
                             long takeovers, long failoverNanos, EngineStats killedStats) {}

    /**
     * A run through serve ({@code --via-serve}).
     *
     * @param address where the in-process serve listened
     * @param feedEventsRead state events the driver read from {@code GET /v1/state-events}
     * @param clientResends events the client sent again after a try without a final answer
     */
    public record ServiceRun(String address, long feedEventsRead, long clientResends) {}

    /** Whether the run finished in time, without driver errors, and every row matched. */
    public boolean ok() {
        return failures().isEmpty() && verification.problems().isEmpty();
    }

    /**
     * Why the run failed besides the rows' problems. With one node, an event that failed (the store
     * could not write it) is a failure: nothing in the run should make one. With several, a node
     * that could not renew its lease in time refuses events until it can (its workers resend them,
     * as after a 503), so failed events are reported, not failures; the rows are the proof.
     */
    private List<String> failures() {
        List<String> failures = new ArrayList<>();
        if (!finishedInTime) {
            failures.add("the run timed out");
        }
        if (!driverErrors.isEmpty()) {
            failures.add(driverErrors.size() + " driver errors");
        }
        if (engine.rejected() > 0) {
            failures.add(engine.rejected() + " events rejected");
        }
        if (cluster == null && engine.failed() > 0) {
            failures.add(engine.failed() + " events failed (the store could not write them)");
        }
        if (cluster != null && cluster.killed() == null) {
            failures.add("no node was killed");
        } else if (cluster != null && cluster.failoverNanos() < 0) {
            failures.add("no ack came from another node for the killed node's workflows");
        }
        return failures;
    }

    public long eventsSent() {
        return sent.values().stream().mapToLong(Long::longValue).sum();
    }

    public void print(PrintStream out, String store) {
        double seconds = elapsedNanos / 1e9;
        long answered = engine.applied() + engine.duplicates() + engine.stale() + engine.rejected();
        if (cluster != null && cluster.killedStats() != null) {
            EngineStats k = cluster.killedStats();
            answered += k.applied() + k.duplicates() + k.stale() + k.rejected();
        }
        out.printf("%ntaskevents demo: %d workflows x %d tasks on %s%n", workflows, config.tasksPerWorkflow(), store);
        out.printf("  events sent     %,d  (DISPATCH %,d, DELAY %,d, RUNNING %,d, RESULT %,d)%n", eventsSent(),
                sent.get(TaskEventType.DISPATCH), sent.get(TaskEventType.DELAY), sent.get(TaskEventType.RUNNING),
                sent.get(TaskEventType.RESULT));
        out.printf("                  of which %,d sent twice at once, %,d resent after a lost ack;"
                + " %,d waits on a full queue%n", duplicatesSent, resends, backpressureWaits);
        out.printf("  acknowledged    applied %,d   duplicate %,d   stale %,d   rejected %,d   failed %,d%s%n",
                engine.applied(), engine.duplicates(), engine.stale(), engine.rejected(), engine.failed(),
                cluster == null ? "" : String.format("   moved %,d (resent to the owner)", engine.moved()));
        out.printf("  commits         %,d batches, %.1f rows per batch%n", engine.batches(),
                engine.batches() == 0 ? 0.0 : (double) engine.rowsWritten() / engine.batches());
        out.printf("  throughput      %,.0f events/s  (%,d events answered in %.2f s)%n", answered / seconds, answered,
                seconds);
        out.printf("  ack latency     p50 %s   p99 %s   max %s%n", millis(percentile(0.50)), millis(percentile(0.99)),
                millis(ackLatencyNanos.length == 0 ? 0 : ackLatencyNanos[ackLatencyNanos.length - 1]));
        out.printf("  workflows       %,d of %,d finished: %,d succeeded, %,d stopped by a failed task%s%n",
                workflowsFinished, workflows, workflowsSucceeded, workflowsFinished - workflowsSucceeded,
                finishedInTime ? "" : "  (TIMED OUT after " + config.timeout().toSeconds() + " s)");
        if (cluster != null) {
            if (cluster.killed() == null) {
                out.printf("  cluster         %d nodes, %d shards; no node was killed: the run ended first%n",
                        cluster.nodes(), cluster.shardCount());
            } else {
                out.printf("  cluster         %d nodes, %d shards; %s killed at %d%% (it served %d shards);"
                        + " %,d shard takeovers in all%n", cluster.nodes(), cluster.shardCount(), cluster.killed(),
                        cluster.killedAtPercent(), cluster.killedShards(), cluster.takeovers());
                out.printf("                  failover %s (kill to the first ack by another node for the killed"
                        + " node's workflows; lease %.1f s)%n", cluster.failoverNanos() < 0 ? "never"
                        : String.format("%.2f s", cluster.failoverNanos() / 1e9), ClusterNodes.LEASE.toMillis() / 1e3);
                out.printf("                  %,d state events told again after the kill (same version; dropped by"
                        + " the driver)%n", stateEventsRepeated);
                EngineStats k = cluster.killedStats();
                out.printf("                  the killed node had answered: applied %,d   duplicate %,d   stale %,d"
                        + "   moved %,d; %,d failed as it died (their workers resent them)%n", k.applied(), k.duplicates(),
                        k.stale(), k.moved(), k.failed() + k.queued());
            }
        }
        if (service != null) {
            out.printf("  service path    serve at %s (in this process, bearer token), through the Java client%n",
                    service.address());
            out.printf("                  the driver read %,d state events from the feed; the client resent %,d events%n",
                    service.feedEventsRead(), service.clientResends());
        }
        if (ok()) {
            out.printf("  verification    OK: all %,d task instances hold the state their workers reported%n",
                    verification.tasksChecked());
        } else {
            out.printf("  verification    FAILED: %,d problems in %,d task instances checked%s%n",
                    verification.problems().size(), verification.tasksChecked(),
                    failures().isEmpty() ? "" : "; " + String.join("; ", failures()));
            verification.problems().stream().limit(20).forEach(p -> out.println("                  - " + p));
            driverErrors.stream().limit(5).forEach(e -> out.println("                  - driver error: " + e));
        }
    }

    private long percentile(double p) {
        if (ackLatencyNanos.length == 0) {
            return 0;
        }
        return ackLatencyNanos[Math.min(ackLatencyNanos.length - 1, (int) (p * ackLatencyNanos.length))];
    }

    private static String millis(long nanos) {
        return String.format("%.2f ms", nanos / 1e6);
    }
}
