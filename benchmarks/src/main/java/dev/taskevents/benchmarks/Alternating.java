package dev.taskevents.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A/B (or A/B/C) measurement as this project takes it: the variants run in turn, round after round,
 * so that a slow spell of the machine falls on all of them; warm-up rounds first; then the median
 * of each with its min-max, its ratio to the first variant, and the load average before and after.
 */
final class Alternating {
    /** One variant: a run that returns its figure (events/s, say). */
    interface Variant {
        double run(String label) throws Exception;
    }

    private final Map<String, Variant> variants = new LinkedHashMap<>();

    /** Adds a variant; the first added is the one the others are compared with. */
    Alternating variant(String name, Variant run) {
        variants.put(name, run);
        return this;
    }

    /**
     * Runs {@code warmups} rounds unrecorded, then {@code rounds} recorded, and prints each round and
     * the summary in {@code unit}. Returns each variant's figures, in round order.
     */
    Map<String, Stats> run(int warmups, int rounds, String unit) throws Exception {
        for (int i = 0; i < warmups; i++) {
            for (Map.Entry<String, Variant> v : variants.entrySet()) {
                v.getValue().run("warm-up");
            }
        }
        String loadBefore = loadAverage();
        Map<String, List<Double>> figures = new LinkedHashMap<>();
        variants.keySet().forEach(name -> figures.put(name, new ArrayList<>()));
        for (int round = 1; round <= rounds; round++) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "round %d:", round));
            for (Map.Entry<String, Variant> v : variants.entrySet()) {
                double figure = v.getValue().run(v.getKey());
                figures.get(v.getKey()).add(figure);
                line.append(String.format(Locale.ROOT, "  %s %,.0f", v.getKey(), figure));
            }
            System.out.println(line.append(' ').append(unit));
        }
        String loadAfter = loadAverage();
        Map<String, Stats> stats = new LinkedHashMap<>();
        figures.forEach((name, values) -> stats.put(name, Stats.of(values.stream().mapToDouble(Double::doubleValue)
                .toArray())));
        double first = stats.values().iterator().next().median();
        System.out.printf(Locale.ROOT, "medians of %d rounds (min-max), load average before / after: %s / %s%n", rounds,
                loadBefore, loadAfter);
        stats.forEach((name, s) -> System.out.printf(Locale.ROOT, "  %-14s %,.0f (%,.0f-%,.0f) %s, %.3f x %s%n", name,
                s.median(), s.min(), s.max(), unit, s.median() / first, variants.keySet().iterator().next()));
        return stats;
    }

    /** The 1-minute load average, or "?" where /proc/loadavg cannot be read. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }
}
