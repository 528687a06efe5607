package dev.taskevents.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** A node's failures are logged once per kind until it answers again; its recovery once. */
class OutagesTest {
    private static final URI A = URI.create("http://127.0.0.1:1");
    private static final URI B = URI.create("http://127.0.0.1:2");

    record Line(System.Logger.Level level, String message) {}

    private final List<Line> lines = new CopyOnWriteArrayList<>();
    private final System.Logger log = new System.Logger() {
        @Override
        public String getName() {
            return "dev.taskevents.client";
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String message, Throwable thrown) {
            lines.add(new Line(level, message));
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            lines.add(new Line(level, format));
        }
    };

    @Test
    void eachKindOfFailureIsLoggedOnceUntilTheNodeAnswers() {
        Outages outages = new Outages(Duration.ofMinutes(5), log);
        outages.failed(A, "java.net.ConnectException", "java.net.ConnectException: refused");
        outages.failed(A, "java.net.ConnectException", "java.net.ConnectException: refused");
        outages.failed(A, "HTTP 503", "HTTP 503");
        outages.failed(B, "java.net.ConnectException", "java.net.ConnectException: refused");
        assertEquals(3, lines.size(), lines.toString());
        assertTrue(lines.stream().allMatch(l -> l.level() == System.Logger.Level.WARNING), lines.toString());
        String first = lines.getFirst().message();
        assertTrue(first.contains(A + " did not answer usefully (java.net.ConnectException: refused)"), first);
        assertTrue(first.endsWith("for up to PT5M (giveUpAfter)"), first);

        outages.answered(A);
        outages.answered(A);
        outages.answered(URI.create("http://127.0.0.1:3"));
        assertEquals(List.of(new Line(System.Logger.Level.INFO, "taskevents client: " + A + " answers again")),
                lines.subList(3, lines.size()));

        outages.failed(A, "java.net.ConnectException", "java.net.ConnectException: refused");
        assertEquals(5, lines.size(), "a new outage is logged again: " + lines);
    }

    @Test
    void withoutABoundTheMessageSaysSo() {
        new Outages(Duration.ZERO, log).failed(A, "HTTP 503", "HTTP 503");
        assertTrue(lines.getFirst().message().endsWith("without end (giveUpAfter is zero)"), lines.toString());
    }
}
