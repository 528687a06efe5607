package dev.taskevents.client;

import dev.taskevents.api.StateEvent;
import java.util.Objects;

/**
 * One state event of the feed and the cursor just after it: store {@code cursor} once the event is
 * handled, and a feed resumed from it continues with the next event.
 *
 * <p>Delivery is at least once: a feed resumed from a cursor stored before the last handled event
 * repeats events. Drop a repeat by {@code (event.taskInstanceId(), event.version())}: a version is
 * unique per task instance and rises with every change, so an event whose version is not above
 * the last one seen for its task instance has been handled.
 *
 * @param event the committed change
 * @param cursor the feed's position after it
 */
public record FeedItem(StateEvent event, FeedCursor cursor) {
    public FeedItem {
        Objects.requireNonNull(event, "event");
        Objects.requireNonNull(cursor, "cursor");
    }
}
