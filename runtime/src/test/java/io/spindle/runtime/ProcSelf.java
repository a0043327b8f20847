package io.spindle.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the leak and resource tests of every module read about this process from /proc.
 * Shared through the runtime's test jar.
 */
public final class ProcSelf {
    private ProcSelf() {}

    /** Lines of /proc/self/maps: one per mapping. */
    public static long mapsCount() throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.count();
        }
    }

    /** Open file descriptors (entries of /proc/self/fd). */
    public static long fdCount() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    /** Resident set size in KiB (VmRSS). */
    public static long rssKiB() throws IOException {
        return statusKiB("VmRSS:");
    }

    /** A field of /proc/self/status in KiB (VmRSS:, VmHWM:, ...). */
    public static long statusKiB(String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(field)) return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
        }
        throw new IllegalStateException(field + " not in /proc/self/status");
    }
}
