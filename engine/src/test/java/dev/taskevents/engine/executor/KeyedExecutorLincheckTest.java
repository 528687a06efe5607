package dev.taskevents.engine.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import kotlin.Unit;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.lincheck.datastructures.DSLScenarioBuilder;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.ThreadIdGen;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Model checking with Lincheck: the interleavings (within Lincheck's bounds) of submitters, drains
 * and close() on small scenarios.
 *
 * <p>The drains run on the test's own threads through the {@code drainExecutor} seam: a scheduled
 * drain goes to a queue and the {@link #runDrain} operation runs the oldest one, so Lincheck
 * switches threads inside drains as inside any operation. {@code batchSize} 1: a drain runs one
 * task, then schedules itself again if its key has more. Drains run in one non-parallel group (a
 * drain taken from the queue is out of it until it ends; two drains never share a key anyway, note
 * 3), against concurrent submitters and close.
 *
 * <p>Two checks. Lincheck's linearizability check against {@link Spec}: a submit is accepted
 * exactly when it comes before close. close is not atomic (it stops intake, then drains may still
 * take tasks until it abandons the queues), so what ran and what close returned is checked after
 * each invocation ({@link #perKeyQueueOrder}) against the sequential specification of a key's
 * queue: for each key, the tasks that ran, in the order they ran, followed by the tasks close
 * returned, in its order, are the key's accepted tasks in an order that keeps each thread's
 * submission order. That is per-key FIFO and "close returns a per-key suffix" (the old
 * [X1, X3]-while-X2-ran fails it), and every accepted task ran or was returned, exactly once.
 *
 * <p>Runs on the class path in its own surefire execution (engine/pom.xml): Lincheck has no module
 * descriptor and instruments the classes under test with a Java agent.
 */
public class KeyedExecutorLincheckTest {
    /**
     * One key: per-key order and close's suffix are about one key's queue, and with every task on
     * it the scenarios Lincheck generates reach the racing shapes (several tasks queued, a drain
     * and close in parallel) within a small budget; many keys are the stress test's part.
     */
    private static final int KEY = 0;
    private static final int MAX_THREADS = 8;
    private static final int MAX_RANKS = 64;

    private final ConcurrentLinkedQueue<Runnable> scheduled = new ConcurrentLinkedQueue<>();
    private final KeyedExecutor<Integer> executor = KeyedExecutor.<Integer>builder().batchSize(1).maxQueued(100)
            .submitTimeout(Duration.ZERO).drainExecutor(scheduled::add).build();
    /** Per thread, how many tasks it submitted: written only by that thread. */
    private final int[] submittedBy = new int[MAX_THREADS];
    private final ConcurrentLinkedQueue<Task> accepted = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Task> ran = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Task> returnedByClose = new ConcurrentLinkedQueue<>();

    /** A task: its key, its submitting thread and its rank among that thread's submits. */
    private final class Task implements Runnable {
        final int key;
        final int thread;
        final int rank;

        Task(int key, int thread, int rank) {
            this.key = key;
            this.thread = thread;
            this.rank = rank;
        }

        @Override
        public void run() {
            ran.add(this);
        }

        @Override
        public String toString() {
            return "k" + key + ":t" + thread + "#" + rank;
        }
    }

    @Operation
    public boolean submit(@Param(gen = ThreadIdGen.class) int thread) {
        Task task = new Task(KEY, thread, submittedBy[thread]++);
        try {
            executor.execute(KEY, task);
        } catch (RejectedExecutionException closed) {
            return false;
        }
        accepted.add(task);
        return true;
    }

    @Operation(nonParallelGroup = "drains")
    public void runDrain() {
        Runnable drain = scheduled.poll();
        if (drain != null) {
            drain.run();
        }
    }

    @Operation(runOnce = true)
    public void close() {
        for (KeyedExecutor.PendingTask<Integer> pending : executor.close(Duration.ZERO)) {
            returnedByClose.add((Task) pending.task());
        }
    }

    /** After each invocation: run what is still scheduled, then check each key's queue. */
    @Validate
    public void perKeyQueueOrder() {
        for (Runnable drain; (drain = scheduled.poll()) != null; ) {
            drain.run();
        }
        // By (thread, rank), not by hash: Lincheck makes identity hash codes collide.
        int[][] seen = new int[MAX_THREADS][MAX_RANKS];
        for (int key = KEY; key <= KEY; key++) {
            List<Task> queue = new ArrayList<>();
            for (Task t : ran) {
                if (t.key == key) {
                    queue.add(t);
                }
            }
            for (Task t : returnedByClose) {
                if (t.key == key) {
                    queue.add(t);
                }
            }
            int[] lastRank = new int[MAX_THREADS];
            java.util.Arrays.fill(lastRank, -1);
            for (Task t : queue) {
                if (seen[t.thread][t.rank]++ != 0) {
                    throw new AssertionError("task " + t + " ran or was returned twice: ran " + ran + ", close returned "
                            + returnedByClose);
                }
                if (t.rank < lastRank[t.thread]) {
                    throw new AssertionError("key " + key + " out of queue order (ran, then close returned): " + queue);
                }
                lastRank[t.thread] = t.rank;
            }
        }
        for (Task t : accepted) {
            seen[t.thread][t.rank]--;
        }
        for (int[] thread : seen) {
            for (int count : thread) {
                if (count != 0) {
                    throw new AssertionError("accepted " + accepted + " but ran " + ran + " and close returned "
                            + returnedByClose);
                }
            }
        }
    }

    @Test
    void modelCheckingAgainstTheSequentialSpecification() {
        new ModelCheckingOptions()
                .iterations(Integer.getInteger("taskevents.lincheck.iterations", 20))
                .invocationsPerIteration(Integer.getInteger("taskevents.lincheck.invocations", 500))
                .threads(3)
                .actorsPerThread(3)
                .actorsBefore(3)
                .actorsAfter(1)
                .sequentialSpecification(Spec.class)
                .addCustomScenario(threeQueuedThenADrainRacingClose())
                .check(KeyedExecutorLincheckTest.class);
    }

    /**
     * Close racing a drain, explored on every run: X1, X2, X3 queued, then a drain, close and a
     * submitter in parallel (random scenarios reach it rarely). The interleaving that would break
     * per-key order needs three switches at exact points; KeyedExecutorTest's
     * closeReturnsASuffixOfEachKeysQueueWhenItRacesWithADrain forces it step by step.
     */
    private static ExecutionScenario threeQueuedThenADrainRacingClose() {
        try {
            Method submit = KeyedExecutorLincheckTest.class.getMethod("submit", int.class);
            Method runDrain = KeyedExecutorLincheckTest.class.getMethod("runDrain");
            Method close = KeyedExecutorLincheckTest.class.getMethod("close");
            DSLScenarioBuilder builder = new DSLScenarioBuilder();
            builder.initial(thread -> {
                for (int i = 0; i < 3; i++) {
                    thread.add(new Actor(submit, List.of(0)));
                }
                return Unit.INSTANCE;
            });
            builder.parallel(parallel -> {
                parallel.thread(thread -> thread.add(new Actor(runDrain, List.of())) ? Unit.INSTANCE : Unit.INSTANCE);
                parallel.thread(thread -> thread.add(new Actor(close, List.of())) ? Unit.INSTANCE : Unit.INSTANCE);
                parallel.thread(thread -> thread.add(new Actor(submit, List.of(2))) ? Unit.INSTANCE : Unit.INSTANCE);
                return Unit.INSTANCE;
            });
            return builder.buildScenario();
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The operations' results, sequentially: a submit is accepted if and only if close has not
     * been called. (Drains and close return nothing; see the class comment for what is checked of
     * them.)
     */
    public static final class Spec {
        private boolean closed;

        public boolean submit(int thread) {
            return !closed;
        }

        public void runDrain() {}

        public void close() {
            closed = true;
        }
    }

    /** The queue check itself must fail on close's old answer [X1, X3] while X2 ran. */
    @Test
    void theQueueCheckRejectsAReturnedTaskWhoseSuccessorRan() {
        KeyedExecutorLincheckTest state = new KeyedExecutorLincheckTest();
        Task x1 = state.new Task(0, 0, 0);
        Task x2 = state.new Task(0, 0, 1);
        Task x3 = state.new Task(0, 0, 2);
        state.accepted.addAll(List.of(x1, x2, x3));
        state.ran.add(x2);
        state.returnedByClose.addAll(List.of(x1, x3));
        AssertionError error = assertThrows(AssertionError.class, state::perKeyQueueOrder);
        assertEquals(true, error.getMessage().contains("out of queue order"), error.getMessage());
    }
}
