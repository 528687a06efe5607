package dev.taskevents.client;

import static dev.taskevents.client.Events.result;
import static dev.taskevents.client.Events.running;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskState;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Cluster mode's answers: 421 and MOVED name the shard's owner; the client resends there. */
@Timeout(60)
class RoutingTest {
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

    @Test
    void a421SendsTheEventToTheOwnerInItsHeaderAndTheWorkflowStaysThere() throws Exception {
        StubServe a = closeLater(StubServe.start());
        StubServe b = closeLater(StubServe.start());
        a.then(StubServe.misdirected(b.uri.toString(), 17));
        TaskEventsClient client = closeLater(TaskEventsClient.builder(a.uri).batch(10, Duration.ZERO)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).build());
        assertEquals(new Ack.Applied("w1-running", TaskState.RUNNING, 1),
                client.send(running("w1-running", 1, 11)).get(30, TimeUnit.SECONDS));
        assertEquals(new Ack.Applied("w1-result", TaskState.SUCCESS, 2),
                client.send(result("w1-result", 1, 11)).get(30, TimeUnit.SECONDS));
        assertEquals(List.of(List.of("w1-running")), a.postedBatches(), "a was asked once");
        assertEquals(List.of(List.of("w1-running"), List.of("w1-result")), b.postedBatches(), "the owner remembered");
        assertEquals(0, a.applyCount("w1-running"));
    }

    @Test
    void aMovedAnswerInsideA200SendsTheEventToItsOwnerAndWithTheShardCountRoutesTheWholeShard() throws Exception {
        StubServe a = closeLater(StubServe.start());
        StubServe b = closeLater(StubServe.start());
        int shards = 8;
        long w1 = 1;
        long sameShard = java.util.stream.LongStream.range(2, 10_000).filter(w -> Shards.of(w, shards) == Shards.of(w1, shards))
                .findFirst().orElseThrow();
        a.then(StubServe.movedInside200(b.uri.toString(), Shards.of(w1, shards)));
        TaskEventsClient client = closeLater(TaskEventsClient.builder(a.uri).shardCount(shards).batch(10, Duration.ZERO)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).build());
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), client.send(running("e1", w1, 11)).get(30, TimeUnit.SECONDS));
        assertEquals(new Ack.Applied("e2", TaskState.RUNNING, 1),
                client.send(running("e2", sameShard, 21)).get(30, TimeUnit.SECONDS));
        assertEquals(List.of(List.of("e1")), a.postedBatches());
        assertEquals(List.of(List.of("e1"), List.of("e2")), b.postedBatches(),
                "workflow " + sameShard + " of the same shard went to the owner at once");
    }

    @Test
    void anOwnerNobodyKnowsSendsTheEventToAnotherConfiguredNode() throws Exception {
        StubServe a = closeLater(StubServe.start());
        StubServe b = closeLater(StubServe.start());
        a.then(StubServe.misdirected(null, 17));
        TaskEventsClient client = closeLater(TaskEventsClient.builder(a.uri, b.uri).batch(10, Duration.ZERO)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).build());
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), client.send(running("e1", 1, 11)).get(30, TimeUnit.SECONDS));
        assertEquals(List.of(List.of("e1")), a.postedBatches());
        assertEquals(List.of(List.of("e1")), b.postedBatches());
    }

    @Test
    void aMovedAnswerWithoutOwnerInsideA200AlsoGoesToAnotherNode() throws Exception {
        StubServe a = closeLater(StubServe.start());
        StubServe b = closeLater(StubServe.start());
        a.then(StubServe.movedInside200(null, 3));
        TaskEventsClient client = closeLater(TaskEventsClient.builder(a.uri, b.uri).batch(10, Duration.ZERO)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(5)).build());
        assertEquals(new Ack.Applied("e1", TaskState.RUNNING, 1), client.send(running("e1", 1, 11)).get(30, TimeUnit.SECONDS));
        assertEquals(List.of(List.of("e1")), b.postedBatches());
    }
}
