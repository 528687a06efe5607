package dev.taskevents.storage.jdbc;

import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.WriteOutcome;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The child process of {@link CrashBetweenCommitAndTellingTest}: an engine on a JDBC store whose
 * sink appends every state event it hears to a ledger file (unbuffered: what was written survives
 * the process being killed), driven by workers that send RUNNING then RESULT for every task and
 * resend until acknowledged. With {@code haltAfterWrites > 0} the process halts (as SIGKILL would
 * stop it) right after its that-many-th batch write committed, before anything of that batch was
 * acknowledged or told: the window the outbox exists for.
 *
 * <p>Arguments: url ledgerFile workflows tasksPerWorkflow haltAfterWrites
 */
public final class CrashingEngine {
    static final Instant T = Instant.parse("2026-06-01T00:00:00Z");

    public static void main(String[] args) throws Exception {
        String url = args[0];
        int workflows = Integer.parseInt(args[2]);
        int tasks = Integer.parseInt(args[3]);
        int haltAfter = Integer.parseInt(args[4]);
        AtomicInteger writes = new AtomicInteger();
        try (OutputStream ledger = new FileOutputStream(args[1], true);
             ForwardingTaskInstanceStore store = new ForwardingTaskInstanceStore(JdbcStores.open(JdbcStoreOptions.of(url))) {
                 @Override
                 public List<WriteOutcome> write(WriteBatch batch) {
                     List<WriteOutcome> outcomes = super.write(batch);
                     if (writes.incrementAndGet() == haltAfter) {
                         Runtime.getRuntime().halt(137);
                     }
                     return outcomes;
                 }
             };
             TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(event -> {
                 byte[] line = (event.taskInstanceId() + " " + event.version() + " " + event.eventId() + "\n")
                         .getBytes(StandardCharsets.UTF_8);
                 synchronized (ledger) {
                     try {
                         ledger.write(line);
                     } catch (IOException e) {
                         throw new IllegalStateException(e);
                     }
                 }
             }).build()) {
            List<Thread> workers = new ArrayList<>();
            int threads = 8;
            for (int w = 0; w < threads; w++) {
                int first = w + 1;
                workers.add(Thread.ofPlatform().start(() -> {
                    for (int wf = first; wf <= workflows; wf += threads) {
                        for (int t = 0; t < tasks; t++) {
                            long id = taskId(wf, t);
                            sendUntilAcknowledged(engine, TaskEvent.builder("r" + id, TaskEventType.RUNNING, wf, id)
                                    .eventTime(T).host("w").startTime(T).build());
                            sendUntilAcknowledged(engine, TaskEvent.builder("x" + id, TaskEventType.RESULT, wf, id)
                                    .eventTime(T).state(TaskState.SUCCESS).endTime(T).build());
                        }
                    }
                }));
            }
            for (Thread worker : workers) {
                worker.join();
            }
        }
    }

    static long taskId(int workflow, int task) {
        return workflow * 100L + task;
    }

    private static void sendUntilAcknowledged(TaskEventEngine engine, TaskEvent event) {
        for (;;) {
            try {
                engine.submit(event).get(60, TimeUnit.SECONDS);
                return;
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }
    }
}
