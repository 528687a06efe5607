package dev.taskevents.testkit;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Loopback ports for servers that a test names before they bind: a serve process started with
 * {@code --port}, a PostgreSQL server, a node restarted on the port it had.
 *
 * <p>Why not a port the system hands out ({@code new ServerSocket(0)}, closed again): it lies in
 * the range the system also takes ports for outgoing connections from (32768-60999 on Linux), so
 * any outgoing connection of any process may take it before the server binds it, or while a
 * restarted server is down. The ports here lie below that range, from 20000 to 31999.
 *
 * <p>Why each test JVM has a slice of its own: test JVMs that run at once (surefire's and failsafe's
 * {@code forkCount} above 1) must never hand out the same port. Each takes ports from the slice of
 * 1000 its fork number picks (system property {@code taskevents.test.fork}, set by the build from
 * {@code ${surefire.forkNumber}}; 1 if unset), so two forks of one build never meet. Inside a JVM,
 * successive calls walk the slice from a random start, so no two calls return the same port until
 * the slice wraps. Each candidate is bound once before it is returned, to pass over a port that a
 * process outside this build (another build on the machine) holds.
 */
public final class LoopbackPorts {
    private static final int LOWEST = 20_000;
    private static final int SLICE = 1_000;
    private static final int SLICES = 12;
    private static final int FIRST = LOWEST + (Math.max(1, Integer.getInteger("taskevents.test.fork", 1)) - 1)
            % SLICES * SLICE;
    private static final AtomicInteger NEXT = new AtomicInteger(ThreadLocalRandom.current().nextInt(SLICE));

    private LoopbackPorts() {
    }

    /** A loopback port free now, of this JVM's slice, not returned before by this JVM (until its slice wraps). */
    public static int next() throws IOException {
        for (int attempt = 0; attempt < SLICE; attempt++) {
            int port = FIRST + Math.floorMod(NEXT.getAndIncrement(), SLICE);
            try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return socket.getLocalPort();
            } catch (IOException taken) {
                // held by another process: the next one
            }
        }
        throw new IOException("no free loopback port from " + FIRST + " to " + (FIRST + SLICE - 1));
    }
}
