package dev.taskevents.api.spi;

import java.util.List;

/** {@link TaskInstanceStore#insert} was given ids that exist already or repeat; nothing was written. */
public class DuplicateTaskInstanceException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final transient List<Long> ids;

    public DuplicateTaskInstanceException(List<Long> ids) {
        super("task instance ids exist already (or repeat in the request), nothing was inserted: " + ids);
        this.ids = List.copyOf(ids);
    }

    /** The ids that exist already or repeat. */
    public List<Long> ids() {
        return ids;
    }
}
