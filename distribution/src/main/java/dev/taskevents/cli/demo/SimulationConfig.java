package dev.taskevents.cli.demo;

import java.time.Duration;

/**
 * The size of a demo run and the faults its simulated workers make.
 *
 * @param workflows workflow instances to run
 * @param tasksPerWorkflow tasks in each workflow's DAG (3-16): t0 -> t1 -> {t2 .. t(n-2)} -> t(n-1)
 * @param duplicateRate share of events a worker sends twice at once
 * @param reorderRate share of tasks whose RESULT is sent before their RUNNING
 * @param lateRunningRate share of tasks that resend RUNNING after their RESULT was acknowledged
 * @param lostAckRate share of acknowledgements the worker "loses", so it resends the event
 * @param delayRate share of tasks that report DELAY before RUNNING
 * @param failureRate share of tasks that end in FAILURE (their workflow then stops)
 * @param seed the random seed: the same seed makes the same choices
 * @param timeout how long the run may take before it is reported unfinished
 * @param nodes engine nodes sharing the store (cluster mode when more than 1)
 */
public record SimulationConfig(int workflows, int tasksPerWorkflow, double duplicateRate, double reorderRate,
                               double lateRunningRate, double lostAckRate, double delayRate, double failureRate,
                               long seed, Duration timeout, int nodes) {
    public SimulationConfig {
        if (tasksPerWorkflow < 3 || tasksPerWorkflow > 16) {
            throw new IllegalArgumentException("tasksPerWorkflow must be 3-16, was " + tasksPerWorkflow);
        }
        if (nodes < 1) {
            throw new IllegalArgumentException("nodes must be at least 1, was " + nodes);
        }
    }

    /**
     * Whether the engine may legitimately tell a change twice in this run: after a node dies, the
     * node that takes its shards over tells again what the dead one may not have told.
     */
    public boolean repeatsExpected() {
        return nodes > 1;
    }
}
