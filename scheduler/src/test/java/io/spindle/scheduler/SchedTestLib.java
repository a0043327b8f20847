package io.spindle.scheduler;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import io.spindle.runtime.NativeFunction;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The scheduler's test-only native library (src/test/c) and /proc readers. */
final class SchedTestLib {
    static final String NAME = "spindle_scheduler_test";
    static final NativeLibrary LIBRARY = NativeLibrary.getInstance(NAME);

    interface Direct extends Library {
        Direct INSTANCE = Native.load(NAME, Direct.class);

        void spn_test_open_gate(Pointer gate);
    }

    private SchedTestLib() {}

    static NativeFunction fn(String symbol) {
        return NativeFunction.of(LIBRARY, symbol);
    }

    static Memory zeroed(long bytes) {
        Memory m = new Memory(bytes);
        m.clear();
        return m;
    }

    static long mapsCount() throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.count();
        }
    }

    static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
        }
        throw new IllegalStateException("no VmRSS");
    }

    /** utime + stime of one thread of this process, in clock ticks. */
    static long cpuTicks(int tid) throws IOException {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of stat(5)
    }
}
