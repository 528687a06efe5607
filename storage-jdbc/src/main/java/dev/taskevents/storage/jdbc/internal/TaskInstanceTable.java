package dev.taskevents.storage.jdbc.internal;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.SQLDataType;

/**
 * The {@code task_instance} table, written by hand rather than generated: two tables do not earn
 * a code generator that needs a live database (or a DDL parser) at build time. The migrations
 * create the tables with literal DDL; these definitions must match them. Times are stored as UTC
 * timestamps with microseconds, the finest precision all four databases keep.
 */
public final class TaskInstanceTable {
    public static final Table<Record> TASK_INSTANCE = table(name("task_instance"));

    public static final Field<Long> ID = field(name("id"), SQLDataType.BIGINT.nullable(false));
    public static final Field<Long> WORKFLOW_INSTANCE_ID =
            field(name("workflow_instance_id"), SQLDataType.BIGINT.nullable(false));
    public static final Field<String> NAME = field(name("name"), SQLDataType.CLOB.nullable(false));
    public static final Field<String> STATE = field(name("state"), SQLDataType.VARCHAR(16).nullable(false));
    public static final Field<String> HOST = field(name("host"), SQLDataType.VARCHAR(255).nullable(true));
    public static final Field<String> LOG_PATH = field(name("log_path"), SQLDataType.CLOB.nullable(true));
    public static final Field<String> EXECUTE_PATH = field(name("execute_path"), SQLDataType.CLOB.nullable(true));
    public static final Field<Integer> PID = field(name("pid"), SQLDataType.INTEGER.nullable(false));
    public static final Field<String> APP_IDS = field(name("app_ids"), SQLDataType.CLOB.nullable(true));
    public static final Field<LocalDateTime> START_TIME =
            field(name("start_time"), SQLDataType.LOCALDATETIME(6).nullable(true));
    public static final Field<LocalDateTime> END_TIME =
            field(name("end_time"), SQLDataType.LOCALDATETIME(6).nullable(true));
    public static final Field<String> VAR_POOL = field(name("var_pool"), SQLDataType.CLOB.nullable(true));
    public static final Field<String> FINISH_EVENT_ID =
            field(name("finish_event_id"), SQLDataType.VARCHAR(128).nullable(true));
    public static final Field<String> LAST_EVENT_ID =
            field(name("last_event_id"), SQLDataType.VARCHAR(128).nullable(true));
    public static final Field<Long> VERSION = field(name("version"), SQLDataType.BIGINT.nullable(false));
    public static final Field<LocalDateTime> UPDATED_AT =
            field(name("updated_at"), SQLDataType.LOCALDATETIME(6).nullable(false));

    /** Every column, in table order. */
    public static final List<Field<?>> COLUMNS = List.of(ID, WORKFLOW_INSTANCE_ID, NAME, STATE, HOST, LOG_PATH,
            EXECUTE_PATH, PID, APP_IDS, START_TIME, END_TIME, VAR_POOL, FINISH_EVENT_ID, LAST_EVENT_ID, VERSION, UPDATED_AT);

    private TaskInstanceTable() {}

    static TaskInstance read(Record r) {
        return new TaskInstance(r.get(ID), r.get(WORKFLOW_INSTANCE_ID), r.get(NAME), TaskState.valueOf(r.get(STATE)),
                r.get(HOST), r.get(LOG_PATH), r.get(EXECUTE_PATH), r.get(PID), r.get(APP_IDS),
                instant(r.get(START_TIME)), instant(r.get(END_TIME)), r.get(VAR_POOL), r.get(FINISH_EVENT_ID),
                r.get(LAST_EVENT_ID), r.get(VERSION), instant(r.get(UPDATED_AT)));
    }

    /** The row's values in {@link #COLUMNS} order. */
    static Object[] values(TaskInstance t) {
        return new Object[] {t.id(), t.workflowInstanceId(), t.name(), t.state().name(), t.host(), t.logPath(),
                t.executePath(), t.processId(), t.appIds(), local(t.startTime()), local(t.endTime()), t.varPool(),
                t.finishEventId(), t.lastEventId(), t.version(), local(t.updatedAt())};
    }

    static LocalDateTime local(Instant instant) {
        return instant == null ? null : LocalDateTime.ofInstant(instant, ZoneOffset.UTC);
    }

    static Instant instant(LocalDateTime time) {
        return time == null ? null : time.toInstant(ZoneOffset.UTC);
    }
}
