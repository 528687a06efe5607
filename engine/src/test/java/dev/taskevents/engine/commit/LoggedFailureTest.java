package dev.taskevents.engine.commit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.spi.StoreException;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** What the group committer's log lines may hold of a store failure: see {@link LoggedFailure}. */
class LoggedFailureTest {
    private static String trace(Throwable t) {
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString();
    }

    @Test
    void keepsTheStoresOwnMessagesClassesAndFramesAndDropsEveryOtherMessage() {
        IllegalStateException driver = new IllegalStateException("update task_instance set var_pool = 'SECRET'");
        StoreException store = new StoreException("could not write a batch: the connection failed", driver);
        store.addSuppressed(new RuntimeException("SECRET suppressed"));
        Throwable logged = LoggedFailure.of(new RuntimeException("wrapper SECRET", store));
        String trace = trace(logged);
        assertFalse(trace.contains("SECRET"), trace);
        assertTrue(trace.startsWith("java.lang.RuntimeException" + System.lineSeparator()), trace);
        assertTrue(trace.contains("Caused by: dev.taskevents.api.spi.StoreException: could not write a batch: the"
                + " connection failed"), trace);
        assertTrue(trace.contains("Caused by: java.lang.IllegalStateException" + System.lineSeparator()), trace);
        assertEquals(driver.getStackTrace()[0], logged.getCause().getCause().getStackTrace()[0], "frames kept");
        assertEquals("java.lang.IllegalArgumentException: row 3 moves to another workflow",
                LoggedFailure.of(new IllegalArgumentException("row 3 moves to another workflow")).toString());
        assertNull(LoggedFailure.of(null));
    }

    @Test
    void theMessageOfAnIllegalArgumentExceptionThatQuotesItsInputIsDropped() {
        String trace = trace(LoggedFailure.of(new StoreException("could not read a row",
                new NumberFormatException("For input string: \"SECRET\""))));
        assertFalse(trace.contains("SECRET"), trace);
        assertTrue(trace.contains("Caused by: java.lang.NumberFormatException" + System.lineSeparator()), trace);
    }

    @Test
    void aCauseChainThatLoopsIsCutOff() {
        RuntimeException a = new RuntimeException("a");
        RuntimeException b = new RuntimeException("b", a);
        a.initCause(b);
        int depth = 0;
        for (Throwable t = LoggedFailure.of(a); t != null; t = t.getCause()) {
            depth++;
        }
        assertEquals(16, depth);
    }
}
