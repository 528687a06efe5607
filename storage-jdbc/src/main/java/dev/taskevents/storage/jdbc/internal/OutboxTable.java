package dev.taskevents.storage.jdbc.internal;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import java.time.LocalDateTime;
import java.util.List;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.SQLDataType;

/** The {@code task_state_outbox} table (created by {@code V2__AddOutbox}). */
final class OutboxTable {
    static final Table<Record> OUTBOX = table(name("task_state_outbox"));

    static final Field<Long> SEQ = field(name("seq"), SQLDataType.BIGINT.nullable(false));
    static final Field<Long> WORKFLOW_INSTANCE_ID = field(name("workflow_instance_id"), SQLDataType.BIGINT);
    static final Field<Long> TASK_INSTANCE_ID = field(name("task_instance_id"), SQLDataType.BIGINT);
    static final Field<String> EVENT_TYPE = field(name("event_type"), SQLDataType.VARCHAR(16));
    static final Field<String> STATE = field(name("state"), SQLDataType.VARCHAR(16));
    static final Field<String> EVENT_ID = field(name("event_id"), SQLDataType.VARCHAR(128));
    static final Field<Long> VERSION = field(name("version"), SQLDataType.BIGINT);
    static final Field<LocalDateTime> COMMITTED_AT = field(name("committed_at"), SQLDataType.LOCALDATETIME(6));

    /** The columns an insert gives ({@code seq} is generated). */
    static final List<Field<?>> INSERTED = List.of(WORKFLOW_INSTANCE_ID, TASK_INSTANCE_ID, EVENT_TYPE, STATE,
            EVENT_ID, VERSION, COMMITTED_AT);

    private OutboxTable() {}

    static StateEvent read(Record r) {
        return new StateEvent(r.get(WORKFLOW_INSTANCE_ID), r.get(TASK_INSTANCE_ID),
                TaskEventType.valueOf(r.get(EVENT_TYPE)), TaskState.valueOf(r.get(STATE)), r.get(EVENT_ID),
                r.get(VERSION), TaskInstanceTable.instant(r.get(COMMITTED_AT)));
    }

    /** The entry's values in {@link #INSERTED} order. */
    static Object[] values(StateEvent e) {
        return new Object[] {e.workflowInstanceId(), e.taskInstanceId(), e.eventType().name(), e.state().name(),
                e.eventId(), e.version(), TaskInstanceTable.local(e.committedAt())};
    }
}
