package dev.taskevents.examples.host;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.TaskEventEngine;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Embeds the engine on the store its URL names: creates a workflow's task, applies a worker's
 * RUNNING and RESULT, resends the RESULT as a worker would after a lost answer, and checks what the
 * engine answered and what the workflow's state machine (the sink) was told. Exits 1 if any of it
 * is not as expected.
 *
 * <p>Usage: {@code HostApp STORE_URL}, e.g. {@code jdbc:h2:file:/tmp/host/db} or
 * {@code jdbc:postgresql://127.0.0.1:5432/test?user=postgres}.
 */
public final class HostApp {
    private HostApp() {
    }

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: HostApp STORE_URL");
            System.exit(2);
        }
        List<StateEvent> told = new CopyOnWriteArrayList<>();
        long workflow = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE / 100);
        long task = workflow * 10;
        try (TaskInstanceStore store = Stores.open(args[0]);
             TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(told::add).build()) {
            Instant now = Instant.now();
            store.insert(List.of(TaskInstance.submitted(task, workflow, "extract", now)));
            Acknowledgement running = engine.submit(TaskEvent.builder("r" + task, TaskEventType.RUNNING, workflow, task)
                    .eventTime(now).host("worker-1").startTime(now).build()).join();
            TaskEvent result = TaskEvent.builder("x" + task, TaskEventType.RESULT, workflow, task)
                    .eventTime(now).state(TaskState.SUCCESS).endTime(now).build();
            Acknowledgement finished = engine.submit(result).join();
            Acknowledgement resent = engine.submit(result).join();
            System.out.println("RUNNING: " + running);
            System.out.println("RESULT: " + finished);
            System.out.println("RESULT again: " + resent);
            System.out.println("told: " + told.stream().map(e -> e.eventType() + "@" + e.version()).toList());
            boolean ok = running instanceof Acknowledgement.Applied
                    && finished instanceof Acknowledgement.Applied f && f.task().state() == TaskState.SUCCESS
                    && resent instanceof Acknowledgement.Duplicate
                    && told.stream().map(StateEvent::eventType).toList().equals(
                            List.of(TaskEventType.RUNNING, TaskEventType.RESULT));
            // The runtime holds the driver of this store's database and no other.
            String database = args[0].startsWith("jdbc:postgresql:") ? "org.postgresql.jdbc"
                    : args[0].startsWith("jdbc:h2:") ? "com.h2database" : null;
            List<String> drivers = ModuleLayer.boot().modules().stream().map(Module::getName)
                    .filter(n -> n.equals("org.postgresql.jdbc") || n.equals("com.h2database")
                            || n.equals("org.mariadb.jdbc") || n.equals("mysql.connector.j"))
                    .sorted().toList();
            System.out.println("driver modules: " + drivers);
            if (!ok) {
                System.err.println("host-app: the engine did not answer as expected");
                System.exit(1);
            }
            if (database != null && !drivers.equals(List.of(database))) {
                System.err.println("host-app: the runtime should hold " + database + " alone, holds " + drivers);
                System.exit(1);
            }
            System.out.println("host-app: ok on " + store.getClass().getSimpleName());
        }
    }
}
