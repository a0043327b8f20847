package io.spindle.samples.workloads;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.samples.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static io.spindle.samples.workloads.WorkloadSupportTest.*;
import static org.junit.jupiter.api.Assertions.*;

class SortWorkloadTest {
    @TempDir
    Path dir;

    @Test
    void measureChecksEveryWayAgainstTheSequentialSort() throws Exception {
        Workload.Timing t = new SortWorkload().measure(300_000, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals("300,000 ints", t.size());
        assertTrue(t.spindle().toNanos() > 0 && t.virtualThreads().toNanos() > 0 && t.sequential().toNanos() > 0);
    }

    @Test
    void tinyAndAwkwardSizes() throws Exception {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        for (long n : new long[] {1, 2, 3, 25, SortWorkload.SPLIT_MIN, SortWorkload.SPLIT_MIN + 1, 3 * SortWorkload.SPLIT_MIN + 7}) {
            assertNotNull(new SortWorkload().measure(n, quiet, null), "n = " + n);
        }
    }

    @Test
    void theNativeSortAgreesWithArraysSortOnManyDuplicates() {
        int n = 100_000;
        int[] ints = new Random(3).ints(n, -50, 50).toArray();
        try (Memory m = new Memory(4L * n)) {
            m.write(0, ints, 0, n);
            WorkloadNative.sample_sort(Pointer.nativeValue(m), n);
            Arrays.sort(ints);
            assertArrayEquals(ints, m.getIntArray(0, n));
        }
    }

    @Test
    void partitionSplitsStrictlyInside() {
        int[][] cases = {{2, 1}, {1, 1}, {5, 5, 5, 5}, {1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}, {3, 1, 2}};
        for (int[] c : cases) {
            try (Memory m = new Memory(4L * c.length)) {
                m.write(0, c, 0, c.length);
                long k = WorkloadNative.sample_partition(Pointer.nativeValue(m), c.length);
                assertTrue(k >= 1 && k <= c.length - 1, Arrays.toString(c) + " split at " + k);
                int[] p = m.getIntArray(0, c.length);
                int leftMax = Arrays.stream(p, 0, (int) k).max().orElseThrow();
                int rightMin = Arrays.stream(p, (int) k, p.length).min().orElseThrow();
                assertTrue(leftMax <= rightMin, Arrays.toString(c) + " -> " + Arrays.toString(p) + " at " + k);
            }
        }
    }

    @Test
    void theChecksCatchWrongResults() {
        int n = 1000;
        int[] input = new Random(9).ints(n).toArray();
        int[] sorted = input.clone();
        Arrays.sort(sorted);
        try (Memory in = new Memory(4L * n); Memory good = new Memory(4L * n); Memory bad = new Memory(4L * n)) {
            in.write(0, input, 0, n);
            good.write(0, sorted, 0, n);
            SortWorkload.requireSortedPermutation(in, good, n);
            SortWorkload.requireSameInts("Spindle", good, good, n);

            bad.write(0, sorted, 0, n);
            bad.setInt(4L * 500, sorted[499]); // a duplicate instead of the original: sorted, not a permutation
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> SortWorkload.requireSortedPermutation(in, bad, n));
            assertTrue(e.getMessage().contains("not a permutation"), e.getMessage());
            e = assertThrows(IllegalStateException.class, () -> SortWorkload.requireSameInts("virtual threads", good, bad, n));
            assertTrue(e.getMessage().startsWith("sort: virtual threads differs from the sequential native run at index 500"), e.getMessage());

            bad.write(0, sorted, 0, n);
            bad.setInt(4L * 10, sorted[11]);
            bad.setInt(4L * 11, sorted[10]);
            e = assertThrows(IllegalStateException.class, () -> SortWorkload.requireSortedPermutation(in, bad, n));
            assertTrue(e.getMessage().contains("out of order at index 10"), e.getMessage());
        }
    }

    @Test
    void runReturnsZeroAndWritesTheSortedInts() throws Exception {
        Path file = dir.resolve("sorted.bin");
        assertRunsAndChecks("sort", "50k", "--out", file.toString());
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(4 * 50 * 1024, bytes.length);
        IntBuffer ints = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
        for (int i = 1; i < ints.limit(); i++) assertTrue(ints.get(i - 1) <= ints.get(i), "in order at " + i);
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertUsageError("n must be between 1 and 33,554,432, was 0", "sort", "0");
        assertUsageError("n must be between 1 and 33,554,432, was 34,359,738,368", "sort", "32G");
        assertUsageError("must be a whole number", "sort", "1.5");
    }
}
