package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.FeedEvent;
import dev.taskevents.api.spi.StateEventFeed;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The engine's record-only mode and the feed beside a sink (docs/plans/state-feed §4). */
class StateFeedEngineTest {
    private static final Instant T = Instant.parse("2026-05-06T07:08:09Z");
    private static final long WF = 7;

    private static List<TaskEvent> lifeOf(long task) {
        return List.of(TaskEvent.dispatch("d" + task, WF, task, T, "w1"),
                TaskEvent.builder("r" + task, TaskEventType.RUNNING, WF, task).eventTime(T).host("w1").startTime(T).build(),
                TaskEvent.builder("f" + task, TaskEventType.RESULT, WF, task).eventTime(T).state(TaskState.SUCCESS)
                        .startTime(T).endTime(T.plusSeconds(3)).build());
    }

    private static void run(TaskEventEngine engine, List<TaskEvent> events) throws Exception {
        for (TaskEvent e : events) {
            engine.submit(e).get(30, TimeUnit.SECONDS);
        }
    }

    private static List<String> feedIds(StateEventFeed feed) {
        return feed.read(0, 100).events().stream().map(e -> e.event().eventId() + "@" + e.event().version()).toList();
    }

    @Test
    void withoutASinkChangesGoToTheFeedOnlyAndDispatchNever() throws Exception {
        try (TaskInstanceStore store = Stores.open("memory:")) {
            store.insert(List.of(TaskInstance.submitted(1, WF, "a", T), TaskInstance.submitted(2, WF, "b", T)));
            try (TaskEventEngine engine = TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build()) {
                run(engine, lifeOf(1));
                run(engine, lifeOf(2));
            }
            StateEventFeed feed = store.stateFeed().orElseThrow();
            assertEquals(List.of("r1@2", "f1@3", "r2@2", "f2@3"), feedIds(feed));
            FeedEvent last = feed.read(3, 1).events().get(0);
            assertEquals(new StateEvent(WF, 2, TaskEventType.RESULT, TaskState.SUCCESS, "f2", 3,
                    store.find(2).orElseThrow().updatedAt()), last.event());
            assertTrue(store.pendingStateEvents(100).isEmpty(), "record-only wrote to the outbox");
        }
    }

    @Test
    void withASinkChangesGoToTheSinkAndTheFeed() throws Exception {
        ConcurrentLinkedQueue<StateEvent> told = new ConcurrentLinkedQueue<>();
        try (TaskInstanceStore store = Stores.open("memory:")) {
            store.insert(List.of(TaskInstance.submitted(1, WF, "a", T)));
            try (TaskEventEngine engine = TaskEventEngine.builder().store(store).stateSink(told::add)
                    .stateFeed(Duration.ofHours(1)).build()) {
                run(engine, lifeOf(1));
            }
            assertEquals(List.of("r1@2", "f1@3"), feedIds(store.stateFeed().orElseThrow()));
            assertEquals(List.of("r1", "f1"), told.stream().map(StateEvent::eventId).toList());
        }
    }

    @Test
    void withoutTheFeedNothingIsRecordedInIt() throws Exception {
        try (TaskInstanceStore store = Stores.open("memory:")) {
            store.insert(List.of(TaskInstance.submitted(1, WF, "a", T)));
            try (TaskEventEngine engine = TaskEventEngine.builder().store(store).build()) {
                run(engine, lifeOf(1));
            }
            assertEquals(0, store.stateFeed().orElseThrow().head());
        }
    }

    @Test
    void aStoreWithoutAFeedIsRefusedAtBuild() {
        try (TaskInstanceStore store = new ForwardingTaskInstanceStore() {
            @Override
            public Optional<StateEventFeed> stateFeed() {
                return Optional.empty();
            }
        }) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TaskEventEngine.builder().store(store).stateFeed(Duration.ofHours(1)).build());
            assertTrue(e.getMessage().startsWith("the state-event feed (stateFeed(PT1H)) needs a store that can keep"
                    + " one; "), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> TaskEventEngine.builder().stateFeed(Duration.ZERO));
    }
}
