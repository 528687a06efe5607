package dev.taskevents.cli;

import dev.taskevents.api.spi.StoreException;
import dev.taskevents.cli.demo.DemoCommand;
import dev.taskevents.cli.serve.ServeCommand;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code taskevents <command> [options]}. Errors print one line, {@code taskevents: <what went
 * wrong>}, never a stack trace: exit 2 for a wrong command line, 1 for anything else.
 */
public final class Main {
    static final String USAGE = """
            Usage: taskevents <command> [options]

            Commands:
              demo      simulate a scheduler and its workers against the engine, then verify every task
              serve     run the HTTP JSON service that workers send task events to
              migrate   apply the database migrations of a store and print the schema version

            Run 'taskevents <command> --help' for a command's options, 'taskevents --version' for the version.
            """;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command and returns its exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        quietLibraryLogs();
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            out.print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        if (args[0].equals("--version") || args[0].equals("version")) {
            out.println("taskevents " + version());
            return 0;
        }
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try {
            return switch (args[0]) {
                case "demo" -> new DemoCommand(out).run(rest);
                case "serve" -> new ServeCommand(out, err).run(rest);
                case "migrate" -> new MigrateCommand(out).run(rest);
                default -> throw new UsageException("unknown command \"" + args[0] + "\" (commands: demo, serve, migrate;"
                        + " see: taskevents --help)");
            };
        } catch (UsageException e) {
            err.println("taskevents " + e.getMessage());
            return 2;
        } catch (StoreException | IllegalArgumentException | IllegalStateException | UncheckedIOException e) {
            err.println("taskevents: " + e.getMessage());
            return 1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("taskevents: interrupted");
            return 130;
        }
    }

    /** This build's version, as its module records it ({@code --module-version}, the Maven version). */
    static String version() {
        return Main.class.getModule().getDescriptor() == null ? "(version unknown: not run as a module)"
                : Main.class.getModule().getDescriptor().rawVersion().orElse("(version unknown: not recorded in the module)");
    }

    /**
     * Flyway, HikariCP and jOOQ log at INFO by default; the command speaks for itself. Each record
     * is one line ({@link OneLineLogFormatter}).
     */
    private static void quietLibraryLogs() {
        Logger root = Logger.getLogger("");
        if (System.getenv("TASKEVENTS_LOG_LEVEL") != null) {
            root.setLevel(Level.parse(System.getenv("TASKEVENTS_LOG_LEVEL")));
        } else {
            root.setLevel(Level.WARNING);
        }
        boolean traces = root.getLevel().intValue() <= Level.FINE.intValue();
        for (var handler : root.getHandlers()) {
            handler.setLevel(root.getLevel());
            handler.setFormatter(new OneLineLogFormatter(traces));
        }
        Logger.getLogger("org.jooq.Constants").setLevel(Level.OFF); // the jOOQ banner
    }
}
