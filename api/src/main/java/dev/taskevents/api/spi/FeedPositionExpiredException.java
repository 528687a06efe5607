package dev.taskevents.api.spi;

/**
 * A feed read asked for changes after a position whose successors were deleted by retention
 * ({@link StateEventFeed#prune}): reading on would silently skip them, so the read is refused.
 * The reader resumes after {@link #oldest()} and resynchronises the task states it missed.
 */
public class FeedPositionExpiredException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long position;
    private final long oldest;

    /**
     * @param position the position the read asked to continue after
     * @param oldest the position from which the feed still holds every later change
     */
    public FeedPositionExpiredException(long position, long oldest) {
        super("the feed no longer holds the changes after position " + position + ": the changes up to position "
                + oldest + " were deleted by retention; resume after position " + oldest
                + " and resynchronise the task states read from the store");
        this.position = position;
        this.oldest = oldest;
    }

    /** The position the read asked to continue after. */
    public long position() {
        return position;
    }

    /** The position after which the feed holds every change (the pruned-through position). */
    public long oldest() {
        return oldest;
    }
}
