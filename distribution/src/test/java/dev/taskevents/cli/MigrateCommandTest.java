package dev.taskevents.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.spi.TaskInstanceStore;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import dev.taskevents.testkit.TempDirs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/** {@code taskevents migrate --shards N}: records the count on creation, refuses another one later. */
class MigrateCommandTest {

    @Test
    void theShardCountIsRecordedOnceAndAnotherIsRefused() throws Exception {
        String url = "jdbc:h2:file:" + TempDirs.create("taskevents-migrate-").resolve("db").toAbsolutePath();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, Main.run(new String[] {"migrate", "--store", url, "--shards", "16"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)),
                err.toString(StandardCharsets.UTF_8));
        assertTrue(out.toString(StandardCharsets.UTF_8).contains("is at version 4"), out.toString(StandardCharsets.UTF_8));
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            assertEquals(16, store.cluster().orElseThrow().shardCount());
        }

        assertEquals(1, Main.run(new String[] {"migrate", "--store", url, "--shards", "64"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)));
        assertEquals("taskevents: this database was created with 16 shards; the shard count cannot change (asked for 64)",
                err.toString(StandardCharsets.UTF_8).strip());

        ByteArrayOutputStream usage = new ByteArrayOutputStream();
        assertEquals(2, Main.run(new String[] {"migrate", "--store", url, "--shards", "0"}, System.out,
                new PrintStream(usage, true, StandardCharsets.UTF_8)));
        assertTrue(usage.toString(StandardCharsets.UTF_8).contains("--shards must be between 1 and 65536, was 0"),
                usage.toString(StandardCharsets.UTF_8));
    }
}
