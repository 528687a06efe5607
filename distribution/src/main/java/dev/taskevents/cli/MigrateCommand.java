package dev.taskevents.cli;

import dev.taskevents.api.Shards;
import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;

/** {@code taskevents migrate [--store URL] [--shards N]}: applies the migrations and prints the schema version. */
final class MigrateCommand {
    static final String HELP = """
            Usage: taskevents migrate [--store URL] [--shards N]

            Applies the pending database migrations of a JDBC store and prints the schema version.

              --store URL   jdbc:postgresql://..., jdbc:mariadb://..., jdbc:mysql://... or jdbc:h2:file:...
                            (default: jdbc:h2:file:./taskevents-data/taskevents)
              --shards N    the cluster shard count to record when the cluster tables are created
                            (1 to 65536; default 256). It never changes afterwards: a database
                            created with another count is refused
            """;

    private final PrintStream out;

    MigrateCommand(PrintStream out) {
        this.out = out;
    }

    int run(List<String> args) {
        Options options = Options.parse("migrate", args, Set.of("store", "shards"), Set.of("help"));
        if (options.has("help")) {
            out.print(HELP);
            return 0;
        }
        String url = options.get("store", Defaults.STORE);
        if (url.startsWith("memory:")) {
            out.println("memory stores have no schema: nothing to migrate");
            return 0;
        }
        JdbcStoreOptions storeOptions = JdbcStoreOptions.of(url);
        if (options.has("shards")) {
            storeOptions = storeOptions.withShardCount(options.getInt("shards", Shards.DEFAULT_SHARD_COUNT, 1,
                    Shards.MAX_SHARD_COUNT));
        }
        String version = JdbcStores.migrate(storeOptions);
        out.println("schema of " + JdbcStores.redact(url) + " is at version " + version);
        return 0;
    }
}
