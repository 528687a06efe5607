package dev.taskevents.benchmarks;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.jooq.impl.DSL;

/**
 * The whole path on a real database: events submitted by 2 threads as fast as backpressure allows,
 * acknowledged after commit. Runs group commit and one-commit-per-event side by side, each on a new
 * schema, and prints a table: events/s acknowledged and ack latency (submit to ack).
 *
 * <pre>java -cp ... dev.taskevents.benchmarks.EndToEndBenchmark [postgres-base-url] [workflows] [repetitions]</pre>
 */
public final class EndToEndBenchmark {
    private static final int TASKS_PER_WORKFLOW = 5;

    public static void main(String[] args) throws Exception {
        String base = args.length > 0 ? args[0] : "jdbc:postgresql://127.0.0.1:5432/test?user=postgres";
        int workflows = args.length > 1 ? Integer.parseInt(args[1]) : 4_000;
        int repetitions = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        System.out.printf("end to end on %s, %d workflows x %d tasks x 2 events (RUNNING, RESULT), %d cores, JDK %s%n",
                JdbcStores.redact(base), workflows, TASKS_PER_WORKFLOW, Runtime.getRuntime().availableProcessors(),
                Runtime.version());
        System.out.printf("%-26s %5s %12s %9s %9s %9s %10s%n", "mode", "rep", "events/s", "p50 ms", "p99 ms", "max ms",
                "rows/batch");
        run(base, "warm-up", 1_000, true, workflows);
        run(base, "warm-up", 1_000, false, workflows);
        for (int rep = 1; rep <= repetitions; rep++) {
            run(base, "group, multi-row UPDATE", 1_000, true, workflows).print(rep);
            run(base, "group, JDBC batch", 1_000, false, workflows).print(rep);
            run(base, "one commit per event", 1, true, Math.max(1, workflows / 8)).print(rep);
        }
    }

    record Result(String mode, double eventsPerSecond, double p50, double p99, double max, double rowsPerBatch) {
        void print(int rep) {
            System.out.printf("%-26s %5d %,12.0f %9.2f %9.2f %9.2f %10.1f%n", mode, rep, eventsPerSecond, p50, p99, max,
                    rowsPerBatch);
        }
    }

    static Result run(String base, String mode, int maxCommitBatch, boolean multiRow, int workflows) throws Exception {
        String url = freshSchema(base);
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url).withMultiRowUpdates(multiRow))) {
            Instant now = Instant.now();
            List<TaskInstance> rows = new ArrayList<>();
            for (int wf = 1; wf <= workflows; wf++) {
                for (int t = 0; t < TASKS_PER_WORKFLOW; t++) {
                    rows.add(TaskInstance.submitted(wf * 10L + t, wf, "t" + t, now));
                }
                if (rows.size() >= 5_000) {
                    store.insert(rows);
                    rows.clear();
                }
            }
            store.insert(rows);
            int events = workflows * TASKS_PER_WORKFLOW * 2;
            long[] latencyNanos = new long[events];
            CompletableFuture<?>[] acks = new CompletableFuture<?>[events];
            TaskEventEngine engine = TaskEventEngine.builder().store(store).maxCommitBatch(maxCommitBatch)
                    .maxQueued(20_000).submitTimeout(Duration.ofMinutes(5)).build();
            long start = System.nanoTime();
            Thread[] senders = new Thread[2];
            for (int s = 0; s < senders.length; s++) {
                int first = s;
                senders[s] = Thread.ofPlatform().start(() -> {
                    int i = first * (events / 2);
                    for (int wf = 1 + first; wf <= workflows; wf += 2) {
                        for (int t = 0; t < TASKS_PER_WORKFLOW; t++) {
                            long id = wf * 10L + t;
                            for (TaskEvent e : List.of(
                                    TaskEvent.builder("r" + id, TaskEventType.RUNNING, wf, id).eventTime(now)
                                            .host("w1").startTime(now).processId(42).build(),
                                    TaskEvent.builder("x" + id, TaskEventType.RESULT, wf, id).eventTime(now)
                                            .state(TaskState.SUCCESS).endTime(now).varPool("{}").build())) {
                                int slot = i++;
                                long sent = System.nanoTime();
                                acks[slot] = engine.submit(e).thenAccept((Acknowledgement a) -> {
                                    if (!(a instanceof Acknowledgement.Applied)) {
                                        throw new IllegalStateException("expected Applied, got " + a);
                                    }
                                    latencyNanos[slot] = System.nanoTime() - sent;
                                });
                            }
                        }
                    }
                });
            }
            for (Thread sender : senders) {
                sender.join();
            }
            CompletableFuture.allOf(acks).get(10, TimeUnit.MINUTES);
            long elapsed = System.nanoTime() - start;
            var stats = engine.stats();
            engine.close();
            Arrays.sort(latencyNanos);
            return new Result(mode, events / (elapsed / 1e9), latencyNanos[events / 2] / 1e6,
                    latencyNanos[(int) (events * 0.99)] / 1e6, latencyNanos[events - 1] / 1e6,
                    (double) stats.rowsWritten() / stats.batches());
        } finally {
            dropSchema(base, url);
        }
    }

    private static String freshSchema(String base) throws Exception {
        String name = "bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
        try (Connection c = DriverManager.getConnection(base)) {
            DSL.using(c).createSchema(name).execute();
        }
        return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + name;
    }

    private static void dropSchema(String base, String url) throws Exception {
        String name = url.substring(url.lastIndexOf('=') + 1);
        try (Connection c = DriverManager.getConnection(base)) {
            DSL.using(c).dropSchemaIfExists(name).cascade().execute();
        }
    }
}
