package dev.taskevents.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * The image's log format: one line per record, {@code 2026-12-07T18:00:00.123Z WARNING logger:
 * message} (its line breaks made spaces), and an exception as its chain of classes with the first line of each message
 * ({@code [SQLException: An I/O error ... <- EOFException]}), not a stack trace: an expected fault
 * (a database connection cut under load) is one line, not forty. A SEVERE record (a fault nobody
 * planned for) keeps its stack trace, and so does every record when {@code traces} is set
 * ({@code TASKEVENTS_LOG_LEVEL} at FINE or below, for debugging).
 */
final class OneLineLogFormatter extends Formatter {
    /** The most causes printed; a longer chain ends with "...". */
    static final int MAX_CAUSES = 8;

    private final boolean traces;

    OneLineLogFormatter(boolean traces) {
        this.traces = traces;
    }

    @Override
    public String format(LogRecord record) {
        StringBuilder line = new StringBuilder(160);
        line.append(Instant.ofEpochMilli(record.getMillis())).append(' ').append(record.getLevel().getName())
                .append(' ').append(record.getLoggerName()).append(": ").append(oneLine(formatMessage(record)));
        Throwable thrown = record.getThrown();
        if (thrown != null) {
            if (traces || record.getLevel().intValue() >= Level.SEVERE.intValue()) {
                StringWriter trace = new StringWriter();
                thrown.printStackTrace(new PrintWriter(trace));
                line.append(System.lineSeparator()).append(trace.toString().stripTrailing());
            } else {
                line.append(" [");
                int depth = 0;
                for (Throwable cause = thrown; cause != null; cause = cause.getCause()) {
                    if (depth == MAX_CAUSES) {
                        line.append(" <- ...");
                        break;
                    }
                    if (depth++ > 0) {
                        line.append(" <- ");
                    }
                    line.append(cause.getClass().getName());
                    if (cause.getMessage() != null) {
                        line.append(": ").append(firstLine(cause.getMessage()));
                    }
                }
                line.append(']');
            }
        }
        return line.append(System.lineSeparator()).toString();
    }

    /** The message whole, its line breaks made spaces. */
    private static String oneLine(String text) {
        return text.replace("\r\n", " ").replace('\n', ' ').replace('\r', ' ').stripTrailing();
    }

    /** An exception's message up to its first line break (a driver's may go on with details and values). */
    private static String firstLine(String text) {
        int end = text.indexOf('\n');
        return (end < 0 ? text : text.substring(0, end)).stripTrailing();
    }
}
