package dev.taskevents.api.spi;

import java.util.List;

/**
 * What one {@link StateEventFeed#read} returned.
 *
 * @param events the changes after the position asked for, at consecutive positions starting at
 *     that position + 1; empty if none is visible yet
 * @param head the last committed position the store knew of when it read (at least the last
 *     event's position); {@code head - lastPosition} is how far the reader is behind
 * @param stoppedAtHole whether the read stopped before a position that is committed but not yet
 *     visible to it (a commit becoming visible out of order): read again shortly, since no later
 *     commit may come to prompt it
 */
public record FeedPage(List<FeedEvent> events, long head, boolean stoppedAtHole) {
    public FeedPage {
        events = List.copyOf(events);
        for (int i = 1; i < events.size(); i++) {
            if (events.get(i).position() != events.get(i - 1).position() + 1) {
                throw new IllegalArgumentException("feed positions must be consecutive: " + events.get(i - 1).position()
                        + " is followed by " + events.get(i).position());
            }
        }
    }

    /** The position after which the next read continues: the last event's, or {@code after} if none. */
    public long next(long after) {
        return events.isEmpty() ? after : events.get(events.size() - 1).position();
    }
}
