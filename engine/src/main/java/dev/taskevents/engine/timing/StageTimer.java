package dev.taskevents.engine.timing;

import dev.taskevents.engine.StageLatencies;
import dev.taskevents.engine.StageLatencies.Stage;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Records the durations of {@link Stage}s into fixed buckets ({@link StageLatencies#BOUNDS_SECONDS}):
 * lock-free, a few nanoseconds a record, so that it stays on in production.
 */
public final class StageTimer {
    private static final long[] BOUNDS_NANOS = StageLatencies.BOUNDS_SECONDS.stream()
            .mapToLong(seconds -> Math.round(seconds * 1e9)).toArray();

    private final Map<Stage, LongAdder[]> buckets = new EnumMap<>(Stage.class);
    private final Map<Stage, LongAdder> sums = new EnumMap<>(Stage.class);

    public StageTimer() {
        for (Stage stage : Stage.values()) {
            LongAdder[] counts = new LongAdder[BOUNDS_NANOS.length + 1];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new LongAdder();
            }
            buckets.put(stage, counts);
            sums.put(stage, new LongAdder());
        }
    }

    /** Records that something spent {@code nanos} in {@code stage}. */
    public void record(Stage stage, long nanos) {
        record(stage, nanos, 1);
    }

    /** Records {@code times} durations of {@code nanos} each in {@code stage}: the rows of one batch. */
    public void record(Stage stage, long nanos, int times) {
        long duration = Math.max(0, nanos);
        int i = 0;
        while (i < BOUNDS_NANOS.length && duration > BOUNDS_NANOS[i]) {
            i++;
        }
        buckets.get(stage)[i].add(times);
        sums.get(stage).add(duration * times);
    }

    public StageLatencies snapshot() {
        Map<Stage, StageLatencies.Histogram> histograms = new EnumMap<>(Stage.class);
        for (Stage stage : Stage.values()) {
            List<Long> counts = new ArrayList<>();
            for (LongAdder count : buckets.get(stage)) {
                counts.add(count.sum());
            }
            histograms.put(stage, new StageLatencies.Histogram(counts, sums.get(stage).sum()));
        }
        return new StageLatencies(histograms);
    }
}
