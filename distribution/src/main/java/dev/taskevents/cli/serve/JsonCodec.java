package dev.taskevents.cli.serve;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.TaskEventType;
import dev.taskevents.api.TaskInstance;
import dev.taskevents.api.TaskState;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * JSON in and out, strictly: a field that is unknown, repeated, of the wrong type, out of range or
 * an unknown enum value is a {@link BadRequest} naming the field (and the event's index in an
 * array), and so is anything after the JSON value. Parsing is by hand so that every message is
 * ours, and no reflection into this module is needed.
 *
 * <p>Memory. A body is read with Jackson's streaming parser, one element at a time: each element
 * is checked (an object, known fields, scalar values) and turned into its value (a
 * {@link TaskEvent}, which validates itself) as soon as its closing brace is read, before the next
 * element is looked at. So a bad element fails the request when it is reached, having cost no more
 * than the elements before it; nothing but the values made so far is kept; and no field value can
 * be a nested structure (an array or object where a string or number belongs is refused at its
 * first token). A body of {@code [{},{},...]} fails at its first element instead of building a tree
 * node and a label for every element first, which held about 55 times the body's size.
 */
final class JsonCodec {
    private static final Set<String> EVENT_FIELDS = Set.of("eventId", "type", "workflowInstanceId", "taskInstanceId",
            "state", "eventTime", "host", "logPath", "executePath", "processId", "appIds", "varPool", "startTime",
            "endTime");
    private static final Set<String> TASK_FIELDS = Set.of("id", "workflowInstanceId", "name");
    private static final Set<String> INTEGER_FIELDS = Set.of("id", "workflowInstanceId", "taskInstanceId", "processId");

    final ObjectMapper mapper = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .build();
    private final int maxVarPoolBytes;

    JsonCodec(int maxVarPoolBytes) {
        this.maxVarPoolBytes = maxVarPoolBytes;
    }

    /** Reads of one element: its label for messages (e.g. {@code "event 3"}) and its fields. */
    @FunctionalInterface
    interface ElementReader<T> {
        T read(String label, ObjectNode fields);
    }

    /** The events of a body of one event or an array of them. */
    List<TaskEvent> events(InputStream body) {
        return elements(body, "event", EVENT_FIELDS, this::event);
    }

    /** The task instances of a body of one or an array, created SUBMITTED at {@code now}. */
    List<TaskInstance> submittedTasks(InputStream body, Instant now) {
        return elements(body, "task instance", TASK_FIELDS, (label, node) -> submittedTask(label, node, now));
    }

    /**
     * One object or an array of objects, each read, checked and converted as it is reached (see
     * the class comment); then nothing but whitespace may follow.
     */
    <T> List<T> elements(InputStream body, String what, Set<String> known, ElementReader<T> reader) {
        List<T> values = new ArrayList<>();
        try (JsonParser parser = mapper.createParser(body)) {
            JsonToken first = parser.nextToken();
            if (first == null) {
                throw new BadRequest("the request body is empty; send JSON");
            }
            if (first == JsonToken.START_ARRAY) {
                for (JsonToken token = parser.nextToken(); token != JsonToken.END_ARRAY; token = parser.nextToken()) {
                    if (token == null) {
                        throw new BadRequest("malformed JSON: the array is not closed");
                    }
                    String label = what + " " + values.size();
                    values.add(reader.read(label, object(parser, token, label, known)));
                }
                if (values.isEmpty()) {
                    throw new BadRequest("the array of " + what + "s is empty");
                }
            } else {
                values.add(reader.read(what, object(parser, first, what, known)));
            }
            if (parser.nextToken() != null) {
                throw new BadRequest("malformed JSON: more data after the " + (first == JsonToken.START_ARRAY
                        ? "array" : what) + "; send one JSON value (an object or an array of them)");
            }
            return values;
        } catch (JsonProcessingException e) {
            throw new BadRequest("malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new BadRequest("unreadable request body: " + e.getClass().getSimpleName());
        }
    }

    /**
     * The object at {@code token}, as a flat node of its known fields with scalar values; anything
     * else is refused at its first token, before more is read.
     */
    private ObjectNode object(JsonParser parser, JsonToken token, String label, Set<String> known)
            throws IOException {
        if (token != JsonToken.START_OBJECT) {
            throw new BadRequest(label + " must be a JSON object, was " + kind(token));
        }
        ObjectNode fields = mapper.createObjectNode();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
            if (t == null) {
                throw new BadRequest("malformed JSON: " + label + " is not closed");
            }
            String name = parser.currentName();
            if (!known.contains(name)) {
                throw new BadRequest(label + ": unknown field \"" + cut(name) + "\"; known fields: "
                        + known.stream().sorted().collect(Collectors.joining(", ")));
            }
            JsonToken value = parser.nextToken();
            if (value == JsonToken.START_ARRAY || value == JsonToken.START_OBJECT) {
                throw new BadRequest(label + ": " + name + " must be " + (INTEGER_FIELDS.contains(name)
                        ? "an integer" : "a string") + ", was " + kind(value));
            }
            if (name.equals("varPool") && value == JsonToken.VALUE_STRING) {
                // Counted before the string is made: the parser holds it in its own buffer once.
                int bytes = utf8Length(parser.getTextCharacters(), parser.getTextOffset(), parser.getTextLength());
                if (bytes > maxVarPoolBytes) {
                    throw new BadRequest(413, label + ": varPool is " + bytes + " bytes (UTF-8), the limit is "
                            + maxVarPoolBytes + " (serve --max-var-pool-bytes)");
                }
            }
            fields.set(name, mapper.readTree(parser));
        }
        return fields;
    }

    private static int utf8Length(char[] chars, int offset, int length) {
        long bytes = 0;
        for (int i = offset; i < offset + length; i++) {
            char c = chars[i];
            bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : Character.isSurrogate(c) ? 2 : 3; // a pair: 2 + 2 = 4
        }
        return (int) Math.min(Integer.MAX_VALUE, bytes);
    }

    TaskEvent event(String label, JsonNode node) {
        TaskEventType type = enumValue(label, node, "type", TaskEventType.class, true);
        TaskState state = enumValue(label, node, "state", TaskState.class, false);
        try {
            TaskEvent.Builder builder = TaskEvent.builder(text(label, node, "eventId", true), type,
                    longValue(label, node, "workflowInstanceId"), longValue(label, node, "taskInstanceId"));
            if (state != null) {
                builder.state(state);
            }
            return builder.eventTime(instant(label, node, "eventTime"))
                    .host(text(label, node, "host", false))
                    .logPath(text(label, node, "logPath", false))
                    .executePath(text(label, node, "executePath", false))
                    .processId(intValue(label, node, "processId"))
                    .appIds(text(label, node, "appIds", false))
                    .varPool(text(label, node, "varPool", false))
                    .startTime(instant(label, node, "startTime"))
                    .endTime(instant(label, node, "endTime"))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new BadRequest(label + ": " + e.getMessage());
        }
    }

    static TaskInstance submittedTask(String label, JsonNode node, Instant now) {
        try {
            return TaskInstance.submitted(longValue(label, node, "id"), longValue(label, node, "workflowInstanceId"),
                    text(label, node, "name", true), now);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(label + ": " + e.getMessage());
        }
    }

    /**
     * One ack as JSON. A {@code Rejected} ack (an unknown task instance, or an event the store
     * refused) gets its reason and message: the message is the engine's, and is cut to 300
     * characters so that no value of any length is echoed.
     */
    void writeAck(JsonGenerator out, Acknowledgement ack) throws IOException {
        out.writeStartObject();
        out.writeStringField("eventId", ack.eventId());
        switch (ack) {
            case Acknowledgement.Applied a -> {
                out.writeStringField("outcome", "APPLIED");
                out.writeStringField("state", a.task().state().name());
                out.writeNumberField("version", a.task().version());
            }
            case Acknowledgement.Duplicate d -> {
                out.writeStringField("outcome", "DUPLICATE");
                out.writeStringField("state", d.currentState().name());
            }
            case Acknowledgement.Stale st -> {
                out.writeStringField("outcome", "STALE");
                out.writeStringField("state", st.currentState().name());
            }
            case Acknowledgement.Rejected r -> {
                out.writeStringField("outcome", "REJECTED");
                out.writeStringField("reason", r.reason().name());
                String message = r.message() == null ? "" : r.message();
                out.writeStringField("message", cut(message, 300));
            }
            case Acknowledgement.Moved m -> {
                out.writeStringField("outcome", "MOVED");
                out.writeNumberField("shard", m.shard());
                if (m.ownerAddress() == null) {
                    out.writeNullField("owner");
                } else {
                    out.writeStringField("owner", m.ownerAddress());
                }
            }
        }
        out.writeEndObject();
    }

    ObjectNode task(TaskInstance t) {
        ObjectNode json = mapper.createObjectNode()
                .put("id", t.id())
                .put("workflowInstanceId", t.workflowInstanceId())
                .put("name", t.name())
                .put("state", t.state().name())
                .put("host", t.host())
                .put("logPath", t.logPath())
                .put("executePath", t.executePath())
                .put("processId", t.processId())
                .put("appIds", t.appIds())
                .put("startTime", t.startTime() == null ? null : t.startTime().toString())
                .put("endTime", t.endTime() == null ? null : t.endTime().toString())
                .put("varPool", t.varPool())
                .put("finishEventId", t.finishEventId())
                .put("version", t.version());
        return json.put("updatedAt", t.updatedAt().toString());
    }

    ObjectNode error(String message) {
        return mapper.createObjectNode().put("error", message);
    }

    ArrayNode array() {
        return mapper.createArrayNode();
    }

    // --- field readers ---

    private static String text(String label, JsonNode node, String field, boolean required) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            if (required) {
                throw new BadRequest(label + ": " + field + " is required");
            }
            return null;
        }
        if (!value.isTextual()) {
            throw new BadRequest(label + ": " + field + " must be a string, was " + kind(value));
        }
        return value.textValue();
    }

    private static long longValue(String label, JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new BadRequest(label + ": " + field + " is required");
        }
        if (!value.isIntegralNumber()) {
            throw new BadRequest(label + ": " + field + " must be an integer, was " + kind(value));
        }
        if (!value.canConvertToLong()) {
            throw new BadRequest(label + ": " + field + " is out of range: " + cut(value.asText()));
        }
        return value.longValue();
    }

    private static int intValue(String label, JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return 0;
        }
        if (!value.isIntegralNumber()) {
            throw new BadRequest(label + ": " + field + " must be an integer, was " + kind(value));
        }
        if (!value.canConvertToInt()) {
            throw new BadRequest(label + ": " + field + " is out of range: " + cut(value.asText()));
        }
        return value.intValue();
    }

    private static Instant instant(String label, JsonNode node, String field) {
        String text = text(label, node, field, false);
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new BadRequest(label + ": " + field + " must be an ISO-8601 instant such as"
                    + " \"2026-01-31T12:00:00Z\", was \"" + cut(text) + "\"");
        }
    }

    private static <E extends Enum<E>> E enumValue(String label, JsonNode node, String field, Class<E> type,
                                                   boolean required) {
        String text = text(label, node, field, required);
        if (text == null) {
            return null;
        }
        try {
            return Enum.valueOf(type, text);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(label + ": " + field + " must be one of " + Arrays.toString(type.getEnumConstants())
                    + ", was \"" + cut(text) + "\"");
        }
    }

    private static String kind(JsonToken token) {
        return switch (token) {
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            case VALUE_NULL -> "null";
            default -> token.name().toLowerCase(Locale.ROOT);
        };
    }

    private static String kind(JsonNode value) {
        return switch (value.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> value.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    /**
     * At most 60 characters of client input for a message or a log line, each lone surrogate
     * (which a JSON encoder refuses) and control character replaced by U+FFFD.
     */
    static String cut(String text) {
        return cut(text, 60);
    }

    /** As {@link #cut(String)}, to at most {@code max} characters. */
    static String cut(String text, int max) {
        String shown = text.length() <= max ? text : text.substring(0, max);
        StringBuilder out = new StringBuilder(shown.length() + 1);
        for (int i = 0; i < shown.length(); i++) {
            char c = shown.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < shown.length() && Character.isLowSurrogate(shown.charAt(i + 1))) {
                out.append(c).append(shown.charAt(++i));
            } else {
                // A lone surrogate or a control character (a CR/LF would forge a log line) shows as U+FFFD.
                out.append(Character.isSurrogate(c) || Character.isISOControl(c) ? '\uFFFD' : c);
            }
        }
        return shown.length() < text.length() ? out.append('…').toString() : out.toString();
    }
}
