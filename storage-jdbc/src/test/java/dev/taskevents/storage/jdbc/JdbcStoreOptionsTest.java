package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The options' defaults, limits (inclusive) and withers: each wither changes its own field only. */
class JdbcStoreOptionsTest {
    private static final String URL = "jdbc:h2:mem:options";

    @Test
    void theDefaultsAreThoseDocumented() {
        assertEquals(new JdbcStoreOptions(URL, null, null, 8, Duration.ofSeconds(5), true, false, 0, null, null),
                JdbcStoreOptions.of(URL));
    }

    @Test
    void eachWitherChangesOnlyItsField() {
        JdbcStoreOptions base = JdbcStoreOptions.of(URL);
        assertEquals(new JdbcStoreOptions(URL, "u", "p", 8, Duration.ofSeconds(5), true, false, 0, null, null),
                base.withCredentials("u", "p"));
        assertEquals(new JdbcStoreOptions(URL, null, null, 3, Duration.ofSeconds(5), true, false, 0, null, null),
                base.withMaximumPoolSize(3));
        assertEquals(new JdbcStoreOptions(URL, null, null, 8, Duration.ofSeconds(9), true, false, 0, null, null),
                base.withConnectionTimeout(Duration.ofSeconds(9)));
        assertEquals(new JdbcStoreOptions(URL, null, null, 8, Duration.ofSeconds(5), false, false, 0, null, null),
                base.withMigrateOnOpen(false));
        assertEquals(new JdbcStoreOptions(URL, null, null, 8, Duration.ofSeconds(5), true, true, 0, null, null),
                base.withMultiRowUpdates(true));
        assertEquals(new JdbcStoreOptions(URL, null, null, 8, Duration.ofSeconds(5), true, false, 0, null,
                Duration.ofSeconds(3)), base.withStatementTimeout(Duration.ofSeconds(3)));
    }

    @Test
    void thePoolSizeAndTimeoutLimitsAreInclusive() {
        assertEquals(1, JdbcStoreOptions.of(URL).withMaximumPoolSize(1).maximumPoolSize());
        assertEquals("maximumPoolSize must be at least 1, was 0",
                assertThrows(IllegalArgumentException.class, () -> JdbcStoreOptions.of(URL).withMaximumPoolSize(0))
                        .getMessage());
        assertEquals(Duration.ofMillis(250),
                JdbcStoreOptions.of(URL).withConnectionTimeout(Duration.ofMillis(250)).connectionTimeout());
        assertEquals("connectionTimeout must be at least 250 ms, was PT0.249S",
                assertThrows(IllegalArgumentException.class,
                        () -> JdbcStoreOptions.of(URL).withConnectionTimeout(Duration.ofMillis(249))).getMessage());
    }

    @Test
    void theTextFormNamesEveryFieldButThePassword() {
        assertEquals("JdbcStoreOptions[url=jdbc:postgresql://h/db?user=u&password=***, user=u, password=***, "
                        + "maximumPoolSize=8, connectionTimeout=PT5S, migrateOnOpen=true, multiRowUpdates=false, "
                        + "shardCount=0, writerIdleTimeout=null, statementTimeout=null]",
                JdbcStoreOptions.of("jdbc:postgresql://h/db?user=u&password=pw1").withCredentials("u", "pw2").toString());
        assertEquals("JdbcStoreOptions[url=jdbc:h2:mem:options, user=null, password=null, maximumPoolSize=8, "
                        + "connectionTimeout=PT5S, migrateOnOpen=true, multiRowUpdates=false, shardCount=64, "
                        + "writerIdleTimeout=PT5S, statementTimeout=PT10S]",
                JdbcStoreOptions.of(URL).withShardCount(64).withWriterIdleTimeout(Duration.ofSeconds(5))
                        .withStatementTimeout(Duration.ofSeconds(10)).toString());
    }

    @Test
    void aShardCountOutsideOneTo65536AndANonPositiveIdleTimeoutAreRefused() {
        assertEquals(65_536, JdbcStoreOptions.of(URL).withShardCount(65_536).shardCount());
        assertEquals(0, JdbcStoreOptions.of(URL).shardCount());
        assertEquals("shardCount must be between 1 and 65536, was 65537", assertThrows(IllegalArgumentException.class,
                () -> JdbcStoreOptions.of(URL).withShardCount(65_537)).getMessage());
        assertEquals("shardCount must be between 1 and 65536, was -1", assertThrows(IllegalArgumentException.class,
                () -> JdbcStoreOptions.of(URL).withShardCount(-1)).getMessage());
        assertEquals("writerIdleTimeout must be at least 1 ms, was PT0S", assertThrows(IllegalArgumentException.class,
                () -> JdbcStoreOptions.of(URL).withWriterIdleTimeout(Duration.ZERO)).getMessage());
        assertEquals(null, JdbcStoreOptions.of(URL).withWriterIdleTimeout(Duration.ofSeconds(1))
                .withWriterIdleTimeout(null).writerIdleTimeout());
    }

    @Test
    void aStatementTimeoutBelow100MsIsRefused() {
        assertEquals(Duration.ofMillis(100),
                JdbcStoreOptions.of(URL).withStatementTimeout(Duration.ofMillis(100)).statementTimeout());
        assertEquals("statementTimeout must be at least 100 ms, was PT0.099S", assertThrows(IllegalArgumentException.class,
                () -> JdbcStoreOptions.of(URL).withStatementTimeout(Duration.ofMillis(99))).getMessage());
        assertEquals(null, JdbcStoreOptions.of(URL).withStatementTimeout(Duration.ofSeconds(1))
                .withStatementTimeout(null).statementTimeout());
    }
}
