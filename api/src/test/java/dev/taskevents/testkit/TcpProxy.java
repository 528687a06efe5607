package dev.taskevents.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy on loopback between the store's connection pool and the database, that a test can
 * use to cut every open connection ({@link #cutAll}) or refuse new ones for a while
 * ({@link #setDown}), the way a database restart or a network fault looks to the pool, or to
 * forward nothing while keeping the connections open ({@link #setSilent}), the way a database that
 * stopped answering (a frozen server, a path that drops packets) looks to it.
 *
 * <p>Faults can also follow the traffic instead of a clock ({@link #cutEvery}): every time the
 * clients have sent another {@code n} bytes, every connection is cut, and after every
 * {@code refuseAfterCuts}-th such cut the next {@code refused} connection attempts are refused (a
 * restart). A run then gets the same faults at the same points of its work on a fast or a slow
 * machine. {@link #connectionsCut} counts the proxied connections that were open when cut, not
 * the calls.
 */
public final class TcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private final String targetHost;
    private final int targetPort;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger cuts = new AtomicInteger();
    /** Client-side sockets of open proxied connections: one per connection. */
    private final Set<Socket> clients = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionsCut = new AtomicInteger();
    private final AtomicInteger attemptsRefused = new AtomicInteger();
    private final AtomicInteger toRefuse = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong bytesSinceCut = new java.util.concurrent.atomic.AtomicLong();
    private volatile long cutEveryBytes = Long.MAX_VALUE;
    private volatile int refuseAfterCuts = Integer.MAX_VALUE;
    private volatile int refused;
    private volatile boolean down;
    /** While set, nothing is forwarded; guarded by {@code this} for waiting. */
    private boolean silent;
    private volatile boolean closed;

    public TcpProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("proxy-accept").start(this::acceptLoop);
    }

    public int port() {
        return server.getLocalPort();
    }

    /** Closes every connection now open through the proxy; returns how many sockets. */
    public int cutAll() {
        int n = 0;
        for (Socket client : clients) {
            if (clients.remove(client)) {
                connectionsCut.incrementAndGet();
            }
        }
        for (Socket socket : open) {
            close(socket);
            n++;
        }
        cuts.incrementAndGet();
        return n;
    }

    /**
     * From now on, cuts every connection each time the clients have sent {@code bytes} more
     * bytes, and after every {@code refuseAfterCuts}-th such cut refuses the next {@code refused}
     * connection attempts.
     */
    public void cutEvery(long bytes, int refuseAfterCuts, int refused) {
        this.refuseAfterCuts = refuseAfterCuts;
        this.refused = refused;
        this.cutEveryBytes = bytes;
    }

    /** Stops cutting by traffic; connections are made and kept as usual again. */
    public void stopCutting() {
        cutEveryBytes = Long.MAX_VALUE;
        toRefuse.set(0);
    }

    /** Proxied connections that were open when a cut closed them. */
    public int connectionsCut() {
        return connectionsCut.get();
    }

    /** Connection attempts refused by the traffic schedule ({@link #cutEvery}). */
    public int attemptsRefused() {
        return attemptsRefused.get();
    }

    /** The clients sent {@code n} more bytes: cut when the schedule says so. */
    private void sent(int n) {
        long limit = cutEveryBytes;
        if (bytesSinceCut.addAndGet(n) >= limit) {
            bytesSinceCut.set(0);
            int cut = cuts.get() + 1;
            cutAll();
            if (cut % refuseAfterCuts == 0) {
                toRefuse.set(refused);
            }
        }
    }

    /** While down, new connections are closed at once and the open ones are cut. */
    public void setDown(boolean down) {
        this.down = down;
        if (down) {
            cutAll();
        }
    }

    /**
     * While silent, bytes read from either side are held, not forwarded, and connections stay
     * open; they go on when the proxy speaks again (unless cut meanwhile).
     */
    public synchronized void setSilent(boolean silent) {
        this.silent = silent;
        notifyAll();
    }

    private synchronized void awaitSpeaking() throws InterruptedException {
        while (silent && !closed) {
            wait();
        }
    }

    public int cuts() {
        return cuts.get();
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return;
            }
            if (down) {
                close(client);
                continue;
            }
            if (toRefuse.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                attemptsRefused.incrementAndGet();
                close(client);
                continue;
            }
            try {
                Socket upstream = new Socket(targetHost, targetPort);
                open.add(client);
                open.add(upstream);
                clients.add(client);
                pump(client, upstream, true);
                pump(upstream, client, false);
            } catch (IOException e) {
                close(client);
            }
        }
    }

    private void pump(Socket from, Socket to, boolean fromClient) {
        Thread.ofVirtual().start(() -> {
            byte[] buffer = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    awaitSpeaking();
                    out.write(buffer, 0, n);
                    out.flush();
                    if (fromClient) {
                        sent(n);
                    }
                }
            } catch (IOException e) {
                // cut: fall through and close both ends
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                close(from);
                close(to);
            }
        });
    }

    private void close(Socket socket) {
        open.remove(socket);
        clients.remove(socket);
        try {
            socket.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        setSilent(false);
        server.close();
        open.forEach(this::close);
    }
}
