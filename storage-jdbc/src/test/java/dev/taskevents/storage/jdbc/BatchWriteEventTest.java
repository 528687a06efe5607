package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.RowUpdate;
import dev.taskevents.api.spi.StateEventLog;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.api.spi.WriteBatch;
import dev.taskevents.testkit.TempDirs;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/**
 * A batch write is one {@code taskevents.BatchWrite} JFR event while a recording enables it, with
 * its rows and the time of each of its statements.
 */
class BatchWriteEventTest {
    private static final Instant T = Instant.parse("2026-03-04T05:06:07Z");

    @Test
    void aRecordingShowsEachBatchWriteWithTheTimeOfItsStatements() throws Exception {
        Path file = TempDirs.create("batch-write-jfr").resolve("write.jfr");
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(TestDatabases.freshH2Url()))) {
            List<RowUpdate> updates = new ArrayList<>();
            for (long id = 1; id <= 5; id++) {
                TaskInstance row = TaskInstance.submitted(id, id, "t" + id, T);
                store.insert(List.of(row));
                TaskInstance running = row.toBuilder().state(TaskState.RUNNING).host("w").startTime(T)
                        .lastEventId("e" + id).version(1).updatedAt(T).build();
                updates.add(new RowUpdate(running, 0,
                        new StateEvent(id, id, TaskEventType.RUNNING, TaskState.RUNNING, "e" + id, 1, T)));
            }
            try (Recording recording = new Recording()) {
                recording.enable("taskevents.BatchWrite").withThreshold(Duration.ZERO);
                recording.start();
                store.write(new WriteBatch(updates).withRecordIn(Set.of(StateEventLog.FEED)));
                recording.stop();
                recording.dump(file);
            }
        }
        List<RecordedEvent> writes = RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getEventType().getName().equals("taskevents.BatchWrite")).toList();
        assertEquals(1, writes.size(), writes.toString());
        RecordedEvent write = writes.getFirst();
        assertEquals(5, write.getInt("rows"));
        assertEquals(5, write.getInt("applied"));
        for (String statement : List.of("lockingRead", "updates", "feed", "commit")) {
            assertTrue(write.getDuration(statement).toNanos() > 0, statement + " in " + write);
        }
        assertTrue(write.getDuration().compareTo(write.getDuration("updates")) > 0, "the event spans the whole write");
    }
}
