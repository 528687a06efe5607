package dev.taskevents.api.spi;

import dev.taskevents.api.StateEvent;
import java.util.Objects;

/**
 * One change in a {@link StateEventFeed}.
 *
 * @param position the change's position in the feed: positions are 1, 2, 3, ... in commit
 *     order, with no gap; a reader that resumes after {@code position} gets the next change
 * @param event the change
 */
public record FeedEvent(long position, StateEvent event) {
    public FeedEvent {
        if (position < 1) {
            throw new IllegalArgumentException("a feed position is at least 1, was " + position);
        }
        Objects.requireNonNull(event, "event");
    }
}
