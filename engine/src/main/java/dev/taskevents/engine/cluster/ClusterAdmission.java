package dev.taskevents.engine.cluster;

import dev.taskevents.api.Acknowledgement;
import dev.taskevents.api.Shards;
import dev.taskevents.api.TaskEvent;
import dev.taskevents.api.spi.StoreException;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongPredicate;

/**
 * Which events a cluster node takes: those of the shards it holds, each under its shard's tenure.
 * At submit, an event is refused at once while the node's lease is not renewed, and answered
 * {@code Moved} at once if its shard is not held here and no earlier event of its workflow waits;
 * otherwise it queues behind its workflow's events and is admitted in turn ({@link #admit}).
 */
public final class ClusterAdmission {
    /** Runs an admitted event under its shard's tenure (the engine's own processing). */
    public interface Processor {
        CompletableFuture<Acknowledgement> process(TaskEvent event, ShardTenure tenure);
    }

    private final ClusterMember member;
    private final Processor processor;

    public ClusterAdmission(ClusterMember member, Processor processor) {
        this.member = member;
        this.processor = processor;
    }

    /**
     * The answer to {@code event} at submit, if it has one before it queues: a failure while the
     * lease is not renewed, or {@code Moved} when its shard is not held here and
     * {@code workflowIdle} says no earlier event of its workflow waits (a client following the Moved
     * must not reach the new owner before those events do). Null when it is to queue.
     */
    public CompletableFuture<Acknowledgement> atSubmit(TaskEvent event, LongPredicate workflowIdle) {
        int shard = shardOf(event.workflowInstanceId());
        if (!member.admitting()) {
            return CompletableFuture.failedFuture(new StoreException("cluster node " + member.nodeId()
                    + " has not renewed its lease within the lease time; it takes no events until a heartbeat"
                    + " reaches the store again (is the database reachable?): resend event " + event.eventId()
                    + " later, or to another node"));
        }
        if (member.tenure(shard) == null && workflowIdle.test(event.workflowInstanceId())) {
            return CompletableFuture.completedFuture(moved(event, shard));
        }
        return null;
    }

    /**
     * Runs {@code event} under its shard's tenure if that is ACTIVE, parks it (in arrival order)
     * while the tenure is being taken or given up, answers {@code Moved} if the shard is not held.
     * See {@link ShardTenure} for why a drain waits for every event that runs.
     */
    public CompletableFuture<Acknowledgement> admit(TaskEvent event) {
        int shard = shardOf(event.workflowInstanceId());
        ShardTenure tenure = member.tenure(shard);
        if (tenure == null) {
            return CompletableFuture.completedFuture(moved(event, shard));
        }
        if (tenure.enter()) {
            CompletableFuture<Acknowledgement> outcome;
            try {
                outcome = processor.process(event, tenure);
            } catch (Throwable e) {
                outcome = CompletableFuture.failedFuture(e);
            }
            return outcome.whenComplete((answer, error) -> tenure.exit());
        }
        CompletableFuture<Void> resumed = new CompletableFuture<>();
        if (tenure.park(() -> resumed.complete(null))) {
            return resumed.thenCompose(x -> admit(event));
        }
        return admit(event); // the tenure went ACTIVE or ended meanwhile: look again
    }

    /**
     * After the store fenced {@code event}'s write under {@code tenure}: admits it again under the
     * shard's newer tenure if this node took the shard again, or answers {@code Moved}.
     */
    public CompletableFuture<Acknowledgement> afterFenced(TaskEvent event, ShardTenure tenure) {
        ShardTenure newer = member.fenced(tenure);
        return newer != null ? admit(event) : CompletableFuture.completedFuture(moved(event, tenure.shard()));
    }

    /** Whether this node serves {@code workflowId}'s shard now. */
    public boolean serves(long workflowId) {
        return member.isActive(shardOf(workflowId));
    }

    private int shardOf(long workflowId) {
        return Shards.of(workflowId, member.shardCount());
    }

    private Acknowledgement moved(TaskEvent event, int shard) {
        return new Acknowledgement.Moved(event.eventId(), shard, member.ownerAddress(shard));
    }
}
