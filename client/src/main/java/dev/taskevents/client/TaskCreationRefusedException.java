package dev.taskevents.client;

import java.util.List;

/**
 * The server refused to create the task instances of a {@link TaskEventsClient#createTasks} call
 * (400, 409, 413 or another 4xx that resending cannot fix); none of them was created by it.
 *
 * <p>409 means some of the ids exist already (or repeat in the call). The client answers a 409
 * this way only when it is not its own earlier try: if a try of the same call may have created
 * them (its answer was lost), the client reads the tasks back and, if every one exists with the
 * workflow instance and name it sent, the call succeeds instead.
 */
public final class TaskCreationRefusedException extends TaskEventsException {
    private static final long serialVersionUID = 1L;
    private final int status;
    private final transient List<Long> ids;

    TaskCreationRefusedException(List<Long> ids, int status, String server, String serverMessage) {
        super("the server " + server + " refused to create task instances " + shown(ids) + " (" + status + "): "
                + serverMessage + (status == 409 ? "; the ids exist already: give new ids, or read the existing"
                + " tasks with GET /v1/task-instances/{id}" : status == 404 || status == 405
                ? "; check the base URI the client was built with (it must be serve's address, e.g. http://host:8080)"
                : "; fix the tasks and create them again"), null);
        this.status = status;
        this.ids = List.copyOf(ids);
    }

    private static String shown(List<Long> ids) {
        return ids.size() <= 10 ? ids.toString() : ids.subList(0, 10) + " and " + (ids.size() - 10) + " more";
    }

    /** The HTTP status of the refusal. */
    public int status() {
        return status;
    }

    /** The ids of the task instances the call asked for, in its order. */
    public List<Long> ids() {
        return ids;
    }
}
