package dev.taskevents.cli.serve;

import com.sun.management.OperatingSystemMXBean;
import com.sun.management.UnixOperatingSystemMXBean;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;

/**
 * The process's and the JVM's own gauges and counters in Prometheus text, under the names the
 * Prometheus client libraries use ({@code process_*}, {@code jvm_*}), so that dashboards made for
 * other JVM services read them: CPU time, start time, open file descriptors, heap and non-heap
 * memory, threads, and the collections and time of each garbage collector.
 */
final class ProcessMetrics {
    private ProcessMetrics() {}

    static void writeTo(StringBuilder out) {
        OperatingSystemMXBean os = ManagementFactory.getPlatformMXBean(OperatingSystemMXBean.class);
        if (os != null && os.getProcessCpuTime() >= 0) {
            type(out, "process_cpu_seconds_total", "counter", "CPU time of the process, user and system, in seconds.");
            out.append("process_cpu_seconds_total ").append(os.getProcessCpuTime() / 1e9).append('\n');
        }
        type(out, "process_start_time_seconds", "gauge", "When the process started, in seconds since the epoch.");
        out.append("process_start_time_seconds ").append(ManagementFactory.getRuntimeMXBean().getStartTime() / 1e3)
                .append('\n');
        if (os instanceof UnixOperatingSystemMXBean unix) {
            type(out, "process_open_fds", "gauge", "File descriptors open, sockets among them.");
            out.append("process_open_fds ").append(unix.getOpenFileDescriptorCount()).append('\n');
            type(out, "process_max_fds", "gauge", "The most file descriptors the process may open.");
            out.append("process_max_fds ").append(unix.getMaxFileDescriptorCount()).append('\n');
        }
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        MemoryUsage nonHeap = ManagementFactory.getMemoryMXBean().getNonHeapMemoryUsage();
        type(out, "jvm_memory_used_bytes", "gauge", "Memory in use, by area.");
        out.append("jvm_memory_used_bytes{area=\"heap\"} ").append(heap.getUsed()).append('\n');
        out.append("jvm_memory_used_bytes{area=\"nonheap\"} ").append(nonHeap.getUsed()).append('\n');
        type(out, "jvm_memory_max_bytes", "gauge", "The most memory an area may take (-1: no limit).");
        out.append("jvm_memory_max_bytes{area=\"heap\"} ").append(heap.getMax()).append('\n');
        out.append("jvm_memory_max_bytes{area=\"nonheap\"} ").append(nonHeap.getMax()).append('\n');
        type(out, "jvm_threads_current", "gauge", "Platform threads alive (virtual threads are not counted).");
        out.append("jvm_threads_current ").append(ManagementFactory.getThreadMXBean().getThreadCount()).append('\n');
        type(out, "jvm_gc_collections_total", "counter", "Garbage collections, by collector.");
        StringBuilder seconds = new StringBuilder();
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            String label = "{gc=\"" + gc.getName().replace("\\", "\\\\").replace("\"", "\\\"") + "\"} ";
            out.append("jvm_gc_collections_total").append(label).append(Math.max(0, gc.getCollectionCount())).append('\n');
            seconds.append("jvm_gc_collection_seconds_total").append(label).append(Math.max(0, gc.getCollectionTime()) / 1e3)
                    .append('\n');
        }
        type(out, "jvm_gc_collection_seconds_total", "counter", "Time spent in garbage collections, by collector.");
        out.append(seconds);
    }

    private static void type(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }
}
