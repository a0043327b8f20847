package io.spindle.runtime;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The README's limits of raw threads that no other test shows, each as it is today: if one
 * of these fails, the limit is gone and the README must say so. Each runs in a JVM of its own
 * (one changes the process's credentials, one ends it). The static TLS of a library dlopen'ed
 * while a raw thread runs is in ThreadLocalsTest; glibc's internal signals in SignalsTest.
 */
class RawThreadLimitsTest {
    static final int NEW_EGID = 4242;

    /** glibc's setegid changes every thread on its list (it signals each with SIGSETXID); not a raw one. */
    @Test
    @Timeout(120)
    void setegidDoesNotReachARawThread() throws Exception {
        assumeTrue(TestLib.isRoot(), "setegid to another group needs root (CAP_SETGID); not root here, so not shown");
        ForkedJvm.Result r = ForkedJvm.run(ForkedJvm.builder(LimitVictim.class, List.of(), "setxid"), Map.of());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("JVM THREADS CHANGED"), "every thread glibc knows took the new egid: " + r.output());
        assertTrue(r.output().contains("RAW EGID 0"), "the raw thread kept root's: " + r.output());
    }

    /**
     * A raw thread has no alternate signal stack, so a fault in its guard page cannot be
     * delivered at all: the kernel kills the process with SIGSEGV, and HotSpot writes no
     * report (the README says to size stacks generously).
     */
    @Test
    @Timeout(120)
    void aStackOverflowOnARawThreadEndsTheProcessWithoutAReport() throws Exception {
        Path dir = Files.createTempDirectory("spindle-overflow");
        ForkedJvm.Result r = ForkedJvm.run(ForkedJvm.builder(LimitVictim.class,
                List.of("-XX:ErrorFile=" + dir + "/hs_err_%p.log", "-XX:-CreateCoredumpOnCrash"), "overflow")
                .directory(dir.toFile()), Map.of());
        assertFalse(r.output().contains("SURVIVED"), r.output());
        assertEquals(128 + 11, r.exitCode(), "killed by SIGSEGV: " + r.output());
        assertFalse(r.output().contains("A fatal error has been detected"), r.output());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.filter(f -> f.getFileName().toString().startsWith("hs_err_")).count(), "no hs_err file");
        }
    }

    interface Libc extends Library {
        Libc INSTANCE = Native.load("c", Libc.class);

        int setegid(int gid);
    }

    public static final class LimitVictim {
        public static void main(String[] args) throws Exception {
            switch (args[0]) {
                case "setxid" -> setxid();
                case "overflow" -> {
                    NativeThread.builder().stackSize(64 * 1024).start(TestLib.fn("spn_test_deep_recursion"), 1_000_000).join();
                    System.out.println("SURVIVED (wrong)");
                }
                default -> throw new IllegalArgumentException(args[0]);
            }
        }

        private static void setxid() throws Exception {
            Memory gate = TestLib.word();
            NativeThread raw = NativeThread.start(TestLib.fn("spn_test_wait_gate"), Pointer.nativeValue(gate));
            if (Libc.INSTANCE.setegid(NEW_EGID) != 0) throw new IllegalStateException("setegid failed");
            boolean allChanged = true;
            String rawEgid = "?";
            try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path task : tasks.toList()) {
                    String egid = effectiveGid(task);
                    if (task.getFileName().toString().equals(Integer.toString(raw.tid()))) rawEgid = egid;
                    else if (egid != null && !egid.equals(Integer.toString(NEW_EGID))) allChanged = false;
                }
            }
            TestLib.Direct.INSTANCE.spn_test_open_gate(gate);
            raw.join();
            if (allChanged) System.out.println("JVM THREADS CHANGED");
            System.out.println("RAW EGID " + rawEgid);
        }

        /** Gid: real effective saved fs; null if the thread has gone meanwhile. */
        private static String effectiveGid(Path task) {
            try {
                for (String line : Files.readAllLines(task.resolve("status"))) {
                    if (line.startsWith("Gid:")) return line.split("\\s+")[2];
                }
            } catch (java.io.IOException gone) {
                return null;
            }
            return null;
        }
    }
}
