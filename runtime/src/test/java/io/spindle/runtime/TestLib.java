package io.spindle.runtime;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The test-only native library (src/test/c); what the tests read from /proc is in {@link ProcSelf}. */
final class TestLib {
    static final String NAME = "spindle_runtime_test";
    static final NativeLibrary LIBRARY = NativeLibrary.getInstance(NAME);

    /** Helpers that Java calls directly (not on raw threads). */
    interface Direct extends Library {
        Direct INSTANCE = Native.load(NAME, Direct.class);

        void spn_test_open_gate(Pointer gate);

        long spn_test_settid_misses(int parentSettid, int rounds);

        /** Bytes malloc has handed out and not had back, every arena (mallinfo2). */
        long spn_test_malloc_in_use();
    }

    private TestLib() {}

    static NativeFunction fn(String symbol) {
        return NativeFunction.of(LIBRARY, symbol);
    }

    /** A zeroed native int for a gate or a counter. */
    static Memory word() {
        Memory m = new Memory(8);
        m.clear();
        return m;
    }

    static boolean isRoot() throws IOException {
        // Uid: real effective saved fs
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0");
        }
        return false;
    }
}
