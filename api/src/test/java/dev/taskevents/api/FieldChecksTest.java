package dev.taskevents.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The shared field checks at their edges: each check hands back exactly the value it was given
 * (callers may use the result in place of the argument), limits are inclusive, and a refused
 * value is shown in the message as readable text.
 */
class FieldChecksTest {

    @Test
    void everyCheckReturnsTheValueItWasGiven() {
        assertEquals(7L, Fields.positive("f", 7));
        String text = "host-1";
        assertSame(text, Fields.requiredText("f", text, 10));
        assertSame(text, Fields.optionalText("f", text, 10));
        assertSame(text, Fields.noNul("f", text));
        Instant t = Instant.parse("2026-01-01T00:00:00Z");
        assertSame(t, Fields.time("f", t));
        assertNull(Fields.optionalText("f", null, 10));
        assertNull(Fields.noNul("f", null));
        assertNull(Fields.time("f", null));
    }

    @Test
    void aSupplementaryCharacterIsTextNotAnUnpairedSurrogate() {
        String pair = "a\uD83D\uDE00b"; // U+1F600 as its two UTF-16 halves
        assertSame(pair, Fields.noNul("f", pair));
    }

    @Test
    void theLengthLimitIsInclusive() {
        String ten = "0123456789";
        assertSame(ten, Fields.optionalText("f", ten, 10));
        assertEquals("f is 11 characters long, the limit is 10: \"0123456789a\"",
                assertThrows(IllegalArgumentException.class, () -> Fields.optionalText("f", ten + "a", 10)).getMessage());
    }

    @Test
    void aNulAtTheVeryStartIsRefused() {
        assertEquals("f contains a NUL character (U+0000) at index 0, which no store accepts: \"\\0x\"",
                assertThrows(IllegalArgumentException.class, () -> Fields.noNul("f", "\0x")).getMessage());
    }

    @Test
    void theTimeRangeIncludesBothEnds() {
        assertSame(Fields.MIN_TIME, Fields.time("f", Fields.MIN_TIME));
        assertSame(Fields.MAX_TIME, Fields.time("f", Fields.MAX_TIME));
        assertThrows(IllegalArgumentException.class, () -> Fields.time("f", Fields.MIN_TIME.minusNanos(1000)));
        assertThrows(IllegalArgumentException.class, () -> Fields.time("f", Fields.MAX_TIME.plusNanos(1000)));
    }

    @Test
    void aPreviewKeepsCharacterPairsWholeAndEscapesWhatIsNotText() {
        assertEquals("a\uD83D\uDE00\\0\\uD800z", Fields.preview("a\uD83D\uDE00\0\uD800z"));
        // A pair cut at the 60-character edge: its lone high half is escaped, not sent as is.
        String cutInPair = "x".repeat(59) + "\uD83D\uDE00";
        assertEquals("x".repeat(59) + "\\uD83D…", Fields.preview(cutInPair));
        String sixty = "y".repeat(60);
        assertEquals(sixty, Fields.preview(sixty));
        assertEquals(sixty + "…", Fields.preview(sixty + "y"));
    }
}
