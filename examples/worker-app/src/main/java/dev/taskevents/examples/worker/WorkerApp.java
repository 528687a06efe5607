package dev.taskevents.examples.worker;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.client.Ack;
import dev.taskevents.client.FeedCursor;
import dev.taskevents.client.FeedItem;
import dev.taskevents.client.FeedReader;
import dev.taskevents.client.TaskEventsClient;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Against a running {@code taskevents serve}: the scheduler takes the feed's head and creates a
 * task; the worker sends its RUNNING and RESULT (the client batches and resends until serve
 * answers after its commit); the scheduler then reads both changes from the feed. Exits 1 if any
 * of it is not as expected.
 *
 * <p>Usage: {@code WorkerApp SERVE_URL}, e.g. {@code http://127.0.0.1:8080}.
 */
public final class WorkerApp {
    private WorkerApp() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: WorkerApp SERVE_URL");
            System.exit(2);
        }
        long workflow = ThreadLocalRandom.current().nextLong(1, Long.MAX_VALUE / 100);
        long task = workflow * 10;
        try (TaskEventsClient client = TaskEventsClient.builder(URI.create(args[0]))
                .giveUpAfter(Duration.ofSeconds(30)).build()) {
            FeedCursor start = client.feedHead();
            client.createTasks(List.of(TaskInstance.submitted(task, workflow, "extract", Instant.now())));

            Instant now = Instant.now();
            Ack running = client.send(TaskEvent.builder("r" + task, TaskEventType.RUNNING, workflow, task)
                    .eventTime(now).host("worker-1").startTime(now).build()).join();
            Ack result = client.send(TaskEvent.builder("x" + task, TaskEventType.RESULT, workflow, task)
                    .eventTime(now).state(TaskState.SUCCESS).endTime(now).build()).join();
            System.out.println("RUNNING: " + running);
            System.out.println("RESULT: " + result);

            List<String> changes = new ArrayList<>();
            try (FeedReader feed = client.feed(start, 100, Duration.ofSeconds(5))) {
                while (feed.hasNext()) {
                    FeedItem item = feed.next();
                    StateEvent change = item.event();
                    if (change.taskInstanceId() == task) {
                        changes.add(change.eventType() + "@" + change.version());
                        if (change.state().isFinished()) {
                            break;
                        }
                    }
                }
            }
            System.out.println("feed: " + changes);
            if (!changes.equals(List.of("RUNNING@1", "RESULT@2"))) {
                System.err.println("worker-app: the feed did not hold the task's two changes in order");
                System.exit(1);
            }
            System.out.println("worker-app: ok");
        }
    }
}
