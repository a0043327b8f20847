package io.spindle.samples.workloads;

import io.spindle.samples.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.spindle.samples.workloads.WorkloadSupportTest.*;
import static org.junit.jupiter.api.Assertions.*;

class FibWorkloadTest {
    @TempDir
    Path dir;

    @Test
    void measureChecksEveryWayAgainstTheSequentialValue() throws Exception {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        FibWorkload.Result r = new FibWorkload().measure(27, new PrintStream(progress, true, StandardCharsets.UTF_8), false);
        assertEquals(196_418, r.value());
        Workload.Timing t = r.timing();
        assertEquals("fib(27)", t.size());
        assertTrue(t.spindle().toNanos() > 0 && t.virtualThreads().toNanos() > 0 && t.sequential().toNanos() > 0);
        assertTrue(progress.toString(StandardCharsets.UTF_8).contains("fib(27) = 196418"), progress.toString(StandardCharsets.UTF_8));
    }

    @Test
    void smallNsBelowEveryCutoffWork() throws Exception {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        for (long n : new long[] {1, 2, 3, FibWorkload.GREEN_CUTOFF, FibWorkload.GREEN_CUTOFF + 1, FibWorkload.VIRTUAL_CUTOFF + 1}) {
            long expected = fib(n);
            assertEquals(expected, new FibWorkload().measure(n, quiet, false).value(), "fib(" + n + ")");
        }
    }

    @Test
    void virtualThreadsForkAndJoin() throws Exception {
        assertEquals(fib(26), FibWorkload.fibVirtual(26));
    }

    @Test
    void aDifferentValueIsReported() {
        FibWorkload.requireSameValue("Spindle", 55, 55);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> FibWorkload.requireSameValue("Spindle", 55, 54));
        assertEquals("fib: Spindle gave 54, the sequential native run 55", e.getMessage());
    }

    @Test
    void runReturnsZeroAndWritesTheValue() throws Exception {
        Path file = dir.resolve("fib.txt");
        assertRunsAndChecks("fib", "25", "--out", file.toString());
        assertEquals("fib(25) = 75025", Files.readString(file).trim());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertUsageError("n must be between 1 and 45, was 0", "fib", "0");
        assertUsageError("n must be between 1 and 45, was 46", "fib", "46");
        assertUsageError("must be a whole number", "fib", "x");
        assertUsageError("one n only", "fib", "20", "21");
        assertUsageError("unknown option '--file'", "fib", "--file", "x");
    }

    private static long fib(long n) {
        long a = 0, b = 1;
        for (long i = 0; i < n; i++) {
            long c = a + b;
            a = b;
            b = c;
        }
        return a;
    }
}
