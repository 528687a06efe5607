package dev.taskevents.engine.cache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.storecontract.ForwardingTaskInstanceStore;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.Test;

/**
 * A cache miss while the loader's executor refuses work (the engine is closing) is answered at
 * once with the reason, never left waiting.
 */
class SnapshotLoadRefusedWhileClosingTest {

    @Test
    void aMissTheExecutorRefusesFailsAtOnceNamingTheWorkflow() {
        RejectedExecutionException refused = new RejectedExecutionException("shut down");
        try (ForwardingTaskInstanceStore store = new ForwardingTaskInstanceStore()) {
            SnapshotLoader loader = new SnapshotLoader(store, command -> {
                throw refused;
            }, 16, 1);
            CompletableFuture<WorkflowSnapshot> miss = loader.asyncLoad(42L, null);
            assertTrue(miss.isDone(), "answered at once");
            Throwable e = assertThrows(ExecutionException.class, miss::get).getCause();
            assertInstanceOf(IllegalStateException.class, e);
            assertEquals("the engine is closing; workflow instance 42 was not loaded", e.getMessage());
            assertSame(refused, e.getCause());
        }
    }
}
