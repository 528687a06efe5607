package dev.taskevents.cli.demo;

import dev.taskevents.api.TaskEventType;
import dev.taskevents.engine.EngineStats;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** What a demo run did and whether the store ended as the workers dictated. */
public record DemoReport(SimulationConfig config, long elapsedNanos, Map<TaskEventType, Long> sent, long duplicatesSent,
                         long resends, long backpressureWaits, EngineStats engine, long[] ackLatencyNanos,
                         int workflows, int workflowsFinished, int workflowsSucceeded, boolean finishedInTime,
                         Verification verification, List<Throwable> driverErrors) {

    /** The store check: how many task rows were compared and what did not match. */
    public record Verification(int tasksChecked, List<String> problems) {}

    /** Whether the run finished in time, without driver errors, and every row matched. */
    public boolean ok() {
        return finishedInTime && driverErrors.isEmpty() && verification.problems().isEmpty() && engine.failed() == 0
                && engine.rejected() == 0;
    }

    public long eventsSent() {
        return sent.values().stream().mapToLong(Long::longValue).sum();
    }

    public void print(PrintStream out, String store) {
        double seconds = elapsedNanos / 1e9;
        long answered = engine.applied() + engine.duplicates() + engine.stale() + engine.rejected();
        out.printf("%ntaskevents demo: %d workflows x %d tasks on %s%n", workflows, config.tasksPerWorkflow(), store);
        out.printf("  events sent     %,d  (DISPATCH %,d, DELAY %,d, RUNNING %,d, RESULT %,d)%n", eventsSent(),
                sent.get(TaskEventType.DISPATCH), sent.get(TaskEventType.DELAY), sent.get(TaskEventType.RUNNING),
                sent.get(TaskEventType.RESULT));
        out.printf("                  of which %,d sent twice at once, %,d resent after a lost ack;"
                + " %,d waits on a full queue%n", duplicatesSent, resends, backpressureWaits);
        out.printf("  acknowledged    applied %,d   duplicate %,d   stale %,d   rejected %,d   failed %,d%n",
                engine.applied(), engine.duplicates(), engine.stale(), engine.rejected(), engine.failed());
        out.printf("  commits         %,d batches, %.1f rows per batch%n", engine.batches(),
                engine.batches() == 0 ? 0.0 : (double) engine.rowsWritten() / engine.batches());
        out.printf("  throughput      %,.0f events/s  (%,d events answered in %.2f s)%n", answered / seconds, answered,
                seconds);
        out.printf("  ack latency     p50 %s   p99 %s   max %s%n", millis(percentile(0.50)), millis(percentile(0.99)),
                millis(ackLatencyNanos.length == 0 ? 0 : ackLatencyNanos[ackLatencyNanos.length - 1]));
        out.printf("  workflows       %,d of %,d finished: %,d succeeded, %,d stopped by a failed task%s%n",
                workflowsFinished, workflows, workflowsSucceeded, workflowsFinished - workflowsSucceeded,
                finishedInTime ? "" : "  (TIMED OUT after " + config.timeout().toSeconds() + " s)");
        if (ok()) {
            out.printf("  verification    OK: all %,d task instances hold the state their workers reported%n",
                    verification.tasksChecked());
        } else {
            out.printf("  verification    FAILED: %,d problems in %,d task instances checked%n",
                    verification.problems().size(), verification.tasksChecked());
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
