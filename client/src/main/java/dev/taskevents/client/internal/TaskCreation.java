package dev.taskevents.client.internal;

import dev.taskevents.api.TaskInstance;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * One {@code POST /v1/task-instances} call, tried until the server answers it for good.
 *
 * <h2>Guarantees</h2>
 * <ul>
 *   <li>Returns normally only when every task instance exists as asked: a 201, or a 409 explained
 *       by an earlier try of this call (below).
 *   <li>Resends, with the sending's backoff and full jitter and never sooner than
 *       {@code Retry-After}: a refused, reset or timed-out connection, 5xx, 408 and 429.
 *   <li>A 409 (an id exists) is final unless a try of this same call may have created the tasks:
 *       serve creates all of a request or none, so when an earlier try's answer was lost the 409
 *       may be that try's work. Then each task is read back ({@code GET /v1/task-instances/{id}});
 *       if every one exists with the workflow instance and name sent, the call succeeded (the
 *       tasks may have moved past SUBMITTED since: workers may already report on them). If one is
 *       missing or differs, the 409 was someone else's task, and it is final.
 *   <li>Final: 401/403, 400/413/404 and other 4xx, a certificate not trusted, the
 *       {@code giveUpAfter} bound.
 * </ul>
 *
 * <p>"May have created" is every try that got no answer from serve's handler, except a refused
 * or timed-out connection (nothing was read) and a try not sent at all (no token to send:
 * {@link Transport.TokenUnavailable}). It is conservative: a 503 for a full server created nothing,
 * and a 409 after it is still read back, which costs reads, never a wrong answer.
 */
public final class TaskCreation {
    private final Transport transport;
    private final Routes routes;
    private final Backoff backoff;
    private final Duration giveUpAfter;
    private final Errors errors;

    public TaskCreation(Transport transport, Routes routes, Backoff backoff, Duration giveUpAfter, Errors errors) {
        this.transport = transport;
        this.routes = routes;
        this.backoff = backoff;
        this.giveUpAfter = giveUpAfter;
        this.errors = errors;
    }

    /** Creates {@code tasks} (checked by the caller: not empty, SUBMITTED, no id twice). */
    public void create(List<TaskInstance> tasks) throws InterruptedException {
        List<Long> ids = tasks.stream().map(TaskInstance::id).toList();
        String body = Wire.tasks(tasks);
        long start = System.nanoTime();
        boolean mayHaveCreated = false;
        URI avoid = null;
        for (int attempt = 1; ; attempt++) {
            URI node = routes.feedNode(avoid);
            avoid = null;
            Throwable failure;
            long retryAfter = 0;
            CompletableFuture<HttpResponse<String>> call = transport.post(node, "/v1/task-instances", body);
            try {
                HttpResponse<String> response = call.get();
                int status = response.statusCode();
                String text = response.body() == null ? "" : response.body();
                if (status == 201) {
                    return;
                }
                if (status == 401 || status == 403) {
                    throw errors.unauthorized(status, node);
                }
                if (status == 409 && mayHaveCreated) {
                    Boolean ours = createdAsAsked(node, tasks);
                    if (Boolean.TRUE.equals(ours)) {
                        return;
                    }
                    if (Boolean.FALSE.equals(ours)) {
                        throw errors.tasksRefused(ids, status, node, Wire.error(text));
                    }
                    failure = new IOException("the tasks could not be read back after a 409 from " + node);
                } else if (status < 500 && status != 408 && status != 429) {
                    throw errors.tasksRefused(ids, status, node, Wire.error(text));
                } else {
                    failure = new IOException("HTTP " + status + " from " + node + ": " + Wire.error(text));
                    retryAfter = Backoff.retryAfterNanos(response.headers());
                    mayHaveCreated = true;
                }
            } catch (ExecutionException e) {
                failure = Transport.unwrap(e);
                if (Transport.isTlsFailure(failure)) {
                    throw errors.tls(node, failure);
                }
                if (Transport.isConnectionRefused(failure) || failure instanceof HttpConnectTimeoutException) {
                    routes.unreachable(node);
                    avoid = node;
                } else if (!(failure instanceof Transport.TokenUnavailable)) {
                    mayHaveCreated = true; // sent, maybe read and committed, and the answer lost
                }
            } catch (InterruptedException e) {
                call.cancel(true);
                throw e;
            }
            long delay = backoff.delayNanos(attempt, retryAfter);
            if (!giveUpAfter.isZero() && System.nanoTime() + delay - start > giveUpAfter.toNanos()) {
                throw errors.unavailable("the creation of task instances " + ids, routes.nodes(), giveUpAfter, failure);
            }
            TimeUnit.NANOSECONDS.sleep(delay);
        }
    }

    /**
     * Whether every task exists as sent (true), one is missing or differs (false), or null if a read
     * failed (try again later).
     */
    private Boolean createdAsAsked(URI node, List<TaskInstance> tasks) throws InterruptedException {
        for (TaskInstance t : tasks) {
            HttpResponse<String> response;
            try {
                response = transport.get(node, "/v1/task-instances/" + t.id(), Duration.ZERO).get();
            } catch (ExecutionException e) {
                Throwable failure = Transport.unwrap(e);
                if (Transport.isTlsFailure(failure)) {
                    throw errors.tls(node, failure);
                }
                return null;
            }
            int status = response.statusCode();
            if (status == 404) {
                return false;
            }
            if (status == 401 || status == 403) {
                throw errors.unauthorized(status, node);
            }
            if (status != 200) {
                return null;
            }
            Wire.TaskIdentity found;
            try {
                found = Wire.taskIdentity(Json.parse(response.body()));
            } catch (Json.Malformed e) {
                return null;
            }
            if (found.id() != t.id() || found.workflowInstanceId() != t.workflowInstanceId()
                    || !Objects.equals(found.name(), t.name())) {
                return false;
            }
        }
        return true;
    }
}
