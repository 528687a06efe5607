package dev.taskevents.engine.commit;

import dev.taskevents.api.spi.WriteOutcome;

/**
 * The outcome of one row's write, and whether an earlier attempt of its batch failed with an
 * unknown outcome. {@code ambiguous} with {@link WriteOutcome#VERSION_CONFLICT} usually means the
 * earlier attempt committed and this attempt found its own write: the caller must check the row.
 *
 * @param outcome what the attempt that returned reported for the row
 * @param ambiguous whether an earlier attempt of the batch threw after possibly committing
 */
public record Commit(WriteOutcome outcome, boolean ambiguous) {}
