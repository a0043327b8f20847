package io.spindle.samples.workloads;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.samples.Main;
import io.spindle.samples.UsageException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The command line and the equality checks the workloads share; and helpers for their tests. */
class WorkloadSupportTest {

    /** What io.spindle.samples.Main.run printed and returned. */
    record Outcome(int exit, String out, String err) {}

    static Outcome runMain(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int exit;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            exit = Main.run(args, o, e);
        }
        return new Outcome(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Bad arguments: exit 2, the command's name and {@code message} on stderr, and no stack trace. */
    static void assertUsageError(String message, String... args) {
        Outcome o = runMain(args);
        assertEquals(2, o.exit(), () -> "exit code of " + List.of(args) + "; stderr: " + o.err());
        assertTrue(o.err().contains(args[0] + ": "), o.err());
        assertTrue(o.err().contains(message), () -> "expected '" + message + "' in: " + o.err());
        assertFalse(o.err().contains("\tat ") || o.err().contains("Exception"), "a stack trace: " + o.err());
        assertTrue(o.err().contains("usage:"), o.err());
    }

    /** A valid run: exit 0 and the check line printed. */
    static Outcome assertRunsAndChecks(String... args) {
        Outcome o = runMain(args);
        assertEquals(0, o.exit(), () -> "exit code of " + List.of(args) + "; stderr: " + o.err() + "; stdout: " + o.out());
        assertTrue(o.out().contains(WorkloadSupport.CHECKED), o.out());
        assertTrue(o.out().contains("virtual threads + JNA"), o.out());
        return o;
    }

    @Test
    void sizesTakeBinarySuffixesAndUnderscores() {
        assertEquals(42, WorkloadSupport.parseSize("42", "n", 1, 100));
        assertEquals(64L << 20, WorkloadSupport.parseSize("64M", "bytes", 1, 1L << 30));
        assertEquals(3L << 10, WorkloadSupport.parseSize("3k", "bytes", 1, 1L << 30));
        assertEquals(1L << 30, WorkloadSupport.parseSize("1G", "bytes", 1, 1L << 30));
        assertEquals(1_000_000, WorkloadSupport.parseSize("1_000_000", "n", 1, 1L << 30));
    }

    @Test
    void badSizesSayWhatIsAllowed() {
        UsageException e = assertThrows(UsageException.class, () -> WorkloadSupport.parseSize("0", "n", 1, 45));
        assertEquals("n must be between 1 and 45, was 0", e.getMessage());
        assertThrows(UsageException.class, () -> WorkloadSupport.parseSize("-3", "n", 1, 45));
        assertThrows(UsageException.class, () -> WorkloadSupport.parseSize("2G", "bytes", 1, 1L << 30));
        e = assertThrows(UsageException.class, () -> WorkloadSupport.parseSize("ten", "n", 1, 45));
        assertTrue(e.getMessage().contains("whole number"), e.getMessage());
        assertThrows(UsageException.class, () -> WorkloadSupport.parseSize("99999999999999999999", "n", 1, 45));
        assertThrows(UsageException.class, () -> WorkloadSupport.parseSize("9000000000G", "n", 1, Long.MAX_VALUE));
        assertThrows(UsageException.class, () -> WorkloadSupport.parseSize("", "n", 1, 45));
    }

    @Test
    void theCommandLineTakesOneSizeAndKnownOptions() {
        WorkloadSupport.Args a = WorkloadSupport.parse(List.of("--out", "x.png", "12"), "n", 7, 1, 100, Set.of("--out"));
        assertEquals(12, a.size());
        assertTrue(a.sizeGiven());
        assertEquals("x.png", a.path("--out").toString());
        a = WorkloadSupport.parse(List.of(), "n", 7, 1, 100, Set.of("--out"));
        assertEquals(7, a.size());
        assertFalse(a.sizeGiven());
        assertNull(a.path("--out"));
        assertThrows(UsageException.class, () -> WorkloadSupport.parse(List.of("1", "2"), "n", 7, 1, 100, Set.of()));
        assertThrows(UsageException.class, () -> WorkloadSupport.parse(List.of("--out"), "n", 7, 1, 100, Set.of("--out")));
        assertThrows(UsageException.class, () -> WorkloadSupport.parse(List.of("--file", "f"), "n", 7, 1, 100, Set.of("--out")));
        assertThrows(UsageException.class,
                () -> WorkloadSupport.parse(List.of("--out", "a", "--out", "b"), "n", 7, 1, 100, Set.of("--out")));
    }

    @Test
    void theEqualityCheckNamesTheFirstDifference() {
        long[] expected = {1, 2, 3, 4};
        WorkloadSupport.requireEqual("w", "Spindle", "the sequential native run", expected, expected.clone(), "chunk");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> WorkloadSupport.requireEqual(
                "w", "Spindle", "the sequential native run", expected, new long[] {1, 2, 9, 4}, "chunk"));
        assertEquals("w: Spindle differs from the sequential native run at chunk 2: 9 instead of 3", e.getMessage());
        e = assertThrows(IllegalStateException.class, () -> WorkloadSupport.requireEqual(
                "w", "Spindle", "the sequential native run", expected, new long[] {1, 2, 3}, "chunk"));
        assertTrue(e.getMessage().contains("has 3 chunks"), e.getMessage());
    }

    @Test
    void theByteComparisonFindsTheFirstDifferingByte() {
        try (Memory a = new Memory(200_000); Memory b = new Memory(200_000)) {
            WorkloadNative.sample_fill_random(Pointer.nativeValue(a), a.size(), 5);
            WorkloadNative.sample_copy(Pointer.nativeValue(b), Pointer.nativeValue(a), a.size());
            assertEquals(-1, WorkloadNative.sample_first_difference(Pointer.nativeValue(a),
                    Pointer.nativeValue(b), a.size()));
            b.setByte(131_073, (byte) ~b.getByte(131_073));
            assertEquals(131_073, WorkloadNative.sample_first_difference(Pointer.nativeValue(a),
                    Pointer.nativeValue(b), a.size()));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> WorkloadSupport.requireSameBytes("w", "virtual threads", 131_073, 4, "int"));
            assertEquals("w: virtual threads differs from the sequential native run at int 32768", e.getMessage());
        }
    }

    @Test
    void aFailedSpawnInTaskCodeIsNamed() {
        assertEquals(7, WorkloadNative.requireTaskResult("fib", 7));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> WorkloadNative.requireTaskResult("fib", -1000 - 5)); // SPN_E_NO_STACK
        assertTrue(e.getMessage().startsWith("fib: a spn_* call failed in task code: "), e.getMessage());
        assertTrue(e.getMessage().length() > "fib: a spn_* call failed in task code: ".length() + 5, e.getMessage());
    }

    @Test
    void anUnknownOptionIsAUsageError() {
        assertUsageError("unknown option '--bogus'", "fib", "--bogus", "3");
    }
}
