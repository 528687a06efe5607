package dev.taskevents.cli.demo;

import java.io.Console;
import java.io.PrintStream;
import java.util.function.IntSupplier;

/** A one-line progress bar redrawn in place, shown only when the output is a terminal. */
final class ProgressBar implements AutoCloseable {
    private static final int WIDTH = 30;

    private final PrintStream out;
    private final int total;
    private final IntSupplier done;
    private final Thread drawer;
    private final long start = System.nanoTime();
    private volatile boolean running = true;

    private ProgressBar(PrintStream out, int total, IntSupplier done) {
        this.out = out;
        this.total = total;
        this.done = done;
        this.drawer = Thread.ofPlatform().daemon().name("progress").start(this::drawLoop);
    }

    /** A bar if {@code out} is the terminal, else null. */
    static ProgressBar startIfTerminal(PrintStream out, int total, IntSupplier done) {
        return out == System.out && isTerminal() ? new ProgressBar(out, total, done) : null;
    }

    /** Console.isTerminal() exists from JDK 22; on 21 a non-null console means a terminal. */
    private static boolean isTerminal() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException e) {
            return true;
        }
    }

    private void drawLoop() {
        while (running) {
            draw();
            try {
                Thread.sleep(100); // a redraw rate, not a wait for anything
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void draw() {
        int finished = done.getAsInt();
        int filled = total == 0 ? WIDTH : finished * WIDTH / total;
        out.printf("\r  [%s%s] %3d%%  %,d/%,d workflows  %.1f s ", "#".repeat(filled), ".".repeat(WIDTH - filled),
                total == 0 ? 100 : finished * 100 / total, finished, total, (System.nanoTime() - start) / 1e9);
        out.flush();
    }

    @Override
    public void close() {
        running = false;
        drawer.interrupt();
        try {
            drawer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        draw();
        out.println();
    }
}
