package dev.taskevents.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * Temporary directories that tests make (H2 files, serve's logs, a run's files), deleted with
 * everything in them when the test JVM exits, so that runs leave nothing behind in the system's
 * temporary directory. A test that keeps a server running in one stops it before then.
 */
public final class TempDirs {
    private static final Set<Path> MADE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(TempDirs::deleteAll, "temp-dirs-cleanup"));
    }

    private TempDirs() {
    }

    /** A new directory in the system's temporary directory, its name starting with {@code prefix}. */
    public static Path create(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        MADE.add(dir);
        return dir;
    }

    private static void deleteAll() {
        for (Path dir : MADE) {
            try (Stream<Path> paths = Files.walk(dir)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException | RuntimeException e) {
                System.err.println("TempDirs: could not delete " + dir + ": " + e);
            }
        }
    }
}
