package io.spindle.samples.workloads;

import io.spindle.samples.Workload;
import io.spindle.scheduler.Spindle;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static io.spindle.samples.workloads.WorkloadNative.*;
import static io.spindle.samples.workloads.WorkloadSupport.*;

/**
 * {@code fib [n] [--out FILE]}: naive fork-join fib(n), the classic test of what a spawn
 * costs. On Spindle every call above n = {@value #GREEN_CUTOFF} spawns fib(n-1) as a green
 * thread (spn_spawn), computes fib(n-2) itself and joins (spn_join); most children are still
 * queued when joined and run inline, so a spawn costs a push and a pop. On virtual threads
 * every call above n = {@value #VIRTUAL_CUTOFF} starts a virtual thread for fib(n-1) and
 * joins it; below, one JNA call computes the rest in C (starting and joining a virtual
 * thread costs a microsecond or more, far more than a green spawn's push and pop, so its
 * cutoff is higher). Sequentially: one JNA call, plain recursion in C.
 */
public final class FibWorkload implements Workload {
    static final int GREEN_CUTOFF = 12, VIRTUAL_CUTOFF = 20;
    static final long MIN_N = 1, MAX_N = 45, DEFAULT_N = 40, TOUR_N = 38;
    private static final int WARM_UP_N = 24;

    @Override
    public String name() {
        return "fib";
    }

    @Override
    public String summary() {
        return "fork-join fib(n): a green thread per call vs virtual threads vs sequential C; [n] [--out F]";
    }

    @Override
    public long tourSize() {
        return TOUR_N;
    }

    @Override
    public int run(List<String> args, PrintStream out) throws Exception {
        Args a = parse(args, "n", DEFAULT_N, MIN_N, MAX_N, Set.of("--out"));
        Path file = requireWritable("--out", a.path("--out"));
        Result r = measure(a.size(), out, true);
        printTable(out, r.timing(), workers());
        if (file != null) {
            Files.writeString(file, "fib(" + a.size() + ") = " + r.value() + System.lineSeparator());
            out.println("wrote " + file.toAbsolutePath());
        }
        return 0;
    }

    @Override
    public Timing measure(long n, PrintStream out) throws Exception {
        return measure(n, out, true).timing();
    }

    record Result(Timing timing, long value) {}

    Result measure(long n, PrintStream out, boolean warmUp) throws Exception {
        if (n < MIN_N || n > MAX_N) throw new IllegalArgumentException("n must be between " + MIN_N + " and " + MAX_N + ", was " + n);
        out.printf("fib(%d): Spindle spawns per call above %d, virtual threads start per call above %d%n",
                n, GREEN_CUTOFF, VIRTUAL_CUTOFF);
        try (Spindle spindle = openSpindle(name())) {
            if (warmUp) {
                out.println("  warm-up: every way " + ROUNDS + " times at n = " + WARM_UP_N);
                runOnce(spindle, WARM_UP_N, null);
            }
            Result r = runOnce(spindle, n, out);
            out.println("  fib(" + n + ") = " + r.value());
            out.println("  " + workerLine(spindle));
            return r;
        }
    }

    private Result runOnce(Spindle spindle, long n, PrintStream out) throws Exception {
        long[] seq = new long[1], green = new long[1], virtual = new long[1];
        Duration s = timed(out, "sequential native: one JNA call", () -> seq[0] = sample_fib(n));
        Duration g = timed(out, "Spindle: a green thread per call above " + GREEN_CUTOFF,
                () -> green[0] = requireTaskResult("fib", spindle.spawn(FIB_TASK, n | (long) GREEN_CUTOFF << 32).join()));
        Duration v = timed(out, "virtual threads: a thread per call above " + VIRTUAL_CUTOFF,
                () -> virtual[0] = fork(() -> fibVirtual(n)).join());
        requireSameValue("Spindle", seq[0], green[0]);
        requireSameValue("virtual threads", seq[0], virtual[0]);
        return new Result(new Timing(name(), "fib(" + n + ")", g, v, s), seq[0]);
    }

    /** Virtual threads: fib(n-1) on a new one, fib(n-2) here; at or below the cutoff, C through JNA. */
    static long fibVirtual(long n) throws Exception {
        if (n <= VIRTUAL_CUTOFF || n < 2) return sample_fib(n);
        Forked<Long> left = fork(() -> fibVirtual(n - 1));
        long right = fibVirtual(n - 2);
        return left.join() + right;
    }

    static void requireSameValue(String way, long expected, long actual) {
        if (expected != actual) {
            throw new IllegalStateException("fib: " + way + " gave " + actual + ", the sequential native run " + expected);
        }
    }
}
