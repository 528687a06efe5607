package dev.taskevents.cli.serve;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Every log record published while it is open, at every level, through the root logger of
 * {@code java.util.logging} (where {@code System.Logger} writes by default). Tests that check what
 * reaches the log read {@link #lines}: each record as a handler could write it, so that nothing a
 * real handler would print is left out of the check. Closing it restores the root logger.
 */
final class LogCapture implements AutoCloseable {
    private final List<LogRecord> records = new ArrayList<>();
    private final Logger root = Logger.getLogger("");
    private final Level levelBefore = root.getLevel();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            synchronized (records) {
                records.add(r);
            }
        }

        @Override
        public void flush() { }

        @Override
        public void close() { }
    };

    LogCapture() {
        handler.setLevel(Level.ALL);
        root.setLevel(Level.ALL);
        root.addHandler(handler);
    }

    /** The records so far, in the order they were published. */
    List<LogRecord> records() {
        synchronized (records) {
            return List.copyOf(records);
        }
    }

    /** The records so far, each {@link #formatted}. */
    List<String> lines() {
        return records().stream().map(LogCapture::formatted).toList();
    }

    /**
     * A record as a handler could write it: the formatted message, its parameters, and the whole
     * thrown chain (causes and suppressed exceptions) with messages and stack frames.
     */
    static String formatted(LogRecord r) {
        StringBuilder line = new StringBuilder(new SimpleFormatter().formatMessage(r));
        if (r.getParameters() != null) {
            for (Object parameter : r.getParameters()) {
                line.append(" | ").append(parameter);
            }
        }
        if (r.getThrown() != null) {
            StringWriter trace = new StringWriter();
            r.getThrown().printStackTrace(new PrintWriter(trace));
            line.append(" | ").append(trace);
        }
        return line.toString();
    }

    @Override
    public void close() {
        root.removeHandler(handler);
        root.setLevel(levelBefore);
    }
}
