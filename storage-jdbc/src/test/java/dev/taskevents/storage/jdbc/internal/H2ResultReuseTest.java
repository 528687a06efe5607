package dev.taskevents.storage.jdbc.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Every H2 connection of the store runs without H2's reuse of a query's last result. */
class H2ResultReuseTest {
    @Test
    void anH2UrlGetsResultReuseTurnedOff() {
        assertEquals("jdbc:h2:file:/tmp/x;LOCK_TIMEOUT=1;OPTIMIZE_REUSE_RESULTS=FALSE",
                Pool.withoutH2ResultReuse("jdbc:h2:file:/tmp/x;LOCK_TIMEOUT=1", "jdbc:h2:file:/tmp/x;LOCK_TIMEOUT=1"));
        assertEquals("jdbc:h2:mem:x;OPTIMIZE_REUSE_RESULTS=FALSE",
                Pool.withoutH2ResultReuse("jdbc:h2:mem:x", "jdbc:h2:mem:x"));
    }

    @Test
    void aUrlThatAlreadyTurnsItOffIsKeptAsItIs() {
        for (String url : new String[] {"jdbc:h2:mem:x;optimize_reuse_results=false", "jdbc:h2:mem:x;OPTIMIZE_REUSE_RESULTS=0;A=B"}) {
            assertEquals(url, Pool.withoutH2ResultReuse(url, url));
        }
    }

    @Test
    void aUrlThatTurnsItOnIsRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> Pool.withoutH2ResultReuse("jdbc:h2:mem:x;OPTIMIZE_REUSE_RESULTS=1", "jdbc:h2:mem:x"));
    }
}
