package dev.taskevents.api.spi;

import java.time.Duration;

/**
 * A store's durable feed of committed state changes, for readers that follow it with a cursor
 * they keep themselves (a remote scheduler through {@code serve}). Reached through
 * {@link TaskInstanceStore#stateFeed()}; written by batches whose {@link WriteBatch#recordIn()}
 * holds {@link StateEventLog#FEED}.
 *
 * <h2>What a reader may rely on</h2>
 * <ul>
 *   <li>Every change of a committed batch has a position; the committed positions are exactly
 *       {@code 1..head()}, in commit order (a batch that committed before another began has the
 *       lower positions), each change once.
 *   <li>{@link #read} returns only a gapless run of positions starting right after the position
 *       asked for: it never passes a position that is committed but not yet visible to it. So a
 *       reader that resumes after the last position it read misses nothing, however the
 *       database orders the visibility of concurrent commits.
 *   <li>A position whose successors were deleted by retention is refused
 *       ({@link FeedPositionExpiredException}), as is one beyond the head
 *       ({@link FeedPositionAheadException}): never a silent gap.
 * </ul>
 * Consumers get each change at least once by resuming from their stored position; a change read
 * twice (a resume from an older position) has the same task id and version, by which a consumer
 * drops it.
 */
public interface StateEventFeed {

    /**
     * This feed's identity: random, fixed when the feed was created. Positions of one feed mean
     * nothing in another (another database, or one created anew); a cursor carries it.
     */
    long feedId();

    /**
     * The changes after position {@code after}, oldest first, at most {@code limit}, at
     * consecutive positions from {@code after + 1}; empty if none is visible yet.
     *
     * @throws IllegalArgumentException if {@code after} is negative or {@code limit} below 1
     * @throws FeedPositionExpiredException if retention deleted changes after {@code after}
     * @throws FeedPositionAheadException if {@code after} is beyond the last committed position
     * @throws StoreException if the store could not be read
     */
    FeedPage read(long after, int limit);

    /** The last committed position; 0 for an empty feed. */
    long head();

    /** The position up to which retention deleted the changes; 0 if none was deleted. */
    long prunedThrough();

    /**
     * One step of retention: deletes at most about {@code maxEvents} of the oldest changes (whole
     * batches; at least one batch if it qualifies) recorded more than {@code retention} ago by the
     * store's clock, never a change younger than one it keeps. Writers are not held up by it.
     *
     * @return the pruned-through position after this step; unchanged if nothing was old enough
     * @throws IllegalArgumentException if {@code retention} is negative or {@code maxEvents} below 1
     * @throws StoreException if the store failed
     */
    long prune(Duration retention, int maxEvents);

    /**
     * Adds a listener called after each batch written through this store handle that appended to
     * the feed, once its transaction committed (not for one rolled back), on the writing thread:
     * it must return quickly. Commits of other processes sharing the database call nothing: poll
     * {@link #head()} for those.
     */
    void addListener(Runnable appended);

    /** Removes a listener added by {@link #addListener}; nothing if it is not there. */
    void removeListener(Runnable appended);
}
