package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import dev.taskevents.testkit.TcpProxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The store loses its connections mid-run: a TCP proxy between the pool and PostgreSQL cuts every
 * connection each time the pool has sent another {@code CUT_EVERY_BYTES} and, after every 5th
 * cut, refuses the next 3 connection attempts (a database restart); every 7th batch write commits
 * and then throws (the connection lost during COMMIT, made certain). The faults follow the work
 * done, not a clock, so a slow machine gets the same faults as a fast one. The workers resend what
 * is not acknowledged, as real ones do.
 *
 * <p>The oracles are outside the engine: the database, read over a connection of its own, must
 * hold exactly the tasks inserted, each changed exactly twice by its own two events; the workers'
 * ledger must show every event answered Applied (with the row version it made) or, only after a
 * resend, Duplicate, and never Stale or Rejected; the proxy must have cut connections that were
 * open; every committed change must reach the state sink, first told in commit order per
 * workflow; and the engine must work normally afterwards. Size:
 * {@code -Dtaskevents.reliability.workflows} (CI: 200).
 */
class DatabaseFaultTest {
    private static final Instant T = Instant.parse("2026-06-01T00:00:00Z");
    /** Client bytes between two cuts: many cuts per run, and room for work between them. */
    private static final long CUT_EVERY_BYTES = 64 * 1024;

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
                proxy.cutEvery(CUT_EVERY_BYTES, 5, 3);

                AtomicLong sent = new AtomicLong();
                AtomicLong resends = new AtomicLong();
                // The workers' ledger: the answer each event finally got, and how often it was sent.
                Map<String, Acknowledgement> answers = new ConcurrentHashMap<>();
                Map<String, Integer> attempts = new ConcurrentHashMap<>();
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
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
                                    int[] tries = {0};
                                    Acknowledgement ack = sendUntilAcknowledged(engine, event, sent, resends, tries,
                                            deadline);
                                    attempts.put(event.eventId(), tries[0]);
                                    answers.put(event.eventId(), ack);
                                }
                            }
                        }
                    }));
                }
                for (Thread worker : workers) {
                    worker.join(TimeUnit.MINUTES.toMillis(6));
                    assertFalse(worker.isAlive(), "a worker did not finish within its deadline");
                }
                proxy.stopCutting();

                int tasks = workflows * tasksPerWorkflow;
                // The database itself, over a plain JDBC connection of its own (not the store, not
                // the proxy): exactly the inserted ids, each finished by its RESULT, changed twice.
                Map<Long, String> inDatabase = new HashMap<>();
                try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement();
                     ResultSet r = s.executeQuery("select id, state, finish_event_id, last_event_id, version,"
                             + " var_pool from task_instance")) {
                    while (r.next()) {
                        inDatabase.put(r.getLong(1), r.getString(2) + "/" + r.getString(3) + "/" + r.getString(4)
                                + "/" + r.getLong(5) + "/" + r.getString(6));
                    }
                }
                Map<Long, String> expectedInDatabase = new HashMap<>();
                for (TaskInstance row : rows) {
                    expectedInDatabase.put(row.id(), "SUCCESS/x" + row.id() + "/x" + row.id() + "/2/v" + row.id());
                }
                long lost = expectedInDatabase.entrySet().stream()
                        .filter(e -> !e.getValue().equals(inDatabase.get(e.getKey()))).count();
                assertEquals(tasks, inDatabase.size(), "rows read back from the database");
                assertEquals(expectedInDatabase.keySet(), inDatabase.keySet(), "exactly the inserted tasks");
                List<TaskInstance> stored;
                try (TaskInstanceStore direct = JdbcStores.open(JdbcStoreOptions.of(url))) {
                    stored = direct.findByWorkflows(rows.stream().map(TaskInstance::workflowInstanceId)
                            .distinct().toList()).values().stream().flatMap(List::stream).toList();
                }
                assertEquals(tasks, stored.size(), "every task read back through a store");
                for (TaskInstance row : stored) {
                    assertEquals(T, row.startTime(), "task " + row.id() + " started by its RUNNING");
                }

                // The workers' ledger: every event answered; Applied with the version its change made;
                // Duplicate only for an event sent again (its first attempt committed unseen); never
                // Stale (the workers send each task's events in order) nor Rejected.
                long applied = 0;
                long duplicates = 0;
                long stale = 0;
                long rejected = 0;
                List<String> wrongAnswers = new ArrayList<>();
                for (TaskInstance row : rows) {
                    for (int version = 1; version <= 2; version++) {
                        String eventId = (version == 1 ? "r" : "x") + row.id();
                        Acknowledgement answer = answers.get(eventId);
                        switch (answer) {
                            case null -> wrongAnswers.add(eventId + ": never answered");
                            case Acknowledgement.Applied a -> {
                                applied++;
                                if (a.task().id() != row.id() || a.task().version() != version) {
                                    wrongAnswers.add(eventId + ": applied as " + a.task());
                                }
                            }
                            case Acknowledgement.Duplicate d -> {
                                duplicates++;
                                if (attempts.get(eventId) < 2) {
                                    wrongAnswers.add(eventId + ": Duplicate on its first sending");
                                }
                            }
                            case Acknowledgement.Stale st -> {
                                stale++;
                                wrongAnswers.add(eventId + ": " + st);
                            }
                            case Acknowledgement.Rejected rj -> {
                                rejected++;
                                wrongAnswers.add(eventId + ": " + rj);
                            }
                            case Acknowledgement.Moved m -> wrongAnswers.add(eventId + ": " + m + " without cluster mode");
                        }
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
                System.out.printf("RELIABILITY db-faults: events=%d sent=%d resends=%d cuts=%d connections-cut=%d"
                                + " connection-attempts-refused=%d commits-then-failed=%d applied=%d"
                                + " duplicates-after-resend=%d stale=%d rejected=%d lost-or-wrong=%d told=%d repeats=%d"
                                + " untold=%d%n",
                        2L * tasks, sent.get(), resends.get(), proxy.cuts(), proxy.connectionsCut(),
                        proxy.attemptsRefused(), store.committedThenFailed(), applied, duplicates, stale, rejected,
                        lost, told.size(), told.size() - seen.size(), untold);
                assertEquals(0, lost, "every task must end SUCCESS, finished by its RESULT, changed exactly twice");
                assertEquals(List.of(), wrongAnswers, "answers the workers got");
                assertEquals(2L * tasks, applied + duplicates, "every event answered Applied or Duplicate");
                assertEquals(0, untold, "every committed change must reach the state sink");
                assertTrue(store.committedThenFailed() > 0, "unknown commit outcomes must have been injected");
                assertTrue(proxy.connectionsCut() > 5, "open connections must actually have been cut: "
                        + proxy.connectionsCut());
                assertTrue(proxy.attemptsRefused() > 0, "connection attempts must have been refused");

                // Healthy afterwards: a new event applies at once.
                store.insert(List.of(TaskInstance.submitted(999_999, 999_999, "after", T)));
                assertInstanceOf(Acknowledgement.Applied.class, engine.submit(
                        TaskEvent.dispatch("after", 999_999, 999_999, T, "w")).get(10, TimeUnit.SECONDS));
            }
        }
    }

    /**
     * What a worker does: resend until acknowledged; a failed future or a timeout means "resend".
     * Counts its sendings in {@code tries[0]}; gives up (fails the test) at {@code deadline}.
     */
    private static Acknowledgement sendUntilAcknowledged(TaskEventEngine engine, TaskEvent event, AtomicLong sent,
                                                         AtomicLong resends, int[] tries, long deadline) {
        for (int attempt = 0; ; attempt++) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("event " + event.eventId() + " not acknowledged after " + attempt + " sendings");
            }
            tries[0]++;
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
