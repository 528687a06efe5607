package dev.taskevents.cli.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code taskevents serve} in a JVM of its own (the command's own {@code Main}, from this build's
 * module path): the connection cap as the command sets it, and a fixed heap under a flood of the
 * largest bodies.
 */
class ForkedServeTest {
    private static final String TOKEN = "token-forked-0123456789";
    private static final Pattern LISTENING = Pattern.compile("listening on http://127\\.0\\.0\\.1:(\\d+)");

    private Process serve;
    private Path log;

    private int start(List<String> jvmOptions, String... serveArgs) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        command.addAll(List.of("--module-path", System.getProperty("jdk.module.path"),
                "-m", "dev.taskevents.cli/dev.taskevents.cli.Main", "serve", "--store", "memory:", "--port", "0"));
        command.addAll(List.of(serveArgs));
        log = Files.createTempFile("serve", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(log.toFile());
        builder.environment().put("TASKEVENTS_TOKENS", TOKEN);
        serve = builder.start();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < until && serve.isAlive()) {
            Matcher m = LISTENING.matcher(Files.readString(log));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("serve did not start: " + Files.readString(log));
    }

    @AfterEach
    void stop() throws Exception {
        if (serve != null) {
            serve.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            Files.deleteIfExists(log);
        }
    }

    /** Item 5: connections beyond {@code --max-connections} are closed at once, those within it are served. */
    @Test
    void connectionsBeyondTheCapAreClosed() throws Exception {
        int cap = 10;
        int port = start(List.of(), "--max-connections", Integer.toString(cap));
        List<Socket> within = new ArrayList<>();
        List<Socket> beyond = new ArrayList<>();
        try {
            for (int i = 0; i < cap; i++) {
                within.add(new Socket("127.0.0.1", port));
            }
            // Each of these is answered, so each is open on the server: the five below come after the cap is full.
            for (Socket socket : within) {
                assertEquals("HTTP/1.1 200 OK", health(socket), "connections within the cap are served");
            }
            for (int i = 0; i < 5; i++) {
                beyond.add(new Socket("127.0.0.1", port));
            }
            int closed = 0;
            for (Socket socket : beyond) {
                socket.setSoTimeout(20_000);
                try {
                    if (socket.getInputStream().read() < 0) {
                        closed++;
                    }
                } catch (SocketException reset) {
                    closed++;
                } catch (SocketTimeoutException stillOpen) {
                    // counted as not closed
                }
            }
            assertEquals(5, closed, "every connection beyond the cap of " + cap + " is closed by the server");
            assertEquals("HTTP/1.1 200 OK", health(within.get(0)), "connections within the cap stay served");
            System.out.println("RELIABILITY serve-connection-cap: cap=" + cap + " opened=" + (cap + 5)
                    + " closed-beyond-cap=" + closed + " served-within-cap=1");
        } finally {
            for (Socket socket : within) {
                socket.close();
            }
            for (Socket socket : beyond) {
                socket.close();
            }
        }
    }

    /** The status line of {@code GET /healthz} on {@code socket}, reading the rest of the answer. */
    private static String health(Socket socket) throws IOException {
        socket.setSoTimeout(20_000);
        socket.getOutputStream().write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = socket.getInputStream();
        StringBuilder head = new StringBuilder();
        int length = -1;
        for (String line = readLine(in); !line.isEmpty(); line = readLine(in)) {
            head.append(head.isEmpty() ? line : "");
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring("content-length:".length()).trim());
            }
        }
        in.readNBytes(length);
        return head.toString();
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder line = new StringBuilder();
        for (int c = in.read(); c >= 0 && c != '\n'; c = in.read()) {
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    /**
     * Items 3 and 9: a flood of the largest bodies (16 MiB each, of three hostile kinds) at a
     * server with a fixed 256 MiB heap, with stalled bodies holding connections and /healthz probed
     * throughout. Every request gets an answer (400, 413, 503 with Retry-After, or 408); no
     * OutOfMemoryError (the JVM would exit: -XX:+ExitOnOutOfMemoryError); health stays 200; no
     * answer or log line holds a var pool or SQL.
     */
    @Test
    void aFloodOfTheLargestBodiesUnderAFixedHeap() throws Exception {
        int flood = Integer.getInteger("taskevents.hostile.flood", 24);
        String heap = System.getProperty("taskevents.hostile.heap", "256m"); // "default": the JVM's own choice
        List<String> jvm = new ArrayList<>(List.of("-XX:+ExitOnOutOfMemoryError"));
        if (!heap.equals("default")) {
            jvm.add("-Xmx" + heap);
        }
        String extra = System.getProperty("taskevents.hostile.jvm", ""); // e.g. a larger heap for a long run
        if (!extra.isBlank()) {
            jvm.addAll(List.of(extra.trim().split("\\s+")));
        }
        int port = start(jvm, "--max-in-flight", "8");
        int max = 16 * 1024 * 1024;
        String one = "{\"eventId\":\"e\",\"type\":\"DISPATCH\",\"workflowInstanceId\":1,\"taskInstanceId\":1,"
                + "\"eventTime\":\"2026-01-01T00:00:00Z\",\"host\":\"w\"},";
        String last = "{\"eventId\":\"e\",\"type\":\"NOPE\"}]";
        StringBuilder events = new StringBuilder(max).append('[');
        while (events.length() + one.length() + last.length() < max) {
            events.append(one);
        }
        byte[] manyEvents = events.append(last).toString().getBytes(StandardCharsets.US_ASCII); // parsed whole, then 400
        byte[] empties = ("[" + "{},".repeat(max / 3 - 1) + "{}]").getBytes(StandardCharsets.US_ASCII);
        byte[] varPool = ("{\"eventId\":\"r\",\"type\":\"RESULT\",\"workflowInstanceId\":1,\"taskInstanceId\":1,"
                + "\"state\":\"SUCCESS\",\"eventTime\":\"2026-01-01T00:00:00Z\",\"endTime\":\"2026-01-01T00:00:00Z\","
                + "\"varPool\":\"SECRET-VARPOOL-" + "v".repeat(max - 300) + "\"}").getBytes(StandardCharsets.US_ASCII);
        List<byte[]> kinds = List.of(manyEvents, empties, varPool);

        URI health = URI.create("http://127.0.0.1:" + port + "/healthz");
        List<Socket> stalled = new ArrayList<>();
        long started = System.nanoTime();
        try {
            for (int i = 0; i < 32; i++) {
                Socket socket = new Socket("127.0.0.1", port);
                socket.getOutputStream().write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN
                        + "\r\nContent-Length: 1000\r\n\r\n[").getBytes(StandardCharsets.US_ASCII));
                stalled.add(socket);
            }
            // Raw sockets on virtual threads: a client of a few KiB each, that reads an answer sent
            // before its upload ended (HttpClient holds far more per request, and 256 of them do not fit).
            List<CompletableFuture<String[]>> answers = new ArrayList<>();
            for (int i = 0; i < flood; i++) {
                byte[] body = kinds.get(i % kinds.size());
                CompletableFuture<String[]> answer = new CompletableFuture<>();
                Thread.ofVirtual().start(() -> {
                    try {
                        answer.complete(post(port, body));
                    } catch (Throwable e) {
                        answer.completeExceptionally(e);
                    }
                });
                answers.add(answer);
            }
            HttpClient prober = HttpClient.newHttpClient();
            int probes = 0;
            CompletableFuture<Void> all = CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new));
            while (!all.isDone()) {
                HttpResponse<String> probe = prober.send(HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(10))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, probe.statusCode(), "health during the flood: " + probe.body());
                probes++;
                Thread.sleep(100);
            }
            Map<Integer, Integer> statuses = new TreeMap<>();
            List<String> unanswered = new ArrayList<>();
            for (CompletableFuture<String[]> answer : answers) {
                String[] response;
                try {
                    response = answer.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    unanswered.add(String.valueOf(e.getCause())); // a request left without an answer
                    continue;
                }
                int status = Integer.parseInt(response[0]);
                statuses.merge(status, 1, Integer::sum);
                // 408: its budget came, but its 16 MiB did not finish arriving in 10 s (a long flood)
                assertTrue(List.of(400, 408, 413, 503).contains(status), status + " " + response[2]);
                assertFalse(response[2].contains("SECRET") || response[2].contains("jdbc:"), response[2]);
                assertTrue(response[2].length() < 1_000, "a short answer, not an echo: " + response[2].length());
                if (status == 503) {
                    assertTrue(response[1].toLowerCase(java.util.Locale.ROOT).contains("retry-after: 1"), response[1]);
                }
            }
            HttpClient http = HttpClient.newHttpClient();
            assertEquals(200, http.send(HttpRequest.newBuilder(health).GET().build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode(), "health after the flood");
            assertTrue(serve.isAlive(), "serve is alive (an OutOfMemoryError would have ended it)");
            String output = Files.readString(log);
            assertFalse(output.contains("OutOfMemoryError") || output.contains("SECRET") || output.contains("Exception"),
                    output);
            System.out.printf("RELIABILITY serve-flood: jvm=%s (heap %s) bodies=%d x 16 MiB (events parsed whole, [{},...],"
                    + " 16 MiB varPool) stalled=32 statuses=%s unanswered=%d health-probes=%d all-200 seconds=%.1f%n",
                    jvm, heap, flood, statuses, unanswered.size(), probes, (System.nanoTime() - started) / 1e9);
            assertEquals(List.of(), unanswered, "every request gets an answer");
        } finally {
            for (Socket socket : stalled) {
                socket.close();
            }
        }
    }

    /**
     * One POST /v1/events on its own connection: {status, head, body}. If the upload is cut off
     * (the server answered early and closed), the answer is still read.
     */
    private static String[] post(int port, byte[] body) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(120_000);
            var out = socket.getOutputStream();
            try {
                out.write(("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN + "\r\nContent-Length: "
                        + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                for (int off = 0; off < body.length; off += 64 * 1024) {
                    out.write(body, off, Math.min(64 * 1024, body.length - off));
                }
                out.flush();
            } catch (IOException cutOff) {
                // read what was answered
            }
            String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int headEnd = answer.indexOf("\r\n\r\n");
            if (!answer.startsWith("HTTP/1.1 ") || headEnd < 0) {
                throw new IOException("no answer: \"" + answer + "\"");
            }
            return new String[] {answer.substring(9, 12), answer.substring(0, headEnd), answer.substring(headEnd + 4)};
        }
    }
}
