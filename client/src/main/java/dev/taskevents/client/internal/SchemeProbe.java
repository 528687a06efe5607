package dev.taskevents.client.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Asks a node's address which protocol answers there, after a try failed in a way a wrong scheme
 * explains: an https:// node whose TLS handshake timed out or was answered with something that is
 * not TLS, or an http:// node whose answer was not HTTP.
 *
 * <p>How: one plain-text {@code GET /healthz} (serve's open health check: no token is sent) on a
 * fresh TCP connection, and the first bytes of the answer. A plain HTTP server answers
 * {@code HTTP/1.x}; a TLS server answers plain text with a TLS alert or handshake record (first
 * byte 0x15 or 0x16, then the 0x03 of the protocol version), as the JDK's {@code SSLEngine}
 * does. Anything else (no connection, no answer within the timeout, a closed connection, other
 * bytes) is {@link Spoken#UNKNOWN}, and the try's own failure stands: the probe only ever turns a
 * failure into a clearer final one, never a working node into a failing one.
 *
 * <p>The one reading it can get wrong: a TLS front that answers plain text with a plain HTTP 400
 * (nginx does) reads as plain HTTP. So {@link Transport} probes an https:// address only after a
 * connect timeout or a TLS error, and never one that has answered it over TLS: the misreading
 * needs a front whose handshakes with this client have all failed. serve's TLS is the JDK's
 * {@code SSLEngine}, which answers with an alert.
 *
 * <p>Bounded: {@code connect} to connect, then {@code answer} in all for the first bytes, however
 * slowly they drip (the read timeout is what is left of that, set before each read). The host name
 * is resolved as the try that failed just resolved it (the JDK's cache).
 */
final class SchemeProbe {
    /** What answered at the address. */
    enum Spoken { PLAIN_HTTP, TLS, UNKNOWN }

    private SchemeProbe() {
    }

    /** What answers at {@code node}'s host and port, waiting up to {@code connect}, then up to {@code answer} in all. */
    static Spoken probe(URI node, Duration connect, Duration answer) {
        int port = node.getPort() != -1 ? node.getPort() : "https".equalsIgnoreCase(node.getScheme()) ? 443 : 80;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(node.getHost(), port), millis(connect));
            long deadline = System.nanoTime() + answer.toNanos();
            socket.setSoTimeout(millis(answer));
            OutputStream out = socket.getOutputStream();
            out.write(("GET /healthz HTTP/1.1\r\nHost: " + node.getHost() + (node.getPort() == -1 ? "" : ":" + port)
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] head = new byte[5];
            int read = 0;
            while (read < head.length) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                socket.setSoTimeout(millis(Duration.ofNanos(left)));
                int n;
                try {
                    n = in.read(head, read, head.length - read);
                } catch (SocketTimeoutException e) {
                    break;
                }
                if (n < 0) {
                    break;
                }
                read += n;
            }
            return spoken(head, read);
        } catch (IOException | IllegalArgumentException | SecurityException e) {
            return Spoken.UNKNOWN;
        }
    }

    /** What the first {@code length} bytes of an answer to plain text say. */
    static Spoken spoken(byte[] head, int length) {
        if (length == 5 && new String(head, 0, 5, StandardCharsets.US_ASCII).equals("HTTP/")) {
            return Spoken.PLAIN_HTTP;
        }
        if (length >= 2 && (head[0] == 0x15 || head[0] == 0x16) && head[1] == 0x03) {
            return Spoken.TLS;
        }
        return Spoken.UNKNOWN;
    }

    private static int millis(Duration d) {
        return (int) Math.clamp(d.toMillis(), 1, Integer.MAX_VALUE);
    }
}
