package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * When a key's drain is scheduled (implementation note 3): once when the key becomes busy, again
 * only after {@code batchSize} tasks or when an async task's stage completes, and only with a task
 * ahead of it. A drain scheduled for a key with nothing queued is a wasted wake-up, and after
 * close a refused one is logged as a stalled key. The drains run on the test's thread, from a
 * queue, so the test sees every one that was scheduled.
 */
class DrainSchedulingTest {
    private final ArrayDeque<Runnable> scheduled = new ArrayDeque<>();

    private KeyedExecutor<String> executor() {
        return KeyedExecutor.<String>builder().batchSize(1).drainExecutor(scheduled::add).build();
    }

    /** Runs scheduled drains until none is left; returns how many ran. */
    private int runDrains() {
        int n = 0;
        for (Runnable drain; (drain = scheduled.poll()) != null; n++) {
            drain.run();
        }
        return n;
    }

    @Test
    void aKeyIsDrainedOnceForEachBatchAndNotAgainWhenItsQueueIsEmpty() {
        KeyedExecutor<String> executor = executor();
        List<Integer> ran = new ArrayList<>();
        executor.execute("k", () -> ran.add(1));
        executor.execute("k", () -> ran.add(2));
        assertEquals(1, scheduled.size(), "one drain for a key that became busy");
        // batchSize 1: the first drain runs one task and hands over to a second, which runs the other.
        assertEquals(2, runDrains());
        assertEquals(List.of(1, 2), ran);
        assertEquals(new KeyedExecutor.Stats(0, 0, 2, 0), executor.stats());
    }

    @Test
    void aCompletedStageResumesTheKeyOnlyIfATaskIsWaiting() {
        KeyedExecutor<String> executor = executor();
        CompletableFuture<Void> first = new CompletableFuture<>();
        executor.executeAsync("k", () -> first);
        assertEquals(1, runDrains());
        first.complete(null);
        assertEquals(0, scheduled.size(), "nothing was queued behind the stage: no drain");
        assertEquals(new KeyedExecutor.Stats(0, 0, 1, 0), executor.stats());

        CompletableFuture<Void> second = new CompletableFuture<>();
        List<String> ran = new ArrayList<>();
        executor.executeAsync("k", () -> second);
        executor.execute("k", () -> ran.add("after"));
        assertEquals(1, runDrains());
        second.complete(null);
        assertEquals(1, runDrains(), "the stage's completion resumes the key once");
        assertEquals(List.of("after"), ran);
        assertEquals(new KeyedExecutor.Stats(0, 0, 3, 0), executor.stats());
    }
}
