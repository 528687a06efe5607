package dev.taskevents.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

/** Counters are set and read by name; those not set are 0; {@code plus} adds each. */
class EngineStatsTest {
    @Test
    void countersNotSetAreZeroAndPlusAddsEachByName() {
        EngineStats a = EngineStats.builder().queued(1).activeKeys(2).applied(3).duplicates(4).stale(5).rejected(6)
                .moved(7).failed(8).sinkFailures(9).pendingWrites(10).batches(11).rowsWritten(12).writeRetries(13)
                .cachedWorkflows(14).stateEventsRetold(15).build();
        EngineStats b = EngineStats.builder().applied(100).rowsWritten(200).build();
        assertEquals(0, b.queued());
        assertEquals(0, b.stateEventsRetold());

        EngineStats sum = a.plus(b);
        assertEquals(EngineStats.builder().queued(1).activeKeys(2).applied(103).duplicates(4).stale(5).rejected(6)
                .moved(7).failed(8).sinkFailures(9).pendingWrites(10).batches(11).rowsWritten(212).writeRetries(13)
                .cachedWorkflows(14).stateEventsRetold(15).build(), sum);
        assertEquals(sum.hashCode(), a.plus(b).hashCode());
        assertNotEquals(a, sum);
        assertEquals("EngineStats[queued=0, activeKeys=0, applied=100, duplicates=0, stale=0, rejected=0, moved=0,"
                + " failed=0, sinkFailures=0, pendingWrites=0, batches=0, rowsWritten=200, writeRetries=0,"
                + " cachedWorkflows=0, stateEventsRetold=0]", b.toString());
    }
}
