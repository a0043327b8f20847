package io.spindle.benchmarks.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The machine, kernel, CPU and JDK a result file came from, as a few Markdown lines. */
final class Environment {
    private Environment() {}

    @SuppressWarnings("unchecked")
    static String describe(Path results) throws IOException {
        String jdk = "unknown JDK";
        List<Object> all = (List<Object>) Json.parse(Files.readString(results));
        if (!all.isEmpty()) {
            Map<String, Object> first = (Map<String, Object>) all.get(0);
            jdk = first.get("vmName") + " " + first.get("vmVersion") + " (JDK " + first.get("jdkVersion") + ")";
        }
        return "- Machine: " + cpu() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs, "
                + memory() + "\n- Kernel: Linux " + read("/proc/sys/kernel/osrelease")
                + "\n- JDK: " + jdk
                + "\n- Results: `" + results.getFileName() + "` (JMH JSON, beside this file)\n";
    }

    private static String cpu() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim();
            }
        } catch (IOException ignored) {
            // Not Linux, or no /proc: say so below.
        }
        return "unknown CPU";
    }

    private static String memory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kib = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return (kib / (1024 * 1024)) + " GiB";
                }
            }
        } catch (IOException ignored) {
            // Fall through.
        }
        return "unknown memory";
    }

    private static String read(String path) {
        try {
            return Files.readString(Path.of(path)).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
