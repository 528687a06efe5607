package dev.taskevents.cli;

import dev.taskevents.storage.jdbc.JdbcStoreOptions;
import dev.taskevents.storage.jdbc.JdbcStores;
import java.io.PrintStream;
import java.util.List;
import java.util.Set;

/** {@code taskevents migrate --store URL}: applies the migrations and prints the schema version. */
final class MigrateCommand {
    static final String HELP = """
            Usage: taskevents migrate --store URL

            Applies the pending database migrations of a JDBC store and prints the schema version.

              --store URL   jdbc:postgresql://..., jdbc:mariadb://..., jdbc:mysql://... or jdbc:h2:file:...
                            (default: jdbc:h2:file:./taskevents-data/taskevents)
            """;

    private final PrintStream out;

    MigrateCommand(PrintStream out) {
        this.out = out;
    }

    int run(List<String> args) {
        Options options = Options.parse("migrate", args, Set.of("store"), Set.of("help"));
        if (options.has("help")) {
            out.print(HELP);
            return 0;
        }
        String url = options.get("store", Defaults.STORE);
        if (url.startsWith("memory:")) {
            out.println("memory stores have no schema: nothing to migrate");
            return 0;
        }
        String version = JdbcStores.migrate(JdbcStoreOptions.of(url));
        out.println("schema of " + JdbcStores.redact(url) + " is at version " + version);
        return 0;
    }
}
