package dev.taskevents.storage.jdbc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.api.spi.TaskInstanceStore;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A process that dies right after a batch committed, before telling anyone, loses no state event:
 * the next process tells it at start, from the outbox. Each round runs {@link CrashingEngine} in a
 * child JVM that halts right after its n-th commit (n random, seeded); a last round runs to the
 * end. The oracle is the ledger the children's sinks wrote to a file, checked against the
 * database: every committed change of every task was told at least once, and for each workflow
 * the first telling of each change came in commit order. Size: {@code
 * -Dtaskevents.reliability.workflows} (CI: 40 workflows, 4 tasks each) and {@code
 * -Dtaskevents.reliability.kills} (CI: 5).
 */
class CrashBetweenCommitAndTellingTest {

    @Test
    void changesCommittedJustBeforeACrashAreToldByTheNextProcess() throws Exception {
        int workflows = Math.max(8, Integer.getInteger("taskevents.reliability.workflows", 200) / 5);
        int tasks = 4;
        int crashes = Integer.getInteger("taskevents.reliability.kills", 5);
        String url = TestDatabases.freshUrl(TestDatabases.Server.POSTGRES);
        Path ledger = Files.createTempFile("taskevents-ledger-", ".txt");
        List<TaskInstance> rows = new ArrayList<>();
        for (int wf = 1; wf <= workflows; wf++) {
            for (int t = 0; t < tasks; t++) {
                rows.add(TaskInstance.submitted(CrashingEngine.taskId(wf, t), wf, "t" + t, CrashingEngine.T));
            }
        }
        Random random = new Random(42);
        int untoldAtRestart = 0;
        try (TaskInstanceStore store = JdbcStores.open(JdbcStoreOptions.of(url))) {
            store.insert(rows);
            for (int round = 0; round <= crashes; round++) {
                int haltAfter = round < crashes ? 1 + random.nextInt(4) : 0;
                int exit = runChild(url, ledger, workflows, tasks, haltAfter);
                assertEquals(round < crashes ? 137 : 0, exit, "round " + round + " exit code");
                if (round < crashes) {
                    int pending = store.pendingStateEvents(100_000).size();
                    assertTrue(pending > 0, "round " + round + ": the halted batch's changes must wait in the outbox");
                    untoldAtRestart += pending;
                }
            }
            assertEquals(List.of(), store.pendingStateEvents(10), "everything told and removed at the end");

            Map<Long, List<long[]>> toldPerTask = new HashMap<>();
            Map<Long, List<Long>> firstTellingsPerWorkflow = new HashMap<>();
            for (String line : Files.readAllLines(ledger, StandardCharsets.UTF_8)) {
                String[] f = line.split(" ");
                long task = Long.parseLong(f[0]);
                long version = Long.parseLong(f[1]);
                String eventId = f[2];
                assertEquals((version == 1 ? "r" : "x") + task, eventId, "the event that made version " + version);
                List<long[]> seen = toldPerTask.computeIfAbsent(task, k -> new ArrayList<>());
                if (seen.stream().noneMatch(v -> v[0] == version)) {
                    firstTellingsPerWorkflow.computeIfAbsent(task / 100, k -> new ArrayList<>())
                            .add(task * 10 + version);
                }
                seen.add(new long[] {version});
            }
            int tellings = 0;
            for (TaskInstance row : rows) {
                TaskInstance stored = store.find(row.id()).orElseThrow();
                assertEquals(TaskState.SUCCESS, stored.state());
                assertEquals(2, stored.version(), "task " + row.id() + " changed exactly twice");
                List<long[]> told = toldPerTask.getOrDefault(row.id(), List.of());
                assertTrue(told.stream().anyMatch(v -> v[0] == 1) && told.stream().anyMatch(v -> v[0] == 2),
                        "task " + row.id() + ": both committed changes told");
                tellings += told.size();
            }
            for (Map.Entry<Long, List<Long>> e : firstTellingsPerWorkflow.entrySet()) {
                List<Long> sorted = e.getValue().stream().sorted().toList();
                assertEquals(sorted, e.getValue(), "workflow " + e.getKey() + ": first tellings in commit order");
            }
            System.out.printf("RELIABILITY crash-before-telling: workflows=%d changes=%d crashes=%d"
                            + " untold-at-restart=%d tellings=%d repeats=%d lost=0%n", workflows, rows.size() * 2,
                    crashes, untoldAtRestart, tellings, tellings - rows.size() * 2);
        } finally {
            Files.deleteIfExists(ledger);
        }
    }

    private static int runChild(String url, Path ledger, int workflows, int tasks, int haltAfter) throws Exception {
        String self = Path.of(CrashingEngine.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .toString();
        String classPath = String.join(File.pathSeparator, self,
                System.getProperty("jdk.module.path", ""), System.getProperty("java.class.path", ""));
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", classPath, CrashingEngine.class.getName(), url, ledger.toString(),
                String.valueOf(workflows), String.valueOf(tasks), String.valueOf(haltAfter))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!child.waitFor(120, TimeUnit.SECONDS)) {
            child.destroyForcibly();
            throw new AssertionError("the child engine did not finish within 120 s");
        }
        return child.exitValue();
    }
}
