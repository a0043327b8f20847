package io.spindle.scheduler;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.spindle.runtime.GuardedStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What happens when a green thread's stack runs out, and that the JVM is still itself with
 * Spindle's SIGSEGV handler in front of HotSpot's. Every scenario runs in a JVM of its own
 * (most of them end it), with a deadline: a regression that hangs fails instead.
 */
class StackOverflowTest {
    static final long DEADLINE_SECONDS = 90;
    static final String OVERFLOW = "spindle: green thread stack overflow";
    static final String SURVIVED = "SURVIVED";
    /** The smallest green stack the builder takes. */
    static final long SMALLEST_STACK = GuardedStack.MIN_SIZE;

    record Outcome(int exitValue, String output) {}

    /** Runs main in a new JVM with the test classpath, output and errors into one file. */
    static Outcome fork(Path dir, Class<?> main, List<String> jvmOptions, Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:-CreateCoredumpOnCrash"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Path log = Files.createTempFile(dir, main.getSimpleName(), ".out");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            fail(main.getSimpleName() + " did not end within " + DEADLINE_SECONDS + " s:\n" + Files.readString(log));
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        System.out.println("---- " + main.getSimpleName() + " " + String.join(" ", args) + " " + env
                + ": exit " + p.exitValue() + "\n" + output);
        return new Outcome(p.exitValue(), output);
    }

    static void assertOverflowReported(Outcome o, String taskSymbol, String stackBytes, boolean guarded) {
        assertNotEquals(0, o.exitValue(), o.output());
        assertTrue(o.output().contains(OVERFLOW), o.output());
        assertTrue(o.output().contains(taskSymbol), "names the task's function: " + o.output());
        assertTrue(o.output().contains(stackBytes + "-byte stack"), o.output());
        assertTrue(o.output().contains(guarded ? "(guarded" : "(unguarded"), o.output());
        assertFalse(o.output().contains(SURVIVED), o.output());
    }

    /**
     * One frame far larger than the stack, on a guarded 64 KiB stack (a guard for every stack)
     * and on an unguarded one (a guard budget of 0), while a neighbour green thread is parked
     * on the stack below: the process ends with the report, and the neighbour never runs on
     * a silently corrupted stack (it would print SURVIVED and what changed in its canary).
     */
    @ParameterizedTest(name = "{0} KiB frame, guard budget {1}")
    @CsvSource({"100, default", "130, default", "100, 0", "130, 0"})
    void aHugeFrameEndsWithTheReportAndLeavesTheNeighbourAlone(int frameKiB, String budget, @TempDir Path dir)
            throws Exception {
        Map<String, String> env = budget.equals("default") ? Map.of() : Map.of("SPINDLE_GUARD_BUDGET", budget);
        Outcome o = fork(dir, HugeFrame.class, List.of(), env, Integer.toString(frameKiB));
        assertOverflowReported(o, "spn_test_huge_frame_task", "65536", budget.equals("default"));
    }

    public static final class HugeFrame {
        public static void main(String[] args) {
            try (Spindle spindle = Spindle.builder().workers(1).build()) {
                Memory stage = SchedTestLib.zeroed(24); // struct overflow_stage
                stage.setLong(16, Long.parseLong(args[0]));
                // The overflowing task first: its stack is the slot just above the neighbour's.
                Task overflowing = spindle.spawn(SchedTestLib.fn("spn_test_huge_frame_task"), stage);
                Task neighbour = spindle.spawn(SchedTestLib.fn("spn_test_overflow_neighbour"), stage);
                overflowing.join();
                System.out.println(SURVIVED + ": the neighbour's canary words changed: " + neighbour.join());
            }
        }
    }

    /** Recursion with small frames and no call into spindle.h: the guard stops it, with the report. */
    @Test
    void deepRecursionWithoutApiCallsEndsWithTheReport(@TempDir Path dir) throws Exception {
        Outcome o = fork(dir, DeepRecursion.class, List.of(), Map.of());
        assertOverflowReported(o, "spn_test_deep_recursion", "65536", true);
    }

    public static final class DeepRecursion {
        public static void main(String[] args) {
            try (Spindle spindle = Spindle.builder().workers(1).build()) {
                spindle.spawn(SchedTestLib.fn("spn_test_deep_recursion"), 1_000_000).join();
                System.out.println(SURVIVED);
            }
        }
    }

    /** Recursion that calls into spindle.h at every level on the smallest stack allowed: the red zone check reports it. */
    @Test
    void recursionThroughTheApiOnTheSmallestStackEndsWithTheReport(@TempDir Path dir) throws Exception {
        Outcome o = fork(dir, ApiRecursion.class, List.of(), Map.of());
        assertOverflowReported(o, "spn_test_overflow", Long.toString(SMALLEST_STACK), true);
    }

    public static final class ApiRecursion {
        public static void main(String[] args) {
            try (Spindle spindle = Spindle.builder().workers(1).greenStackSize(SMALLEST_STACK).build()) {
                spindle.spawn(SchedTestLib.fn("spn_test_overflow"), 10_000).join();
                System.out.println(SURVIVED);
            }
        }
    }

    /**
     * A JNI attach made directly on a green thread (not through spn_call_on_worker_stack):
     * HotSpot puts its stack guard zones at the bottom of the stack the thread is on, the
     * green thread's, over Spindle's red zone. The process ends with a report that says so and
     * names the way that works, not with a stack overflow it did not have.
     */
    @ParameterizedTest(name = "{0}-byte green stack")
    @CsvSource({"65536", "1048576"})
    void aJniAttachOnAGreenThreadEndsWithAReportNamingTheWorkerStackCall(long stackBytes, @TempDir Path dir)
            throws Exception {
        Outcome o = fork(dir, DirectAttach.class, List.of(), Map.of(), Long.toString(stackBytes));
        assertNotEquals(0, o.exitValue(), o.output());
        assertTrue(o.output().contains("spindle: the red zone of task"), o.output());
        assertTrue(o.output().contains("spn_call_on_worker_stack"), o.output());
        assertFalse(o.output().contains(SURVIVED), o.output());
    }

    public static final class DirectAttach {
        public static void main(String[] args) {
            try (Spindle spindle = Spindle.builder().workers(1).greenStackSize(Long.parseLong(args[0])).build()) {
                long result = spindle.spawn(SchedTestLib.fn("spn_test_upcalls"), 1).join();
                System.out.println(SURVIVED + ": the upcall returned " + result);
            }
        }
    }

    /**
     * With Spindle's handler installed in front of HotSpot's, HotSpot still gets every fault
     * of its own: implicit null checks in compiled code, Java stack overflows (its guard
     * zones), safepoint polls under GC; and the handler really is Spindle's (else this proves
     * nothing). Also under -Xcheck:jni, which checks the JVM's handlers periodically.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"-Xshare:auto", "-Xcheck:jni"})
    void theJvmStillHandlesItsOwnFaults(String option, @TempDir Path dir) throws Exception {
        Outcome o = fork(dir, JvmStillWorks.class, List.of(option), Map.of());
        assertEquals(0, o.exitValue(), o.output());
        assertTrue(o.output().contains("SIGSEGV handler in libspindle_scheduler.so"), o.output());
        assertTrue(o.output().contains("JVM OK"), o.output());
    }

    interface Libc extends Library {
        Libc INSTANCE = Native.load("c", Libc.class);

        int sigaction(int signal, Pointer action, Pointer oldAction);

        int dladdr(Pointer address, Pointer info);
    }

    public static final class JvmStillWorks {
        static final class Node {
            Node next;
            int value;
        }

        static int npes;

        /** Compiled by C2 after a few thousand calls, the null check becomes a load that faults. */
        static int valueOfNext(Node n) {
            try {
                return n.next.value;
            } catch (NullPointerException e) {
                npes++;
                return -1;
            }
        }

        static int depth(int n) {
            return n + depth(n + 1);
        }

        public static void main(String[] args) throws Exception {
            try (Spindle spindle = Spindle.builder().workers(2).build()) {
                assertEquals(6765, spindle.spawn(SchedTestLib.fn("spn_test_fib"), 20L | 8L << 32).join());
                Memory action = new Memory(256);
                Libc.INSTANCE.sigaction(11, null, action);
                Memory info = new Memory(32); // Dl_info: fname, fbase, sname, saddr
                Pointer handler = action.getPointer(0);
                if (Libc.INSTANCE.dladdr(handler, info) != 0) {
                    String file = info.getPointer(0).getString(0);
                    System.out.println("SIGSEGV handler in " + Path.of(file).getFileName());
                }
                Node withNext = new Node();
                withNext.next = new Node();
                Node without = new Node();
                long sum = 0;
                for (int i = 0; i < 2_000_000; i++) {
                    sum += valueOfNext((i & 7) == 0 ? without : withNext);
                    if ((i & 0xffff) == 0) {
                        byte[][] garbage = new byte[256][];
                        for (int k = 0; k < garbage.length; k++) garbage[k] = new byte[4096];
                        sum += garbage[(i >> 16) & 255].length;
                    }
                }
                System.gc();
                int overflows = 0;
                for (int i = 0; i < 3; i++) {
                    try {
                        depth(0);
                    } catch (StackOverflowError e) {
                        overflows++;
                    }
                }
                assertEquals(2_000_000 / 8, npes);
                assertEquals(3, overflows);
                assertEquals(6765, spindle.spawn(SchedTestLib.fn("spn_test_fib"), 20L | 8L << 32).join());
                System.out.println("JVM OK: " + npes + " null pointer exceptions, " + overflows
                        + " stack overflows, sum " + sum);
            }
        }
    }

    /**
     * A genuine crash in a task (a write through null) on the smallest green stack allowed:
     * HotSpot's hs_err report is whole (it ends with "END."), because the handlers run on
     * the worker's alternate signal stack, not on the crashed green thread's.
     */
    @Test
    void aCrashInATaskOnTheSmallestStackGetsAWholeErrorReport(@TempDir Path dir) throws Exception {
        Path errorFile = dir.resolve("hs_err.log");
        Outcome o = fork(dir, NullWrite.class, List.of("-XX:ErrorFile=" + errorFile), Map.of(),
                Long.toString(SMALLEST_STACK));
        assertNotEquals(0, o.exitValue(), o.output());
        assertFalse(o.output().contains(OVERFLOW), "a null write is not an overflow: " + o.output());
        assertTrue(Files.exists(errorFile), "no hs_err report: " + o.output());
        String report = Files.readString(errorFile);
        assertTrue(report.contains("SIGSEGV"), report);
        assertTrue(report.strip().endsWith("END."), "the report is truncated:\n" + tail(report));
    }

    static String tail(String text) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    public static final class NullWrite {
        public static void main(String[] args) {
            try (Spindle spindle = Spindle.builder().workers(1).greenStackSize(Long.parseLong(args[0])).build()) {
                spindle.spawn(SchedTestLib.fn("spn_test_null_write"), 0).join();
                System.out.println(SURVIVED);
            }
        }
    }
}
