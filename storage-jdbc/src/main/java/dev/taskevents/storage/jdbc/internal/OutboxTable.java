package dev.taskevents.storage.jdbc.internal;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskState;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.SQLDataType;

/**
 * The {@code task_state_outbox} table (created by {@code V2__AddOutbox}): one row per batch write,
 * holding the state events of that batch's changes, and their text encoding.
 *
 * <p>Encoding: one line per event, seven tab-separated fields: workflow id, task id, event type,
 * state, version, commit time in microseconds since the epoch, event id. The event id is the only
 * free text; backslash, tab, newline and carriage return in it are escaped as {@code \\},
 * {@code \t}, {@code \n}, {@code \r}, so a line and its fields split unambiguously.
 */
final class OutboxTable {
    static final Table<Record> OUTBOX = table(name("task_state_outbox"));

    static final Field<Long> SEQ = field(name("seq"), SQLDataType.BIGINT.nullable(false));
    static final Field<String> ENTRIES = field(name("entries"), SQLDataType.CLOB.nullable(false));

    private OutboxTable() {}

    static String encode(List<StateEvent> events) {
        StringBuilder text = new StringBuilder(events.size() * 80);
        for (StateEvent e : events) {
            text.append(e.workflowInstanceId()).append('\t').append(e.taskInstanceId()).append('\t')
                    .append(e.eventType().name()).append('\t').append(e.state().name()).append('\t')
                    .append(e.version()).append('\t').append(ChronoUnit.MICROS.between(Instant.EPOCH, e.committedAt()))
                    .append('\t');
            String id = e.eventId();
            for (int i = 0; i < id.length(); i++) {
                char c = id.charAt(i);
                switch (c) {
                    case '\\' -> text.append("\\\\");
                    case '\t' -> text.append("\\t");
                    case '\n' -> text.append("\\n");
                    case '\r' -> text.append("\\r");
                    default -> text.append(c);
                }
            }
            text.append('\n');
        }
        return text.toString();
    }

    static List<StateEvent> decode(String text) {
        List<StateEvent> events = new ArrayList<>();
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                throw new IllegalStateException("an outbox entry is not terminated: the row was cut short");
            }
            String[] f = text.substring(start, end).split("\t", -1);
            if (f.length != 7) {
                throw new IllegalStateException("an outbox entry has " + f.length + " fields, not 7");
            }
            events.add(new StateEvent(Long.parseLong(f[0]), Long.parseLong(f[1]), TaskEventType.valueOf(f[2]),
                    TaskState.valueOf(f[3]), unescape(f[6]), Long.parseLong(f[4]),
                    Instant.EPOCH.plus(Long.parseLong(f[5]), ChronoUnit.MICROS)));
            start = end + 1;
        }
        return events;
    }

    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char next = s.charAt(++i);
                out.append(switch (next) {
                    case 't' -> '\t';
                    case 'n' -> '\n';
                    case 'r' -> '\r';
                    default -> next;
                });
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
