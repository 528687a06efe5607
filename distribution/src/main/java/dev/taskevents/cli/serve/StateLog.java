package dev.taskevents.cli.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.taskevents.api.StateEvent;
import dev.taskevents.api.spi.WorkflowStateSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * {@code serve --state-log FILE}: the engine's state sink when serve runs as a node of its own.
 * Each state event is appended to the file as one JSON line before the sink returns.
 *
 * <p>What a line on disk means: the engine tells a change only after it committed, so every
 * line is a committed change; and a change is removed from the store's outbox only after the sink
 * returned, so a change whose line is not in the file (a kill before or during the write) is still
 * in the outbox and told again, by this process after a restart or by the node that takes its
 * shard over. Each line is handed to the operating system with {@code write(2)} before the sink
 * returns (no buffer in this process), so a kill -9 of the process loses no line the outbox no
 * longer holds; a machine crash may, as nothing is forced to the disk. Writes are serialised, so
 * lines never interleave; the file may hold a change more than once (re-told after a fault),
 * recognisable by {@code taskInstanceId} and {@code version}. A kill in the middle of a write can
 * leave the last line without its newline: a reader ignores such a line (its change is still in
 * the outbox and is told again).
 *
 * <p>A write that fails throws {@link UncheckedIOException}: the engine counts the sink failure and
 * keeps the change in its outbox, to be told again.
 */
final class StateLog implements WorkflowStateSink, AutoCloseable {
    private final ObjectMapper mapper = JsonMapper.builder().build();
    private final Path file;
    private final FileChannel channel;

    private StateLog(Path file, FileChannel channel) {
        this.file = file;
        this.channel = channel;
    }

    /**
     * Opens the file for appending, creating it if needed.
     *
     * @throws IllegalArgumentException if it cannot be opened, naming the file and why
     */
    static StateLog open(Path file) {
        try {
            return new StateLog(file, FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND));
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalArgumentException("cannot open the state log " + file + " for appending: " + e);
        }
    }

    @Override
    public synchronized void taskStateChanged(StateEvent event) {
        ObjectNode line = mapper.createObjectNode()
                .put("workflowInstanceId", event.workflowInstanceId())
                .put("taskInstanceId", event.taskInstanceId())
                .put("eventType", event.eventType().name())
                .put("state", event.state().name())
                .put("eventId", event.eventId())
                .put("version", event.version())
                .put("committedAt", event.committedAt().toString());
        try {
            ByteBuffer bytes = ByteBuffer.wrap((mapper.writeValueAsString(line) + "\n").getBytes(
                    StandardCharsets.UTF_8));
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to the state log " + file, e);
        }
    }

    @Override
    public synchronized void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close the state log " + file, e);
        }
    }
}
