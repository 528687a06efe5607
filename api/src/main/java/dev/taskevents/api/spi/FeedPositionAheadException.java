package dev.taskevents.api.spi;

/**
 * A feed read asked for changes after a position the feed has not reached: the position came
 * from a feed that went further (a database restored from an older backup, or replaced). Waiting
 * would deliver changes that are not the ones the reader missed, so the read is refused.
 */
public class FeedPositionAheadException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long position;
    private final long head;

    /**
     * @param position the position the read asked to continue after
     * @param head the feed's last committed position
     */
    public FeedPositionAheadException(long position, long head) {
        super("the feed's last position is " + head + ", behind the position " + position + " the read asked to"
                + " continue after: the database was restored or replaced since that position was read;"
                + " resynchronise the task states from the store and resume from the feed's head");
        this.position = position;
        this.head = head;
    }

    /** The position the read asked to continue after. */
    public long position() {
        return position;
    }

    /** The feed's last committed position. */
    public long head() {
        return head;
    }
}
