package dev.taskevents.client;

import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import java.time.Instant;

/** Events for the tests. */
final class Events {
    static final Instant T = Instant.parse("2026-11-27T09:00:00Z");

    private Events() {
    }

    static TaskEvent running(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.RUNNING, workflow, task).eventTime(T).startTime(T).host("10.0.0.7:1234")
                .build();
    }

    static TaskEvent result(String id, long workflow, long task) {
        return TaskEvent.builder(id, TaskEventType.RESULT, workflow, task).state(TaskState.SUCCESS).eventTime(T)
                .startTime(T).endTime(T.plusSeconds(1)).varPool("{\"out\":\"ü \\\"q\\\" \\n\"}").build();
    }
}
