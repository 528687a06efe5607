package dev.taskevents.client.internal;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import dev.taskevents.client.Ack;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * serve's wire format, as {@code EventServer} and {@code JsonCodec} speak it: the events the
 * client posts, the answers it reads back ({@code {"acks":[...]}}, {@code {"error":...}},
 * 421's {@code {"moved":[...]}}), and the feed's pages. Reading is lenient where serve may grow
 * (unknown fields are ignored) and strict where the client acts on a value (a known field of the
 * wrong type, or an unknown outcome, is a {@link Json.Malformed}: the client does not guess).
 */
public final class Wire {
    private Wire() {
    }

    /** One answer to one event: a final {@link Ack}, or what the client must do instead. */
    public sealed interface Answer {
        String eventId();
    }

    /** A final answer. */
    public record Final(Ack ack) implements Answer {
        @Override
        public String eventId() {
            return ack.eventId();
        }
    }

    /** NOT_APPLIED: the server did not apply it (a store error, an ack timeout); resend. */
    public record NotApplied(String eventId, String message) implements Answer {
    }

    /** MOVED (or an entry of 421's {@code moved}): resend to {@code owner}, or anywhere if it is null. */
    public record Moved(String eventId, int shard, String owner) implements Answer {
    }

    /** The events as serve's {@code POST /v1/events} takes them: a JSON array. */
    public static String events(List<TaskEvent> events) {
        StringBuilder out = new StringBuilder(events.size() * 200);
        out.append('[');
        for (int i = 0; i < events.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            event(events.get(i), out);
        }
        return out.append(']').toString();
    }

    /** Task instances as serve's {@code POST /v1/task-instances} takes them: id, workflow instance, name. */
    public static String tasks(List<TaskInstance> tasks) {
        StringBuilder out = new StringBuilder(tasks.size() * 80);
        out.append('[');
        for (int i = 0; i < tasks.size(); i++) {
            TaskInstance t = tasks.get(i);
            out.append(i == 0 ? "" : ",").append("{\"id\":").append(t.id()).append(",\"workflowInstanceId\":")
                    .append(t.workflowInstanceId());
            field(out, "name", t.name(), false);
            out.append('}');
        }
        return out.append(']').toString();
    }

    /** Who a task instance of {@code GET /v1/task-instances/{id}} is: its id, workflow instance and name. */
    public record TaskIdentity(long id, long workflowInstanceId, String name) {
    }

    /** The identity fields of a {@code GET /v1/task-instances/{id}} body. */
    public static TaskIdentity taskIdentity(Object body) {
        Map<?, ?> task = object(body, "a task instance");
        return new TaskIdentity(number(task, "id"), number(task, "workflowInstanceId"), text(task, "name", false));
    }

    static void event(TaskEvent e, StringBuilder out) {
        out.append('{');
        field(out, "eventId", e.eventId(), true);
        field(out, "type", e.type().name(), false);
        out.append(",\"workflowInstanceId\":").append(e.workflowInstanceId());
        out.append(",\"taskInstanceId\":").append(e.taskInstanceId());
        field(out, "state", e.state().name(), false);
        field(out, "eventTime", e.eventTime().toString(), false);
        field(out, "host", e.host(), false);
        field(out, "logPath", e.logPath(), false);
        field(out, "executePath", e.executePath(), false);
        if (e.processId() != 0) {
            out.append(",\"processId\":").append(e.processId());
        }
        field(out, "appIds", e.appIds(), false);
        field(out, "varPool", e.varPool(), false);
        field(out, "startTime", e.startTime() == null ? null : e.startTime().toString(), false);
        field(out, "endTime", e.endTime() == null ? null : e.endTime().toString(), false);
        out.append('}');
    }

    private static void field(StringBuilder out, String name, String value, boolean first) {
        if (value == null) {
            return;
        }
        if (!first) {
            out.append(',');
        }
        out.append('"').append(name).append("\":");
        Json.quote(value, out);
    }

    /** The answers of a 200 or 503 body of {@code POST /v1/events}: its {@code acks}, or none. */
    public static List<Answer> acks(Object body) {
        Object acks = body instanceof Map<?, ?> map ? map.get("acks") : null;
        if (acks == null) {
            return List.of();
        }
        List<Answer> answers = new ArrayList<>();
        for (Object ack : list(acks, "acks")) {
            answers.add(answer(object(ack, "an ack")));
        }
        return answers;
    }

    /** The entries of a 421 body's {@code moved}, as {@link Moved} answers. */
    public static List<Moved> moved(Object body) {
        Object moved = body instanceof Map<?, ?> map ? map.get("moved") : null;
        if (moved == null) {
            return List.of();
        }
        List<Moved> answers = new ArrayList<>();
        for (Object entry : list(moved, "moved")) {
            Map<?, ?> m = object(entry, "a moved entry");
            answers.add(new Moved(text(m, "eventId", true), (int) number(m, "shard"), text(m, "owner", false)));
        }
        return answers;
    }

    static Answer answer(Map<?, ?> ack) {
        String eventId = text(ack, "eventId", true);
        String outcome = text(ack, "outcome", true);
        return switch (outcome) {
            case "APPLIED" -> new Final(new Ack.Applied(eventId, state(ack), number(ack, "version")));
            case "DUPLICATE" -> new Final(new Ack.Duplicate(eventId, state(ack)));
            case "STALE" -> new Final(new Ack.Stale(eventId, state(ack)));
            case "REJECTED" -> new Final(new Ack.Rejected(eventId, enumValue(ack, "reason",
                    Acknowledgement.Rejected.Reason.class), orEmpty(text(ack, "message", false))));
            case "NOT_APPLIED" -> new NotApplied(eventId, orEmpty(text(ack, "message", false)));
            case "MOVED" -> new Moved(eventId, (int) number(ack, "shard"), text(ack, "owner", false));
            default -> throw new Json.Malformed("an ack with the unknown outcome \"" + outcome + "\"");
        };
    }

    /** The {@code error} of an error body, or a short rendering of the body if it has none. */
    public static String error(String body) {
        try {
            if (Json.parse(body) instanceof Map<?, ?> map && map.get("error") instanceof String message) {
                return message;
            }
        } catch (Json.Malformed notJson) {
            // not serve's JSON: shown as it is, cut
        }
        String shown = body.strip();
        return shown.isEmpty() ? "(no message)" : shown.length() > 300 ? shown.substring(0, 300) + "…" : shown;
    }

    /** A field of an error body, or null. */
    public static String errorField(String body, String field) {
        try {
            if (Json.parse(body) instanceof Map<?, ?> map && map.get(field) instanceof String value) {
                return value;
            }
        } catch (Json.Malformed notJson) {
            // no such field
        }
        return null;
    }

    /** One page of {@code GET /v1/state-events}. */
    public record Page(List<Entry> events, String next, long behind) {
    }

    /** One event of a page and the cursor after it. */
    public record Entry(StateEvent event, String cursor) {
    }

    /** A page; a missing {@code next} means the page ends where it began ({@code after}). */
    public static Page page(Object body, String after) {
        Map<?, ?> page = object(body, "a feed page");
        List<Entry> entries = new ArrayList<>();
        for (Object item : list(page.get("events"), "events")) {
            Map<?, ?> e = object(item, "a feed event");
            StateEvent event = new StateEvent(number(e, "workflowInstanceId"), number(e, "taskInstanceId"),
                    enumValue(e, "eventType", TaskEventType.class), state(e), text(e, "eventId", true),
                    number(e, "version"), instant(e, "committedAt"));
            entries.add(new Entry(event, text(e, "cursor", true)));
        }
        String next = text(page, "next", false);
        if (next == null) {
            next = entries.isEmpty() ? after : entries.getLast().cursor();
        }
        Object behind = page.get("behind");
        return new Page(entries, next, behind instanceof Long l ? l : 0);
    }

    private static TaskState state(Map<?, ?> m) {
        return enumValue(m, "state", TaskState.class);
    }

    private static <E extends Enum<E>> E enumValue(Map<?, ?> m, String field, Class<E> type) {
        String text = text(m, field, true);
        try {
            return Enum.valueOf(type, text);
        } catch (IllegalArgumentException e) {
            throw new Json.Malformed(field + " \"" + text + "\" is not one of " + Arrays.toString(
                    type.getEnumConstants()));
        }
    }

    private static Instant instant(Map<?, ?> m, String field) {
        String text = text(m, field, true);
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new Json.Malformed(field + " \"" + text + "\" is not an ISO-8601 instant");
        }
    }

    private static String text(Map<?, ?> m, String field, boolean required) {
        Object value = m.get(field);
        if (value == null || value == Json.NULL) {
            if (required) {
                throw new Json.Malformed("the field " + field + " is missing");
            }
            return null;
        }
        if (!(value instanceof String s)) {
            throw new Json.Malformed("the field " + field + " is not a string");
        }
        return s;
    }

    private static long number(Map<?, ?> m, String field) {
        if (!(m.get(field) instanceof Long l)) {
            throw new Json.Malformed("the field " + field + " is " + (m.containsKey(field) ? "not an integer" : "missing"));
        }
        return l;
    }

    private static Map<?, ?> object(Object value, String what) {
        if (!(value instanceof Map<?, ?> map)) {
            throw new Json.Malformed(what + " is not a JSON object");
        }
        return map;
    }

    private static List<?> list(Object value, String what) {
        if (!(value instanceof List<?> list)) {
            throw new Json.Malformed(what + " is not a JSON array");
        }
        return list;
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }
}
