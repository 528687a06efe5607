package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.api.spi.TaskInstanceStore;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * A store that went back in time (a failover to a replica that had not received every commit) is
 * said so: the engine counts each row it finds behind a version it committed and logs a WARNING,
 * at once for the first and then at most once a minute with a count, and goes on from the stored
 * row.
 */
class LostCommitsTest {
    private static final Instant T = Instant.parse("2026-03-01T10:00:00Z");

    private final List<String> warnings = new CopyOnWriteArrayList<>();
    private final AtomicLong now = new AtomicLong();
    private final System.Logger log = new System.Logger() {
        @Override
        public String getName() {
            return "test";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
            warnings.add(level + " " + msg);
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            warnings.add(level + " " + format);
        }

        @Override
        public void log(Level level, Supplier<String> msgSupplier) {
            warnings.add(level + " " + msgSupplier.get());
        }
    };

    @Test
    void theFirstRowBehindIsLoggedAtOnceAndLaterOnesOnceAMinuteWithTheirCount() {
        LostCommits lost = new LostCommits(log, now::get);
        lost.check(1, 3, 3);
        lost.check(1, 4, 3);
        assertEquals(0, lost.count(), "a row at or past the known version is no finding");
        assertEquals(List.of(), warnings);

        lost.check(1, 1, 2);
        assertEquals(1, warnings.size());
        assertTrue(warnings.getFirst().startsWith("WARNING the store lost committed changes: task instance 1 is at"
                + " version 1 in the store, behind version 2 this engine read or committed."), warnings.getFirst());

        lost.check(2, 1, 3);
        lost.check(3, 0, 1);
        assertEquals(1, warnings.size(), "no second line within the minute");
        now.addAndGet(LostCommits.LOG_INTERVAL_NANOS);
        lost.check(4, 2, 3);
        assertEquals(2, warnings.size());
        assertTrue(warnings.get(1).contains("task instance 4 is at version 2 in the store, behind version 3"
                + " this engine read or committed (3 rows found so since the last such line)"), warnings.get(1));
        assertEquals(4, lost.count());
        lost.check(5, 0, 1);
        assertEquals(2, warnings.size(), "within the minute again");
        lost.logUnlogged();
        assertEquals(List.of("WARNING the store lost committed changes: 1 more rows were found behind a version this"
                + " engine read or committed since the last such line"), warnings.subList(2, warnings.size()));
        lost.logUnlogged();
        assertEquals(3, warnings.size(), "nothing left to log");
    }

    @Test
    void theEngineFindsARowBehindTheVersionItCommittedAndAppliesTheNextEventToTheStoredRow() throws Exception {
        // The primary, and a replica that received the task and its DISPATCH only.
        TaskInstanceStore primary = Stores.open("memory:");
        TaskInstanceStore replica = Stores.open("memory:");
        AtomicReference<TaskInstanceStore> serving = new AtomicReference<>(primary);
        TaskInstanceStore store = (TaskInstanceStore) Proxy.newProxyInstance(TaskInstanceStore.class.getClassLoader(),
                new Class<?>[] {TaskInstanceStore.class}, (proxy, method, args) -> {
                    try {
                        return method.invoke(serving.get(), args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        TaskEventEngine engine = TaskEventEngine.builder().store(store).clock(Clock.fixed(T, ZoneOffset.UTC)).build();
        try {
            primary.insert(List.of(TaskInstance.submitted(1, 7, "t", T)));
            replica.insert(List.of(TaskInstance.submitted(1, 7, "t", T)));
            assertInstanceOf(Acknowledgement.Applied.class, engine.submit(TaskEvent.builder("d1", TaskEventType.DISPATCH,
                    7, 1).eventTime(T).host("w1").build()).get(30, TimeUnit.SECONDS));
            replica.write(new WriteBatch(List.of(new RowUpdate(primary.find(1).orElseThrow(), 0, null))));
            assertInstanceOf(Acknowledgement.Applied.class, engine.submit(TaskEvent.builder("r1", TaskEventType.RUNNING,
                    7, 1).eventTime(T).host("w1").startTime(T).build()).get(30, TimeUnit.SECONDS));
            serving.set(replica); // the failover: the RUNNING (version 2) is lost

            Acknowledgement result = engine.submit(TaskEvent.builder("x1", TaskEventType.RESULT, 7, 1).eventTime(T)
                    .state(TaskState.SUCCESS).endTime(T.plusSeconds(1)).build()).get(30, TimeUnit.SECONDS);
            assertEquals(1, engine.lostCommits.count(), "the row found at version 1, behind the version 2 committed");
            Acknowledgement.Applied applied = assertInstanceOf(Acknowledgement.Applied.class, result);
            assertEquals(TaskState.SUCCESS, applied.task().state());
            assertEquals(2, applied.task().version(), "applied to the stored row");
        } finally {
            engine.close(Duration.ofSeconds(10));
            primary.close();
            replica.close();
        }
    }
}
