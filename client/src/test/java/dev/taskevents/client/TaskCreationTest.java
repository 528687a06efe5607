package dev.taskevents.client;

import static dev.taskevents.client.Events.T;
import static dev.taskevents.client.Events.running;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link TaskEventsClient#createTasks}: what is resent, when a 409 means "created by an earlier try
 * whose answer was lost" and when it means "someone else's ids"; {@link TaskEventsClient#feedHead};
 * {@link TaskEventsClient#resends}.
 */
@Timeout(60)
class TaskCreationTest {
    private final List<AutoCloseable> closing = new java.util.ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        closing.add(c);
        return c;
    }

    private TaskEventsClient client(URI node) {
        return closeLater(TaskEventsClient.builder(node).backoff(Duration.ofMillis(1), Duration.ofMillis(5))
                .closeTimeout(Duration.ZERO).build());
    }

    private static List<TaskInstance> tasks(long workflow, long... ids) {
        return java.util.Arrays.stream(ids).mapToObj(id -> TaskInstance.submitted(id, workflow, "task-" + id, T)).toList();
    }

    @Test
    void tasksAreCreatedWithTheirIdsWorkflowAndName() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        client(stub.uri).createTasks(tasks(7, 71, 72));
        assertEquals(Map.of("id", 71L, "workflowInstanceId", 7L, "name", "task-71"), stub.task(71));
        assertEquals(Map.of("id", 72L, "workflowInstanceId", 7L, "name", "task-72"), stub.task(72));
        assertEquals(1, stub.requestsTo("POST", "/v1/task-instances").size());
    }

    @Test
    void a503IsResentAndTheTasksAreCreatedOnce() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.thenTasks(StubServe.status(503, "0", "{\"error\":\"the store is unavailable (error 1f2e3d4c); retry\"}"));
        client(stub.uri).createTasks(tasks(7, 71));
        assertEquals(2, stub.requestsTo("POST", "/v1/task-instances").size());
        assertEquals("task-71", stub.task(71).get("name"));
    }

    @Test
    void a409AfterATryWhoseAnswerWasLostIsDoneWhenTheTasksReadBackAsSent() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.thenTasks(StubServe.createThenDrop()); // created, answer lost: the resend gets 409
        client(stub.uri).createTasks(tasks(7, 71, 72));
        assertEquals(2, stub.requestsTo("POST", "/v1/task-instances").size());
        assertEquals(1, stub.requestsTo("GET", "/v1/task-instances/71").size(), "read back");
        assertEquals(1, stub.requestsTo("GET", "/v1/task-instances/72").size(), "read back");
    }

    @Test
    void a409AfterALostAnswerIsRefusedWhenATaskIsSomeoneElses() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.createTasks(List.of(Map.of("id", 72L, "workflowInstanceId", 8L, "name", "other")));
        stub.thenTasks(StubServe.drop()); // nothing created, no answer: the resend's 409 is about task 72 of workflow 8
        TaskCreationRefusedException refused = assertThrows(TaskCreationRefusedException.class,
                () -> client(stub.uri).createTasks(tasks(7, 71, 72)));
        assertEquals(409, refused.status());
        assertEquals(List.of(71L, 72L), refused.ids());
        assertTrue(refused.getMessage().contains("exist already") && refused.getMessage().contains("give new ids"),
                refused.getMessage());
        assertEquals(null, stub.task(71), "nothing of the call was created");
    }

    @Test
    void a409AfterALostAnswerIsRefusedWhenATaskIsMissing() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.createTasks(List.of(Map.of("id", 72L, "workflowInstanceId", 7L, "name", "task-72")));
        stub.thenTasks(StubServe.drop()); // 72 exists as asked, 71 does not: the earlier try created nothing
        TaskCreationRefusedException refused = assertThrows(TaskCreationRefusedException.class,
                () -> client(stub.uri).createTasks(tasks(7, 71, 72)));
        assertEquals(409, refused.status());
    }

    @Test
    void a409ToTheFirstTryIsRefusedWithoutReadingBack() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.createTasks(List.of(Map.of("id", 71L, "workflowInstanceId", 7L, "name", "task-71")));
        TaskCreationRefusedException refused = assertThrows(TaskCreationRefusedException.class,
                () -> client(stub.uri).createTasks(tasks(7, 71)));
        assertEquals(409, refused.status());
        assertTrue(stub.requestsTo("GET", "/v1/task-instances/71").isEmpty(), "not read back: no try was lost");
    }

    @Test
    void a400IsFinalAndNamesTheServersMessage() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.thenTasks(StubServe.status(400, null, "{\"error\":\"task instance 0: name is missing\"}"));
        TaskCreationRefusedException refused = assertThrows(TaskCreationRefusedException.class,
                () -> client(stub.uri).createTasks(tasks(7, 71)));
        assertEquals(400, refused.status());
        assertTrue(refused.getMessage().contains("name is missing"), refused.getMessage());
        assertEquals(1, stub.requestsTo("POST", "/v1/task-instances").size());
    }

    @Test
    void aWrongTokenSaysSo() throws Exception {
        StubServe stub = closeLater(StubServe.start(0, "the-right-token-0123"));
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token("a-wrong-token-456789").build());
        UnauthorizedException e = assertThrows(UnauthorizedException.class, () -> client.createTasks(tasks(7, 71)));
        assertEquals(401, e.status());
    }

    @Test
    void tasksThatServeWouldNotCreateAsGivenAreRefusedBeforeSending() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        TaskEventsClient client = client(stub.uri);
        TaskInstance s = tasks(7, 71).getFirst();
        TaskInstance running = new TaskInstance(s.id(), s.workflowInstanceId(), s.name(), TaskState.RUNNING, s.host(),
                s.logPath(), s.executePath(), s.processId(), s.appIds(), T, null, null, null, "e1", 1, T);
        IllegalArgumentException notSubmitted = assertThrows(IllegalArgumentException.class,
                () -> client.createTasks(List.of(running)));
        assertTrue(notSubmitted.getMessage().contains("71 is RUNNING"), notSubmitted.getMessage());
        assertThrows(IllegalArgumentException.class, () -> client.createTasks(tasks(7, 71, 71)));
        assertThrows(IllegalArgumentException.class, () -> client.createTasks(List.of()));
        assertTrue(stub.requests.isEmpty());
    }

    @Test
    void theFeedHeadIsWhereTheFeedStoodAndAReaderFromItGetsOnlyLaterChanges() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.publish(7, 71, "before-1", 1);
        stub.publish(7, 71, "before-2", 2);
        TaskEventsClient client = client(stub.uri);
        FeedCursor head = client.feedHead();
        assertEquals("c2", head.toString());
        stub.publish(7, 72, "after-1", 1);
        FeedReader feed = closeLater(client.feed(head, 10, Duration.ZERO));
        assertTrue(feed.hasNext());
        assertEquals("after-1", feed.next().event().eventId());
    }

    @Test
    void theFeedHeadIsAskedAgainWhenAChangeCameBetweenTheServersReads() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.publish(7, 71, "e1", 1);
        stub.publish(7, 71, "e2", 2);
        // The first answer holds a change after "latest": its cursor is past a change the reader must get.
        stub.thenFeed(StubServe.status(200, null, "{\"events\":[{\"cursor\":\"c2\",\"workflowInstanceId\":7,"
                + "\"taskInstanceId\":71,\"eventType\":\"RESULT\",\"state\":\"SUCCESS\",\"eventId\":\"e2\",\"version\":2,"
                + "\"committedAt\":\"2026-11-27T09:00:00.123456Z\"}],\"next\":\"c2\",\"behind\":0}"));
        assertEquals("c2", client(stub.uri).feedHead().toString());
        assertEquals(2, stub.feedRequests().size());
        assertTrue(stub.feedRequests().stream().allMatch(r -> r.query().contains("after=latest")
                && r.query().contains("wait=0")), stub.feedRequests().toString());
    }

    @Test
    void resendsCountsTheTriesWithoutAnAnswer() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.then(StubServe.status(503, "0", "{\"error\":\"the engine is full; retry\"}"));
        stub.then(StubServe.applyThenDrop());
        TaskEventsClient client = client(stub.uri);
        assertEquals(0, client.resends());
        Ack ack = client.send(running("e1", 7, 71)).get(30, TimeUnit.SECONDS);
        assertEquals(new Ack.Duplicate("e1", TaskState.RUNNING), ack, "applied by the dropped try");
        assertEquals(2, client.resends());
        assertFalse(stub.postedBatches().isEmpty());
    }

    @Test
    void a409ToTheFirstSentTryIsRefusedEvenAfterATokenSupplierFailureThatSentNothing() throws Exception {
        StubServe stub = closeLater(StubServe.start());
        stub.createTasks(List.of(Map.of("id", 71L, "workflowInstanceId", 7L, "name", "task-71")));
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        TaskEventsClient client = closeLater(TaskEventsClient.builder(stub.uri).token(() -> {
            if (calls.getAndIncrement() == 0) {
                throw new IllegalStateException("token file being rotated");
            }
            return null;
        }).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).closeTimeout(Duration.ZERO).build());
        TaskCreationRefusedException refused = assertThrows(TaskCreationRefusedException.class,
                () -> client.createTasks(tasks(7, 71)),
                "the try without a token sent nothing, so the 409 answers the first request sent: someone else's ids");
        assertEquals(409, refused.status());
        assertEquals(1, stub.requestsTo("POST", "/v1/task-instances").size());
        assertTrue(stub.requestsTo("GET", "/v1/task-instances/71").isEmpty(), "not read back: no try was lost");
    }
}
