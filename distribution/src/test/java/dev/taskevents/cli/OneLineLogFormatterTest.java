package dev.taskevents.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.EOFException;
import java.io.IOException;
import java.sql.SQLException;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;

/** The image's log lines: one per record, an expected fault's chain on it, a trace only for SEVERE or debugging. */
class OneLineLogFormatterTest {
    private static LogRecord record(Level level, String message, Throwable thrown) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName("com.zaxxer.hikari.pool.ProxyConnection");
        r.setMillis(1_765_000_000_123L);
        r.setThrown(thrown);
        return r;
    }

    @Test
    void aWarningWithAnExceptionIsOneLineWithTheChainsClassesAndFirstLines() {
        Throwable chain = new SQLException("An I/O error occurred while sending to the backend.\nDetail: values",
                new IOException("broken pipe", new EOFException()));
        String line = new OneLineLogFormatter(false).format(record(Level.WARNING, "Connection marked as broken", chain));
        assertEquals("2025-12-06T05:46:40.123Z WARNING com.zaxxer.hikari.pool.ProxyConnection: Connection marked as broken"
                + " [java.sql.SQLException: An I/O error occurred while sending to the backend. <- java.io.IOException:"
                + " broken pipe <- java.io.EOFException]" + System.lineSeparator(), line);
    }

    @Test
    void aLongCauseChainIsCut() {
        Throwable chain = new IllegalStateException("0");
        for (int i = 1; i < 20; i++) {
            chain = new IllegalStateException(String.valueOf(i), chain);
        }
        String line = new OneLineLogFormatter(false).format(record(Level.WARNING, "m", chain));
        assertEquals(OneLineLogFormatter.MAX_CAUSES, line.split(" <- ").length - 1, line);
        assertTrue(line.strip().endsWith(" <- ...]"), line);
    }

    @Test
    void aSevereRecordAndDebuggingKeepTheStackTrace() {
        Throwable e = new IllegalStateException("unplanned");
        String severe = new OneLineLogFormatter(false).format(record(Level.SEVERE, "m", e));
        assertTrue(severe.contains("\tat "), severe);
        String debugging = new OneLineLogFormatter(true).format(record(Level.WARNING, "m", e));
        assertTrue(debugging.contains("\tat "), debugging);
        String plain = new OneLineLogFormatter(false).format(record(Level.INFO, "first\nsecond", null));
        assertEquals("2025-12-06T05:46:40.123Z INFO com.zaxxer.hikari.pool.ProxyConnection: first second"
                + System.lineSeparator(), plain);
    }
}
