package dev.taskevents.client.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** What the client logs of a node's failures and recoveries (see {@link Outages}'s invariants). */
@org.junit.jupiter.api.Timeout(60)
class OutagesTest {
    private static final URI A = URI.create("http://127.0.0.1:1");
    private static final URI B = URI.create("http://127.0.0.1:2");
    private static final String REFUSED = "java.net.ConnectException";

    record Line(System.Logger.Level level, String message) {}

    private final List<Line> lines = new CopyOnWriteArrayList<>();
    private final AtomicLong nanos = new AtomicLong(1);
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

    private Outages outages(Duration giveUpAfter) {
        return new Outages(giveUpAfter, log, nanos::get);
    }

    private long count(System.Logger.Level level) {
        return lines.stream().filter(l -> l.level() == level).count();
    }

    @Test
    void eachKindOfFailureIsLoggedOnceWhileTheNodeStaysDown() {
        Outages outages = outages(Duration.ofMinutes(5));
        for (int i = 0; i < 100; i++) {
            outages.failed(A, REFUSED, REFUSED + ": refused");
            nanos.addAndGet(Duration.ofMinutes(1).toNanos()); // an hour and more of resends
        }
        outages.failed(A, "HTTP 502", "HTTP 502");
        outages.failed(B, REFUSED, REFUSED + ": refused");
        assertEquals(3, lines.size(), lines.toString());
        assertEquals(3, count(System.Logger.Level.WARNING));
        String first = lines.getFirst().message();
        assertTrue(first.contains(A + " did not answer usefully (java.net.ConnectException: refused)"), first);
        assertTrue(first.endsWith("for up to PT5M (giveUpAfter)"), first);
    }

    @Test
    void theNextAnswerIsLoggedOnceAndANewOutageAfterItAgain() {
        Outages outages = outages(Duration.ofMinutes(5));
        outages.failed(A, REFUSED, REFUSED);
        outages.answered(A);
        outages.answered(URI.create("http://127.0.0.1:1/")); // the same address
        outages.answered(URI.create("http://127.0.0.1:3"));
        assertEquals(List.of(new Line(System.Logger.Level.INFO, "taskevents client: " + A + " answers again")),
                lines.subList(1, lines.size()));
        nanos.addAndGet(Outages.RELOG_AFTER.toNanos());
        outages.failed(A, REFUSED, REFUSED);
        assertEquals(2, count(System.Logger.Level.WARNING), "a new outage after the node answered: " + lines);
    }

    @Test
    void aNodeFlippingBetweenFailingAndAnsweringLogsAtMostOncePerPeriod() {
        Outages outages = outages(Duration.ofMinutes(5));
        for (int i = 0; i < 1_000; i++) {
            outages.failed(A, "HTTP 504", "HTTP 504");
            outages.answered(A);
            nanos.addAndGet(1_000_000); // a flip per millisecond: a second in all
        }
        assertEquals(List.of(System.Logger.Level.WARNING, System.Logger.Level.INFO),
                lines.stream().map(Line::level).toList());
    }

    @Test
    void busyAnswersAreNotFailures() {
        assertFalse(Outages.isFailure(503));
        assertFalse(Outages.isFailure(429));
        assertFalse(Outages.isFailure(408));
        assertFalse(Outages.isFailure(421));
        assertTrue(Outages.isFailure(502));
    }

    @Test
    void nothingIsLoggedOnceTheClientIsClosing() {
        Outages outages = outages(Duration.ofMinutes(5));
        outages.failed(A, REFUSED, REFUSED);
        outages.closing();
        outages.failed(B, REFUSED, REFUSED);
        outages.answered(A);
        assertEquals(1, lines.size(), lines.toString());
    }

    @Test
    void withoutABoundTheMessageSaysSo() {
        outages(Duration.ZERO).failed(A, "HTTP 500", "HTTP 500");
        assertTrue(lines.getFirst().message().endsWith("without end (giveUpAfter is zero)"), lines.toString());
    }

    /** A failure racing the node's answer: every WARNING is followed by an INFO once the node answers. */
    @Test
    void aFailureRacingAnAnswerIsNeverLeftWithoutItsRecovery() throws Exception {
        for (int round = 0; round < 2_000; round++) {
            lines.clear();
            Outages outages = outages(Duration.ofMinutes(5));
            CyclicBarrier start = new CyclicBarrier(2);
            Thread failing = Thread.ofPlatform().start(() -> {
                await(start);
                outages.failed(A, REFUSED, REFUSED);
            });
            Thread answering = Thread.ofPlatform().start(() -> {
                await(start);
                outages.answered(A);
            });
            failing.join();
            answering.join();
            outages.answered(A);
            assertEquals(count(System.Logger.Level.WARNING), count(System.Logger.Level.INFO), "round " + round + ": " + lines);
        }
    }

    /** A recovery decided while the WARNING of the same node is being written comes after it. */
    @Test
    void aRecoveryIsNeverLoggedBeforeTheWarningItFollows() throws Exception {
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        System.Logger slowWarnings = new System.Logger() {
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
                if (level == Level.WARNING) {
                    entered.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                lines.add(new Line(level, message));
            }

            @Override
            public void log(Level level, ResourceBundle bundle, String format, Object... params) {
                log(level, bundle, format, (Throwable) null);
            }
        };
        Outages outages = new Outages(Duration.ofMinutes(5), slowWarnings, nanos::get);
        Thread failing = Thread.ofPlatform().start(() -> outages.failed(A, REFUSED, REFUSED));
        entered.await();
        Thread answering = Thread.ofPlatform().start(() -> outages.answered(A));
        while (answering.getState() != Thread.State.BLOCKED && answering.getState() != Thread.State.TERMINATED) {
            Thread.onSpinWait(); // until the answer has been handled, or waits for the node's monitor
        }
        release.countDown();
        failing.join();
        answering.join();
        assertEquals(List.of(System.Logger.Level.WARNING, System.Logger.Level.INFO),
                lines.stream().map(Line::level).toList());
    }

    private static void await(CyclicBarrier barrier) {
        try {
            barrier.await();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
