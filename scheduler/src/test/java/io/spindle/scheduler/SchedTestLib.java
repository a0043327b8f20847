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

/** The scheduler's test-only native library (src/test/c); the runtime's {@code ProcSelf} reads /proc. */
final class SchedTestLib {
    static final String NAME = "spindle_scheduler_test";
    /** The scheduler library first: the test library binds its spn_* calls when it loads (-z now). */
    static final NativeLibrary LIBRARY = loadAfterScheduler();

    private static NativeLibrary loadAfterScheduler() {
        Spindle.loadNativeLibrary();
        return NativeLibrary.getInstance(NAME);
    }

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

    /** utime + stime of one thread of this process, in clock ticks. */
    static long cpuTicks(int tid) throws IOException {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of stat(5)
    }
}
