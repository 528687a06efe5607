package dev.taskevents.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.cli.serve.EventServer;
import dev.taskevents.cli.serve.ServerSettings;
import dev.taskevents.client.Ack;
import dev.taskevents.client.FeedCursor;
import dev.taskevents.client.FeedItem;
import dev.taskevents.client.FeedReader;
import dev.taskevents.client.TaskEventsClient;
import dev.taskevents.engine.TaskEventEngine;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java client example, kept here so that it compiles and runs with every build: a
 * worker sending events and a scheduler reading the feed from the cursor it stored, against serve
 * in this process (a memory store, a bearer token).
 */
@Timeout(60)
class ClientExampleTest {
    private static final String TOKEN = "example-token-0123456789abcdef";

    @TempDir
    Path dir;
    private TaskInstanceStore store;
    private TaskEventEngine engine;
    private EventServer server;
    private String serveUrl;
    private Path tokenFile;

    @BeforeEach
    void startServe() throws Exception {
        store = Stores.open("memory:");
        engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build();
        server = new EventServer(engine, store, ServerSettings.builder(new InetSocketAddress("127.0.0.1", 0))
                .tokens(List.of(TOKEN)).build());
        server.start();
        serveUrl = "http://127.0.0.1:" + server.address().getPort();
        tokenFile = Files.writeString(dir.resolve("token"), TOKEN + "\n");
    }

    @AfterEach
    void stopServe() {
        server.stop(Duration.ZERO);
        engine.close();
        store.close();
    }

    @Test
    void clientExample() throws Exception {
        List<StateEvent> told = new CopyOnWriteArrayList<>();
        Consumer<StateEvent> stateMachine = told::add;
        Path cursorFile = dir.resolve("scheduler.cursor");
        runExample(cursorFile, stateMachine, 42);
        assertEquals(List.of(TaskState.RUNNING, TaskState.SUCCESS), told.stream().map(StateEvent::state).toList());
        assertEquals(List.of(1L, 2L), told.stream().map(StateEvent::version).toList());
        assertEquals(List.of("w7-t42-running", "w7-t42-result"), told.stream().map(StateEvent::eventId).toList());
        String stored = Files.readString(cursorFile);
        assertTrue(stored.startsWith("te1."), stored);

        // The scheduler restarts: it resumes from the stored cursor and gets only what came after it.
        told.clear();
        runExample(cursorFile, stateMachine, 43);
        assertEquals(List.of("w7-t43-running", "w7-t43-result"), told.stream().map(StateEvent::eventId).toList());
    }

    private void runExample(Path cursorFile, Consumer<StateEvent> stateMachine, long taskId) throws Exception {
        // --- README example start ---
        try (TaskEventsClient client = TaskEventsClient.builder(URI.create(serveUrl))   // e.g. http://127.0.0.1:8080
                .token(tokenFile)                                    // its first line: a token serve accepts
                .build()) {
            // The scheduler: resume from its stored cursor, or on its first start take the feed's head
            // before it creates anything (changes after it are all read; none before).
            FeedCursor start = Files.exists(cursorFile) ? FeedCursor.parse(Files.readString(cursorFile))
                    : client.feedHead();
            client.createTasks(List.of(TaskInstance.submitted(taskId, 7, "extract", Instant.now())));

            // A worker: events are batched and resent (503, connection errors) until serve answers,
            // which it does after its commit; a resend of an applied event is answered Duplicate.
            Instant now = Instant.now();
            Ack running = client.send(TaskEvent.builder("w7-t" + taskId + "-running", TaskEventType.RUNNING, 7, taskId)
                    .eventTime(now).host("worker-3:1234").startTime(now).build()).join();
            Ack result = client.send(TaskEvent.builder("w7-t" + taskId + "-result", TaskEventType.RESULT, 7, taskId)
                    .eventTime(now).state(TaskState.SUCCESS).endTime(now).build()).join();
            System.out.println(running + " " + result);            // Applied[..., state=RUNNING, version=1] ...

            // The scheduler: every committed change at least once, in commit order. It drops repeats
            // by version and stores the cursor after each change it handled.
            Map<Long, Long> lastVersion = new HashMap<>();
            try (FeedReader feed = client.feed(start, 1_000, Duration.ofSeconds(30))) {
                while (feed.hasNext()) {                             // waits (long polls) for changes
                    FeedItem item = feed.next();
                    StateEvent change = item.event();
                    if (change.version() > lastVersion.getOrDefault(change.taskInstanceId(), 0L)) {
                        lastVersion.put(change.taskInstanceId(), change.version());
                        stateMachine.accept(change);                 // your workflow state machine
                    }
                    Files.writeString(cursorFile, item.cursor().toString());
                    if (change.state().isFinished()) {
                        break;                                       // (the example stops; a scheduler reads on)
                    }
                }
            }
        }
        // --- README example end ---
    }
}
