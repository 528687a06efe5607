package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The README's embedding example, kept here so that it compiles and runs. */
class EmbeddingExampleTest {

    @Test
    void embeddingExample() throws Exception {
        List<StateEvent> toldStateMachine = new CopyOnWriteArrayList<>();
        // --- README example start ---
        try (TaskInstanceStore store = Stores.open("memory:");           // or "jdbc:postgresql://..."
             TaskEventEngine engine = TaskEventEngine.builder()
                     .store(store)
                     .stateSink(toldStateMachine::add)                   // your workflow state machine
                     .build()) {
            Instant now = Instant.now();
            store.insert(List.of(TaskInstance.submitted(42, 7, "extract", now)));   // the scheduler's task

            TaskEvent running = TaskEvent.builder("evt-1", TaskEventType.RUNNING, 7, 42)
                    .eventTime(now).host("worker-3:1234").startTime(now).build();
            Acknowledgement ack = engine.submit(running).join();         // completes after the commit

            switch (ack) {
                case Acknowledgement.Applied applied -> System.out.println("now " + applied.task().state());
                case Acknowledgement.Duplicate duplicate -> System.out.println("resend, already applied");
                case Acknowledgement.Stale stale -> System.out.println("task moved on: " + stale.currentState());
                case Acknowledgement.Rejected rejected -> System.out.println("rejected: " + rejected.message());
                case Acknowledgement.Moved moved -> System.out.println("resend to " + moved.ownerAddress()); // cluster mode
            }
        }
        // --- README example end ---
        assertEquals(1, toldStateMachine.size());
        assertEquals(TaskState.RUNNING, toldStateMachine.getFirst().state());
    }
}
