package dev.taskevents.engine;

import static dev.taskevents.engine.ClusterFixtures.LEASE;
import static dev.taskevents.engine.ClusterFixtures.T;
import static dev.taskevents.engine.ClusterFixtures.dispatch;
import static dev.taskevents.engine.ClusterFixtures.member;
import static dev.taskevents.engine.ClusterFixtures.result;
import static dev.taskevents.engine.ClusterFixtures.running;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.testkit.Await;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode: a {@code Moved} answer never overtakes an earlier accepted event of
 * the same workflow. An event of a shard without tenure here is answered at once only if nothing
 * of its workflow is queued or running; otherwise it is answered Moved in turn. Else a client
 * that follows the first Moved it gets would resend the LATER event to the new owner first, and
 * the new owner would apply the workflow's events out of their submission order (here: the
 * RESULT before the RUNNING, which would then be Stale, and the sink would never hear of RUNNING).
 */
class ClusterAnswerOrderTest {

    private final AtomicLong nanos = new AtomicLong();
    private TaskEventEngine a;
    private TaskEventEngine b;
    private ClusterTestStore store;

    @AfterEach
    void tearDown() {
        if (a != null) {
            a.close(Duration.ofSeconds(10));
        }
        if (b != null) {
            b.close(Duration.ofSeconds(10));
        }
        if (store != null) {
            store.close();
        }
    }

    private TaskEventEngine node(String name, ConcurrentLinkedQueue<String> told) {
        return TaskEventEngine.builder().store(store).stateSink(e -> told.add(e.eventId()))
                .cluster(ClusterSettings.builder().nodeName(name).advertisedAddress("http://" + name).lease(LEASE)
                        .renewInterval(Duration.ofSeconds(2)).drainTimeout(Duration.ofSeconds(30)).manualRounds()
                        .nanoClock(nanos::get).build())
                .clock(Clock.fixed(T, ZoneOffset.UTC)).build();
    }

    @Test
    void aMovedAnswerDoesNotOvertakeAnEarlierAcceptedEventOfTheSameWorkflow() throws Exception {
        store = new ClusterTestStore(1);
        ConcurrentLinkedQueue<String> toldA = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<String> toldB = new ConcurrentLinkedQueue<>();
        a = node("a", toldA);
        member(a).round();
        long wf = 11;
        long task = 501;
        store.insert(List.of(TaskInstance.submitted(task, wf, "t", T)));

        // e0 (DISPATCH) is in flight at a, its batch waiting for a connection (no lock held);
        // e1 (RUNNING) of the same workflow is accepted behind it.
        store.holdBeforeFenceIf = batch -> true;
        CompletableFuture<Acknowledgement> e0 = a.submit(dispatch("e0", wf, task));
        assertTrue(store.heldWriteEntered.await(30, TimeUnit.SECONDS));
        CompletableFuture<Acknowledgement> e1 = a.submit(running("e1", wf, task));
        ConcurrentLinkedQueue<String> answered = new ConcurrentLinkedQueue<>();
        e0.thenRun(() -> answered.add("e0"));
        e1.thenRun(() -> answered.add("e1"));

        // a's lease runs out by the store's clock; b takes the shard; a's round learns it.
        store.advance(LEASE.plusSeconds(1));
        b = node("b", toldB);
        member(b).round();
        assertEquals(2, store.epoch(0));
        member(a).round();

        // The worker sends the workflow's next event, e2 (RESULT), to a as well.
        CompletableFuture<Acknowledgement> e2 = a.submit(result("e2", wf, task));
        e2.thenRun(() -> answered.add("e2"));
        boolean overtook = e2.isDone() && !e1.isDone();
        Acknowledgement e2Answer = e2.isDone() ? e2.join() : null;

        // A client following Moved sends e2 to b now; e0 and e1 get their Moved later.
        Acknowledgement e2AtB = null;
        if (overtook) {
            e2AtB = b.submit(result("e2", wf, task)).get(30, TimeUnit.SECONDS);
        }
        store.releaseHeld();
        Acknowledgement e0Answer = e0.get(30, TimeUnit.SECONDS);
        Acknowledgement e1Answer = e1.get(30, TimeUnit.SECONDS);
        assertInstanceOf(Acknowledgement.Moved.class, e0Answer);
        assertInstanceOf(Acknowledgement.Moved.class, e1Answer);
        Acknowledgement e0AtB = b.submit(dispatch("e0", wf, task)).get(30, TimeUnit.SECONDS);
        Acknowledgement e1AtB = b.submit(running("e1", wf, task)).get(30, TimeUnit.SECONDS);
        Await.until(() -> answered.size() == 3);

        assertFalse(overtook, "a answered e2 " + e2Answer + " while e1, accepted earlier for the same workflow, was"
                + " still unanswered (answers in order " + List.copyOf(answered) + "). Following Moved, the client"
                + " got at b: e2 " + e2AtB + ", then e0 " + e0AtB + ", e1 " + e1AtB + "; b's sink heard "
                + List.copyOf(toldB) + " and the row is " + store.find(task).orElseThrow().state());
    }
}
