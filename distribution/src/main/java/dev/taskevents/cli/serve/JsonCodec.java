package dev.taskevents.cli.serve;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
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
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * JSON in and out, strictly: a field that is unknown, repeated, of the wrong type, out of range or
 * an unknown enum value is a {@link BadRequest} naming the field (and the event's index in an
 * array). Parsing is by hand over Jackson's tree so that every message is ours, and no reflection
 * into this module is needed.
 */
final class JsonCodec {
    private static final Set<String> EVENT_FIELDS = Set.of("eventId", "type", "workflowInstanceId", "taskInstanceId",
            "state", "eventTime", "host", "logPath", "executePath", "processId", "appIds", "varPool", "startTime",
            "endTime");
    private static final Set<String> TASK_FIELDS = Set.of("id", "workflowInstanceId", "name");

    final ObjectMapper mapper = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .disable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
            .build();

    JsonNode parse(byte[] body) {
        if (body.length == 0) {
            throw new BadRequest("the request body is empty; send JSON");
        }
        try {
            JsonNode node = mapper.readTree(body);
            if (node == null || node.isMissingNode()) {
                throw new BadRequest("the request body is empty; send JSON");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new BadRequest("malformed JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new BadRequest("unreadable request body: " + e.getMessage());
        }
    }

    /** One object or an array of objects, as a list with each element's label for messages. */
    static List<Map.Entry<String, JsonNode>> elements(JsonNode body, String what) {
        List<Map.Entry<String, JsonNode>> elements = new ArrayList<>();
        if (body.isArray()) {
            if (body.isEmpty()) {
                throw new BadRequest("the array of " + what + "s is empty");
            }
            for (int i = 0; i < body.size(); i++) {
                elements.add(Map.entry(what + " " + i, body.get(i)));
            }
        } else {
            elements.add(Map.entry(what, body));
        }
        for (Map.Entry<String, JsonNode> e : elements) {
            if (!e.getValue().isObject()) {
                throw new BadRequest(e.getKey() + " must be a JSON object, was " + kind(e.getValue()));
            }
        }
        return elements;
    }

    static TaskEvent event(String label, JsonNode node) {
        unknownFields(label, node, EVENT_FIELDS);
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
        unknownFields(label, node, TASK_FIELDS);
        try {
            return TaskInstance.submitted(longValue(label, node, "id"), longValue(label, node, "workflowInstanceId"),
                    text(label, node, "name", true), now);
        } catch (IllegalArgumentException e) {
            throw new BadRequest(label + ": " + e.getMessage());
        }
    }

    ObjectNode ack(Acknowledgement ack) {
        ObjectNode json = mapper.createObjectNode().put("eventId", ack.eventId());
        switch (ack) {
            case Acknowledgement.Applied a -> json.put("outcome", "APPLIED").put("state", a.task().state().name())
                    .put("version", a.task().version());
            case Acknowledgement.Duplicate d -> json.put("outcome", "DUPLICATE").put("state", d.currentState().name());
            case Acknowledgement.Stale s -> json.put("outcome", "STALE").put("state", s.currentState().name());
            case Acknowledgement.Rejected r -> json.put("outcome", "REJECTED").put("reason", r.reason().name())
                    .put("message", r.message());
        }
        return json;
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

    private static void unknownFields(String label, JsonNode node, Set<String> known) {
        for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw new BadRequest(label + ": unknown field \"" + cut(name) + "\"; known fields: "
                        + known.stream().sorted().collect(Collectors.joining(", ")));
            }
        }
    }

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

    private static String kind(JsonNode value) {
        return switch (value.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> value.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** Echo at most 60 characters of client input in a message. */
    private static String cut(String text) {
        return text.length() <= 60 ? text : text.substring(0, 60) + "…";
    }
}
