package dev.taskevents.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.cli.UsageException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code demo --via-serve} in this JVM (the image's run is {@code RuntimeImageIT}'s). */
@Timeout(120)
class DemoViaServeTest {

    @Test
    void theSimulationThroughServeVerifiesAndReadsEveryChangeOnceFromTheFeed() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int exit = new DemoCommand(new PrintStream(bytes, true, StandardCharsets.UTF_8))
                .run(List.of("--via-serve", "--store", "memory:", "--workflows", "40", "--lost-ack-rate", "0.3",
                        "--duplicate-rate", "0.3", "--reorder-rate", "0.3", "--late-running-rate", "0.3"));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, out);
        assertTrue(out.contains("40 of 40 finished"), out);
        assertTrue(out.contains("verification    OK"), out);
        Matcher service = Pattern.compile("service path {4}serve at http://127\\.0\\.0\\.1:\\d+ .*\\R {18}the driver"
                + " read ([\\d,]+) state events from the feed").matcher(out);
        Matcher applied = Pattern.compile("applied ([\\d,]+)").matcher(out);
        Matcher tasks = Pattern.compile("OK: all ([\\d,]+) task instances").matcher(out);
        assertTrue(service.find() && applied.find() && tasks.find(), out);
        // Each applied change but the DISPATCHes (one per task, never in the feed) was read once.
        assertEquals(number(applied.group(1)) - number(tasks.group(1)), number(service.group(1)), out);
        Matcher faults = Pattern.compile("of which ([\\d,]+) sent twice at once, ([\\d,]+) resent after a lost ack")
                .matcher(out);
        assertTrue(faults.find() && number(faults.group(1)) > 0 && number(faults.group(2)) > 0,
                "the workers' faults were made: " + out);
    }

    @Test
    void viaServeDoesNotCombineWithNodes() {
        UsageException e = assertThrows(UsageException.class, () -> new DemoCommand(new PrintStream(
                new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).run(List.of("--via-serve", "--nodes", "3")));
        assertTrue(e.getMessage().contains("--via-serve runs one serve and does not combine with --nodes 3"),
                e.getMessage());
    }

    private static long number(String text) {
        return Long.parseLong(text.replace(",", ""));
    }
}
