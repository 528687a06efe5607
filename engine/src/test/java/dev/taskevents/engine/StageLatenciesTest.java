package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.Stores;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.engine.StageLatencies.Stage;
import dev.taskevents.engine.timing.StageTimer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Every applied event is timed in every stage once, and its stages fit inside its total. */
class StageLatenciesTest {
    private static final int EVENTS = 200;

    @Test
    void eachEventIsTimedOnceInEachStageAndTheStagesFitInTheTotal() throws Exception {
        try (TaskInstanceStore store = Stores.open("memory:");
             TaskEventEngine engine = TaskEventEngine.builder().store(store).build()) {
            List<CompletableFuture<Acknowledgement>> acks = new ArrayList<>();
            for (int i = 1; i <= EVENTS; i++) {
                store.insert(List.of(TaskInstance.submitted(i, i % 20 + 1, "t" + i, Instant.EPOCH)));
                acks.add(engine.submit(ClusterFixtures.running("e" + i, i % 20 + 1, i)));
            }
            for (CompletableFuture<Acknowledgement> ack : acks) {
                assertTrue(ack.get() instanceof Acknowledgement.Applied, ack.get().toString());
            }
            StageLatencies latencies = engine.stageLatencies();
            for (Stage stage : Stage.values()) {
                assertEquals(EVENTS, latencies.of(stage).count(), stage + " is timed once per event");
            }
            long parts = Arrays.stream(Stage.values()).filter(s -> s != Stage.TOTAL)
                    .mapToLong(s -> latencies.of(s).sumNanos()).sum();
            assertTrue(parts <= latencies.of(Stage.TOTAL).sumNanos(), "the stages of an event follow one another within"
                    + " its total: " + parts + " > " + latencies.of(Stage.TOTAL).sumNanos());
        }
    }

    @Test
    void aDurationFallsInTheFirstBucketWhoseBoundHoldsIt() {
        StageTimer timer = new StageTimer();
        timer.record(Stage.QUEUED, 100_000); // 0.1 ms: the first bound, inclusive
        timer.record(Stage.QUEUED, 100_001);
        timer.record(Stage.QUEUED, 60_000_000_000L, 3); // a minute, three rows: above every bound
        timer.record(Stage.QUEUED, -5); // a clock step back counts as 0
        StageLatencies.Histogram queued = timer.snapshot().of(Stage.QUEUED);
        assertEquals(2, queued.counts().get(0));
        assertEquals(1, queued.counts().get(1));
        assertEquals(3, queued.counts().get(StageLatencies.BOUNDS_SECONDS.size()));
        assertEquals(6, queued.count());
        assertEquals(100_000 + 100_001 + 180_000_000_000L, queued.sumNanos());
        assertEquals(0, timer.snapshot().of(Stage.TOTAL).count());
        assertThrows(IllegalArgumentException.class, () -> new StageLatencies.Histogram(List.of(1L), 0));
    }
}
