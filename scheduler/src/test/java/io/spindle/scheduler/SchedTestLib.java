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

        long spn_test_dns_lookups_on_pthreads(int threads, long arg);
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

    /** The kernel's tid of this JVM's thread named {@code name} (its comm, 15 characters at most). */
    static int tidOf(String name) throws IOException {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                if (Files.readString(t.resolve("comm")).strip().equals(name)) return Integer.parseInt(t.getFileName().toString());
            }
        }
        throw new AssertionError("no thread named " + name);
    }

    /** How often one thread of this process gave up its CPU of its own accord (slept). */
    static long voluntarySwitches(int tid) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/task/" + tid + "/status"))) {
            if (line.startsWith("voluntary_ctxt_switches:")) return Long.parseLong(line.split("\\s+")[1]);
        }
        throw new AssertionError("no voluntary_ctxt_switches for thread " + tid);
    }

    /** One thread's state letter in stat(5): R, S, D, ... */
    static char threadState(int tid) throws IOException {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2);
    }

    /** utime + stime of one thread of this process, in clock ticks. */
    static long cpuTicks(int tid) throws IOException {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of stat(5)
    }

    /** The effective uid is 0 (/proc/self/status: Uid real effective saved fs). */
    static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0");
        }
        return false;
    }
}
