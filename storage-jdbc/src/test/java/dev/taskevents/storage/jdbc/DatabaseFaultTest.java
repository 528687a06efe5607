package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.RetryPolicy;
import dev.taskevents.engine.TaskEventEngine;
import dev.taskevents.storecontract.CommitThenFailStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The store loses its connections mid-run: a TCP proxy between the pool and PostgreSQL cuts every
 * connection every 150 ms and, twice, refuses connections for a second (a database restart), and
 * every 7th batch write commits and then throws (the connection lost during COMMIT, made certain).
 * The workers resend what is not acknowledged, as real ones do. Every event must end applied
 * exactly once (each row's version counts its changes), in order, with nothing acknowledged lost;
 * every committed change must reach the state sink, by version, first told in commit order per
 * workflow; and the engine must work normally afterwards. Size:
 * {@code -Dtaskevents.reliability.workflows} (CI: 200).
 */
class DatabaseFaultTest {
    private static final Instant T = Instant.parse("2026-06-01T00:00:00Z");

    @Test
    void connectionsCutMidRunLoseNothingAndApplyEverythingOnce() throws Exception {
        int workflows = Integer.getInteger("taskevents.reliability.workflows", 200);
        int tasksPerWorkflow = 5;
        String url = TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        Matcher hostPort = Pattern.compile("//([^:/]+):(\\d+)/").matcher(url);
        assertTrue(hostPort.find(), url);
        try (TcpProxy proxy = new TcpProxy(hostPort.group(1), Integer.parseInt(hostPort.group(2)))) {
            String proxied = hostPort.replaceFirst("//127.0.0.1:" + proxy.port() + "/");
            ConcurrentLinkedQueue<StateEvent> told = new ConcurrentLinkedQueue<>();
            try (CommitThenFailStore store = new CommitThenFailStore(JdbcStores.open(JdbcStoreOptions.of(proxied)
                    .withMaximumPoolSize(4).withConnectionTimeout(Duration.ofSeconds(2))), 7);
                 TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(told::add)
                         .commitRetry(new RetryPolicy(30, Duration.ofMillis(10), Duration.ofMillis(300))).build()) {
                List<TaskInstance> rows = new ArrayList<>();
                for (int wf = 1; wf <= workflows; wf++) {
                    for (int t = 0; t < tasksPerWorkflow; t++) {
                        rows.add(TaskInstance.submitted(wf * 10L + t, wf, "t" + t, T));
                    }
                }
                store.insert(rows);

                AtomicBoolean running = new AtomicBoolean(true);
                AtomicLong sent = new AtomicLong();
                AtomicLong resends = new AtomicLong();
                AtomicLong applied = new AtomicLong();
                AtomicLong duplicates = new AtomicLong();
                Thread faults = Thread.ofPlatform().start(() -> {
                    int round = 0;
                    while (running.get()) {
                        try {
                            Thread.sleep(150); // the fault schedule itself
                            if (++round % 20 == 0 && round <= 40) {
                                proxy.setDown(true);
                                Thread.sleep(1_000);
                                proxy.setDown(false);
                            } else {
                                proxy.cutAll();
                            }
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                });
                List<Thread> workers = new ArrayList<>();
                int threads = 4;
                for (int w = 0; w < threads; w++) {
                    int first = w + 1;
                    workers.add(Thread.ofPlatform().start(() -> {
                        for (int wf = first; wf <= workflows; wf += threads) {
                            for (int t = 0; t < tasksPerWorkflow; t++) {
                                long id = wf * 10L + t;
                                for (TaskEvent event : List.of(
                                        TaskEvent.builder("r" + id, TaskEventType.RUNNING, wf, id).eventTime(T)
                                                .host("w").startTime(T).build(),
                                        TaskEvent.builder("x" + id, TaskEventType.RESULT, wf, id).eventTime(T)
                                                .state(TaskState.SUCCESS).endTime(T).varPool("v" + id).build())) {
                                    Acknowledgement ack = sendUntilAcknowledged(engine, event, sent, resends);
                                    (ack instanceof Acknowledgement.Applied ? applied : duplicates).incrementAndGet();
                                }
                            }
                        }
                    }));
                }
                for (Thread worker : workers) {
                    worker.join(TimeUnit.MINUTES.toMillis(5));
                }
                running.set(false);
                faults.interrupt();
                faults.join();

                int tasks = workflows * tasksPerWorkflow;
                long lost = 0;
                // Read back over a connection of its own, not through the proxy the faults cut.
                List<TaskInstance> stored;
                try (TaskInstanceStore direct = JdbcStores.open(JdbcStoreOptions.of(url))) {
                    stored = direct.findByWorkflows(rows.stream().map(TaskInstance::workflowInstanceId)
                            .distinct().toList()).values().stream().flatMap(List::stream).toList();
                }
                assertEquals(tasks, stored.size(), "every task read back");
                for (TaskInstance row : stored) {
                    if (row.state() != TaskState.SUCCESS || !("x" + row.id()).equals(row.finishEventId())
                            || row.version() != 2 || !T.equals(row.startTime())) {
                        lost++;
                    }
                }
                // The sink's record, against what committed: per task, versions 1 (RUNNING) and 2
                // (RESULT) told, each by the event that made it; per workflow, the first telling of
                // each change in commit order (the workers send task by task, RUNNING then RESULT).
                Map<Long, List<Long>> firstTellings = new HashMap<>();
                java.util.Set<String> seen = new java.util.HashSet<>();
                long untold = 0;
                for (StateEvent e : told) {
                    assertEquals((e.version() == 1 ? "r" : "x") + e.taskInstanceId(), e.eventId(), e.toString());
                    if (seen.add(e.taskInstanceId() + "/" + e.version())) {
                        firstTellings.computeIfAbsent(e.workflowInstanceId(), k -> new ArrayList<>())
                                .add(e.taskInstanceId() * 10 + e.version());
                    }
                }
                for (TaskInstance row : stored) {
                    for (long version = 1; version <= row.version(); version++) {
                        if (!seen.contains(row.id() + "/" + version)) {
                            untold++;
                        }
                    }
                }
                for (Map.Entry<Long, List<Long>> e : firstTellings.entrySet()) {
                    assertEquals(e.getValue().stream().sorted().toList(), e.getValue(),
                            "workflow " + e.getKey() + ": changes first told in commit order");
                }
                System.out.printf("RELIABILITY db-faults: events=%d sent=%d resends=%d connection-cuts=%d"
                                + " commits-then-failed=%d applied=%d duplicates-absorbed=%d write-retries=%d"
                                + " lost-or-wrong=%d told=%d repeats=%d untold=%d%n",
                        2L * tasks, sent.get(), resends.get(), proxy.cuts(), store.committedThenFailed(),
                        applied.get(), duplicates.get(), engine.stats().writeRetries(), lost, told.size(),
                        told.size() - seen.size(), untold);
                assertEquals(0, lost, "every task must end SUCCESS, finished by its RESULT, changed exactly twice");
                assertEquals(0, untold, "every committed change must reach the state sink");
                assertTrue(store.committedThenFailed() > 0, "unknown commit outcomes must have been injected");
                assertEquals(2L * tasks, applied.get() + duplicates.get());
                assertTrue(proxy.cuts() > 5, "faults must actually have been injected: " + proxy.cuts());

                // Healthy afterwards: a new event applies at once.
                store.insert(List.of(TaskInstance.submitted(999_999, 999_999, "after", T)));
                assertInstanceOf(Acknowledgement.Applied.class, engine.submit(
                        TaskEvent.dispatch("after", 999_999, 999_999, T, "w")).get(10, TimeUnit.SECONDS));
            }
        }
    }

    /** What a worker does: resend until acknowledged; a failed future or a timeout means "resend". */
    private static Acknowledgement sendUntilAcknowledged(TaskEventEngine engine, TaskEvent event, AtomicLong sent,
                                                         AtomicLong resends) {
        for (int attempt = 0; ; attempt++) {
            sent.incrementAndGet();
            if (attempt > 0) {
                resends.incrementAndGet();
            }
            try {
                return engine.submit(event).get(30, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                try {
                    Thread.sleep(20); // a worker's resend interval
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(interrupted);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
