package io.spindle.samples.workloads;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.samples.Workload;
import io.spindle.scheduler.Spindle;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static io.spindle.samples.workloads.WorkloadNative.*;
import static io.spindle.samples.workloads.WorkloadSupport.*;

/**
 * {@code sort [n] [--out FILE]}: quicksort of n pseudo-random ints in native memory. On
 * Spindle one task partitions (Hoare, median of three), spawns a green thread for the left
 * part, recurses on the right and joins; parts of {@value #SPLIT_MIN} ints or fewer are sorted
 * on the spot (quicksort ending in insertion sort). On virtual threads the same recursion is
 * written in Java: a JNA call partitions, a new virtual thread takes the left part, the right
 * is recursed on, and parts of {@value #SPLIT_MIN} ints or fewer are sorted by one JNA call;
 * the tree of splits is exactly Spindle's. Sequentially: one JNA call sorts everything with
 * the same partition. The sequential result is checked sorted and a permutation of the input
 * (an order-independent hash), and both parallel results must equal it byte for byte.
 */
public final class SortWorkload implements Workload {
    static final long SPLIT_MIN = 8192;
    static final long MIN_N = 1, MAX_N = 1L << 25, DEFAULT_N = 10_000_000, TOUR_N = 3_000_000;
    private static final long WARM_UP_N = 100_000, SEED = 27;

    @Override
    public String name() {
        return "sort";
    }

    @Override
    public String summary() {
        return "parallel quicksort of n ints: green threads vs virtual threads vs sequential C; [n] [--out F]";
    }

    @Override
    public long tourSize() {
        return TOUR_N;
    }

    @Override
    public int run(List<String> args, PrintStream out) throws Exception {
        Args a = parse(args, "n", DEFAULT_N, MIN_N, MAX_N, Set.of("--out"));
        Path file = requireWritable("--out", a.path("--out"));
        Timing t = measure(a.size(), out, file);
        printTable(out, t, workers());
        return 0;
    }

    @Override
    public Timing measure(long n, PrintStream out) throws Exception {
        return measure(n, out, null);
    }

    /** The work at {@code n} ints; the sorted ints (little-endian int32s) to {@code file} if not null. */
    Timing measure(long n, PrintStream out, Path file) throws Exception {
        if (n < MIN_N || n > MAX_N) throw new IllegalArgumentException("n must be between " + MIN_N + " and " + MAX_N + ", was " + n);
        out.printf("sort: %s pseudo-random ints; a part of %s ints or fewer is sorted without splitting%n",
                count(n), count(SPLIT_MIN));
        try (Spindle spindle = openSpindle(name())) {
            out.println("  warm-up: every way " + ROUNDS + " times at " + count(WARM_UP_N) + " ints");
            runOnce(spindle, WARM_UP_N, null, null);
            Timing t = runOnce(spindle, n, out, file);
            out.println("  " + workerLine(spindle));
            return t;
        }
    }

    private Timing runOnce(Spindle spindle, long n, PrintStream out, Path file) throws Exception {
        long bytes = 4 * n;
        try (Memory input = new Memory(bytes); Memory seq = new Memory(bytes); Memory green = new Memory(bytes);
             Memory virtual = new Memory(bytes); Memory range = new Memory(RANGE_SIZE)) {
            sample_fill_random(Pointer.nativeValue(input), bytes, SEED);
            range.setLong(RANGE_A, Pointer.nativeValue(green));
            range.setLong(RANGE_N, n);
            range.setLong(RANGE_SPLIT_MIN, SPLIT_MIN);

            // Each round sorts a fresh copy of the input (the copy is not timed).
            Duration s = timed(out, "sequential native: one JNA call", () -> copy(input, seq, bytes),
                    () -> sample_sort(Pointer.nativeValue(seq), n));
            Duration g = timed(out, "Spindle: spawn one part, recurse on the other", () -> copy(input, green, bytes),
                    () -> requireTaskResult("sort", spindle.spawn(SORT_TASK, range).join()));
            Duration v = timed(out, "virtual threads: the same splits, a JNA call per step", () -> copy(input, virtual, bytes),
                    () -> fork(() -> sortVirtual(Pointer.nativeValue(virtual), n)).join());

            requireSortedPermutation(input, seq, n);
            requireSameInts("Spindle", seq, green, n);
            requireSameInts("virtual threads", seq, virtual, n);
            if (file != null) {
                write(seq, bytes, file);
                if (out != null) out.println("  wrote " + file.toAbsolutePath() + " (" + count(n) + " little-endian int32s)");
            }
            return new Timing(name(), count(n) + " ints", g, v, s);
        }
    }

    private static void copy(Memory from, Memory to, long bytes) {
        sample_copy(Pointer.nativeValue(to), Pointer.nativeValue(from), bytes);
    }

    /** Virtual threads: the left part on a new one, the right part here, as sort_parallel in C. */
    static Void sortVirtual(long a, long n) throws Exception {
        if (n <= SPLIT_MIN || n < 2) {
            sample_sort(a, n);
            return null;
        }
        long k = sample_partition(a, n);
        Forked<Void> left = fork(() -> sortVirtual(a, k));
        sortVirtual(a + 4 * k, n - k);
        left.join();
        return null;
    }

    /** The sequential result is in order and holds the input's ints (by an order-independent hash). */
    static void requireSortedPermutation(Pointer input, Pointer sorted, long n) {
        long descent = sample_first_descent(Pointer.nativeValue(sorted), n);
        if (descent >= 0) {
            throw new IllegalStateException("sort: the sequential native run is out of order at index " + descent
                    + ": " + sorted.getInt(4 * descent) + " before " + sorted.getInt(4 * descent + 4));
        }
        if (sample_multiset_hash(Pointer.nativeValue(input), n) != sample_multiset_hash(Pointer.nativeValue(sorted), n)) {
            throw new IllegalStateException("sort: the sequential native run is not a permutation of the input");
        }
    }

    /** Throws naming the first index at which {@code actual} differs from {@code expected}. */
    static void requireSameInts(String way, Pointer expected, Pointer actual, long n) {
        long at = sample_first_difference(Pointer.nativeValue(expected), Pointer.nativeValue(actual), 4 * n);
        if (at >= 0) {
            long i = at / 4;
            throw new IllegalStateException("sort: " + way + " differs from the sequential native run at index " + i
                    + ": " + actual.getInt(4 * i) + " instead of " + expected.getInt(4 * i));
        }
    }

    private static void write(Memory ints, long bytes, Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (long at = 0; at < bytes; ) {
                int len = (int) Math.min(1 << 30, bytes - at);
                ByteBuffer b = ints.getByteBuffer(at, len).order(ByteOrder.LITTLE_ENDIAN);
                while (b.hasRemaining()) ch.write(b);
                at += len;
            }
        }
    }
}
