package io.spindle.benchmarks.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** The machine, kernel, CPU and JDK the result files (one per run) came from, as a few Markdown lines. */
final class Environment {
    private Environment() {}

    /** The JDK and the run profile are the first run's: the launcher runs them all alike. */
    @SuppressWarnings("unchecked")
    static String describe(Path... runs) throws IOException {
        boolean medians = runs.length > 1;
        String jdk = "unknown JDK";
        String profile = "unknown";
        List<Object> all = (List<Object>) Json.parse(Files.readString(runs[0]));
        if (!all.isEmpty()) {
            Map<String, Object> first = (Map<String, Object>) all.get(0);
            jdk = first.get("vmName") + " " + first.get("vmVersion") + " (JDK " + first.get("jdkVersion") + ")";
            profile = count(first.get("forks")) + " fork(s), " + count(first.get("warmupIterations")) + " warm-up x "
                    + first.get("warmupTime") + ", " + count(first.get("measurementIterations")) + " measurements x "
                    + first.get("measurementTime") + " per alternative; "
                    + (medians ? "every figure is the median of the " + runs.length + " runs (ratios too are of medians),"
                            + " beside the lowest and highest run"
                            : "errors are JMH's 99.9% intervals");
        }
        List<String> finished = new ArrayList<>();
        for (Path run : runs) finished.add(Files.getLastModifiedTime(run).toString().substring(0, 16).replace('T', ' '));
        finished.sort(null);
        return "- Machine: " + cpu() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs, "
                + memory() + "\n- Kernel: Linux " + read("/proc/sys/kernel/osrelease")
                + "\n- JDK: " + jdk
                + (medians ? "\n- Runs: " + runs.length + ", each " : "\n- Run: ") + profile
                + " (" + (medians ? finished.get(0) + " to " + finished.get(finished.size() - 1) : finished.get(0)) + " UTC)"
                + "\n- Results: " + Arrays.stream(runs).map(r -> "`" + r.getFileName() + "`").collect(Collectors.joining(", "))
                + " (JMH JSON" + (medians ? ", one file per run" : "") + ", beside this file)\n";
    }

    private static String count(Object number) {
        return number instanceof Double d ? String.valueOf(d.intValue()) : String.valueOf(number);
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
