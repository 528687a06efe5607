package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.EngineStats;
import dev.taskevents.engine.TaskEventEngine;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine on a real database: 300 workflows of 8 tasks, each task sent DISPATCH, RUNNING,
 * RESULT and a resend of the RESULT, from 4 threads (each owning a quarter of the workflows, so
 * that every workflow's order is known): 9,600 events. The rows must end as the events dictate.
 */
class EngineOnJdbcTest {
    private static final Instant T = Instant.parse("2026-05-01T08:00:00.000001Z");

    @ParameterizedTest
    @ValueSource(strings = {"H2", "POSTGRES", "MARIADB"})
    void thousandsOfEventsOverHundredsOfWorkflowsEndAsTheEventsDictate(String database) throws Exception {
        String url = database.equals("H2") ? TestDatabases.freshH2Url()
                : TestDatabases.freshUrl(TestDatabases.Server.valueOf(database));
        int workflows = 300;
        int tasksPerWorkflow = 8;
        int threads = 4;
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            List<TaskInstance> rows = new ArrayList<>();
            for (int wf = 1; wf <= workflows; wf++) {
                for (int t = 0; t < tasksPerWorkflow; t++) {
                    rows.add(TaskInstance.submitted(taskId(wf, t), wf, "task-" + t, T));
                }
            }
            store.insert(rows);
            Map<Long, List<TaskState>> told = new ConcurrentHashMap<>();
            ConcurrentLinkedQueue<CompletableFuture<Acknowledgement>> acks = new ConcurrentLinkedQueue<>();
            EngineStats stats;
            try (TaskEventEngine engine = TaskEventEngine.builder().store(store)
                    .stateSink((StateEvent e) -> told.computeIfAbsent(e.taskInstanceId(), id -> new ArrayList<>())
                            .add(e.state()))
                    .build()) {
                List<Thread> senders = new ArrayList<>();
                for (int s = 0; s < threads; s++) {
                    int first = s;
                    senders.add(Thread.ofPlatform().start(() -> {
                        for (int wf = 1 + first; wf <= workflows; wf += threads) {
                            for (int t = 0; t < tasksPerWorkflow; t++) {
                                for (TaskEvent e : eventsFor(wf, t)) {
                                    acks.add(engine.submit(e));
                                }
                            }
                        }
                    }));
                }
                for (Thread sender : senders) {
                    sender.join();
                }
                for (CompletableFuture<Acknowledgement> ack : acks) {
                    ack.get(60, TimeUnit.SECONDS);
                }
                stats = engine.stats();
            }
            int tasks = workflows * tasksPerWorkflow;
            assertEquals(4L * tasks, acks.size());
            assertEquals(3L * tasks, stats.applied(), "DISPATCH, RUNNING, RESULT apply");
            assertEquals(tasks, stats.duplicates(), "the RESULT resend is a duplicate");
            assertEquals(0, stats.failed() + stats.rejected() + stats.stale());
            for (int wf = 1; wf <= workflows; wf++) {
                for (int t = 0; t < tasksPerWorkflow; t++) {
                    TaskInstance row = store.find(taskId(wf, t)).orElseThrow();
                    assertEquals(expected(wf, t, row.updatedAt()), row, "workflow " + wf + " task " + t);
                    assertEquals(List.of(TaskState.RUNNING, finalState(t)), told.get(row.id()));
                }
            }
        }
    }

    private static long taskId(int wf, int t) {
        return wf * 100L + t;
    }

    private static TaskState finalState(int t) {
        return t % 4 == 3 ? TaskState.FAILURE : TaskState.SUCCESS;
    }

    private static List<TaskEvent> eventsFor(int wf, int t) {
        long id = taskId(wf, t);
        Instant start = T.plus(t, ChronoUnit.MICROS);
        TaskEvent result = TaskEvent.builder("x" + id, TaskEventType.RESULT, wf, id).eventTime(start)
                .state(finalState(t)).endTime(start.plusSeconds(3)).varPool("{\"out\":\"" + id + "\"}").build();
        return List.of(
                TaskEvent.dispatch("d" + id, wf, id, start, "worker-" + wf % 5),
                TaskEvent.builder("r" + id, TaskEventType.RUNNING, wf, id).eventTime(start).host("worker-" + wf % 5)
                        .startTime(start).logPath("/logs/" + id).executePath("/exec/" + id).processId(1000 + t)
                        .appIds("app_" + id).build(),
                result,
                result);
    }

    /** The row the events dictate; {@code updatedAt} is the engine's clock, so it is taken as stored. */
    private static TaskInstance expected(int wf, int t, Instant updatedAt) {
        long id = taskId(wf, t);
        Instant start = T.plus(t, ChronoUnit.MICROS);
        return new TaskInstance(id, wf, "task-" + t, finalState(t), "worker-" + wf % 5, "/logs/" + id, "/exec/" + id,
                1000 + t, "app_" + id, start, start.plusSeconds(3), "{\"out\":\"" + id + "\"}", "x" + id, "x" + id, 3,
                updatedAt);
    }
}
