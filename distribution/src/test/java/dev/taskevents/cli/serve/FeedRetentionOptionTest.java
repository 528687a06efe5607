package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.taskevents.cli.Options;
import dev.taskevents.cli.UsageException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code serve --feed-retention}: the documented default, the units, and refusals that say what to give. */
class FeedRetentionOptionTest {
    private static Duration retention(String... args) {
        return ServeCommand.retention(Options.parse("serve", List.of(args), Set.of("feed-retention"), Set.of()));
    }

    @Test
    void defaultIsADayAndUnitsAreSecondsMinutesHoursDays() {
        assertEquals(Duration.ofHours(24), retention());
        assertEquals(Duration.ofMinutes(90), retention("--feed-retention", "90m"));
        assertEquals(Duration.ofDays(7), retention("--feed-retention=7d"));
        assertEquals(Duration.ofSeconds(60), retention("--feed-retention", "60s"));
    }

    @Test
    void malformedOrTooShortIsRefusedNamingTheValue() {
        UsageException bad = assertThrows(UsageException.class, () -> retention("--feed-retention", "1 day"));
        assertEquals("serve: --feed-retention must be a whole number and a unit (s, m, h or d), e.g. 24h or 90m,"
                + " was \"1 day\" (see: taskevents serve --help)", bad.getMessage());
        UsageException tooShort = assertThrows(UsageException.class, () -> retention("--feed-retention", "59s"));
        assertEquals("serve: --feed-retention must be at least 1m (a consumer needs time to read), was 59s"
                + " (see: taskevents serve --help)", tooShort.getMessage());
        assertThrows(UsageException.class, () -> retention("--feed-retention", "0h"));
    }
}
