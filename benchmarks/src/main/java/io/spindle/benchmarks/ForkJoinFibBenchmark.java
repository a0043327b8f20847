package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Spindle;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveTask;
import java.util.concurrent.TimeUnit;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;
import static io.spindle.benchmarks.TaskFunction.TIMEOUT_NANOS;

/**
 * Fork-join fib({@value #N}) = {@value #ANSWER}, the green-thread issue's recursion benchmark:
 * average time per fib({@value #N}), from the JMH thread's submit to the answer. Every
 * parallel alternative has the same shape: fork fib(n-1) as a child, compute fib(n-2) on the
 * current thread, join the child, add. "A task per call" means every call with n >= 2 forks
 * (121,392 forks per fib(25)); below a cutoff c, calls with n < c run the sequential function
 * instead. The alternatives, side by side in one run:
 *
 * <ul>
 *   <li>{@code spindle}: all in C on Spindle (bench_green.c {@code bench_spn_fib}), a task per
 *       call: {@code spn_spawn} of fib(n-1), fib(n-2) by a plain call, {@code spn_join}. The
 *       root is one {@code Spindle.spawn} from Java, joined with a deadline; workers: one per
 *       processor ({@link TaskFunction#newSpindle}).
 *   <li>{@code forkJoin}: a {@link RecursiveTask} per call in a {@link ForkJoinPool} of the
 *       same parallelism: {@code new Fib(n-1).fork()}, {@code new Fib(n-2).compute()}, then
 *       {@code join()}; the root submitted from the JMH thread, its {@code get} bounded.
 *   <li>{@code virtualThreadCutoff12}: one virtual thread per call with n >= 12 (started for
 *       fib(n-1), then {@code join()}ed by the thread that computed fib(n-2)); sequential Java
 *       below 12. The root is a virtual thread too, joined from the JMH thread with a
 *       deadline. Default virtual-thread scheduler (parallelism = processors).
 *   <li>{@code sequentialNative}: the plain recursive C function (bench_native.c
 *       {@code bench_fib_sequential}), called once through JNA direct mapping: the floor.
 * </ul>
 * And, for context only (not the configuration):
 * <ul>
 *   <li>{@code spindleCutoff12}, {@code forkJoinCutoff12}: the same as {@code spindle} and
 *       {@code forkJoin} with the virtual threads' cutoff (sequential C, resp. Java, below 12);
 *   <li>{@code virtualThread}: a virtual thread per call, no cutoff (121,392 threads per fib).
 * </ul>
 *
 * <p>The answer is checked on every invocation (one comparison per fib: free next to 10^5
 * forks). Only the root's wait is bounded ({@link TaskFunction#TIMEOUT}); the joins inside
 * the recursion are the thing measured, and one that never returned would show as the
 * root's timeout.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Thread)
public class ForkJoinFibBenchmark {
    public static final int N = 25;
    public static final long ANSWER = 75_025;
    /** "A task per call": only fib(0) and fib(1) are not forked. */
    private static final int NO_CUTOFF = 2;
    private static final int CUTOFF = 12;

    @Param({"spindle", "forkJoin", "virtualThreadCutoff12", "sequentialNative",
            "spindleCutoff12", "forkJoinCutoff12", "virtualThread"})
    public String runtime;

    /** One fib(N), start to answer; throws if it cannot be had in time. */
    @FunctionalInterface
    interface Fib {
        long run() throws Exception;
    }

    private Fib fib;
    private Spindle spindle;
    private ForkJoinPool pool;

    @Setup
    public void setUp() throws Exception {
        fib = switch (runtime) {
            case "spindle" -> spindleFib(NO_CUTOFF);
            case "spindleCutoff12" -> spindleFib(CUTOFF);
            case "forkJoin" -> forkJoinFib(NO_CUTOFF);
            case "forkJoinCutoff12" -> forkJoinFib(CUTOFF);
            case "virtualThreadCutoff12" -> virtualThreadFib(CUTOFF);
            case "virtualThread" -> virtualThreadFib(NO_CUTOFF);
            case "sequentialNative" -> () -> BenchNative.bench_fib_sequential(N);
            default -> throw new IllegalArgumentException("unknown runtime " + runtime);
        };
        check(fib.run());
    }

    private Fib spindleFib(int cutoff) {
        spindle = TaskFunction.newSpindle("bench-fib");
        Spindle s = spindle;
        NativeFunction fn = NativeFunction.of(BenchNative.LIBRARY, "bench_spn_fib");
        long arg = N | (long) cutoff << 32;
        return () -> s.spawn(fn, arg).join(TIMEOUT);
    }

    private Fib forkJoinFib(int cutoff) {
        pool = new ForkJoinPool(TaskFunction.workers());
        ForkJoinPool p = pool;
        return () -> p.submit(new FibTask(N, cutoff)).get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
    }

    private static Fib virtualThreadFib(int cutoff) {
        return () -> {
            long[] result = new long[1];
            Thread root = Thread.ofVirtual().start(() -> result[0] = virtualFib(N, cutoff));
            if (!root.join(TIMEOUT)) throw new IllegalStateException("fib(" + N + ") still running after " + TIMEOUT);
            return result[0]; // the join ordered the write before this read
        };
    }

    /** A virtual thread for fib(n-1), fib(n-2) here, join. -1 if interrupted (never, here). */
    private static long virtualFib(int n, int cutoff) {
        if (n < cutoff || n < 2) return sequentialFib(n);
        long[] left = new long[1];
        Thread child = Thread.ofVirtual().start(() -> left[0] = virtualFib(n - 1, cutoff));
        long right = virtualFib(n - 2, cutoff);
        try {
            child.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
        return left[0] < 0 ? -1 : left[0] + right;
    }

    static long sequentialFib(int n) {
        return n < 2 ? n : sequentialFib(n - 1) + sequentialFib(n - 2);
    }

    /** The same recursion as a RecursiveTask: fork n-1, compute n-2, join. */
    static final class FibTask extends RecursiveTask<Long> {
        private final int n;
        private final int cutoff;

        FibTask(int n, int cutoff) {
            this.n = n;
            this.cutoff = cutoff;
        }

        @Override
        protected Long compute() {
            if (n < cutoff || n < 2) return sequentialFib(n);
            FibTask left = new FibTask(n - 1, cutoff);
            left.fork();
            long right = new FibTask(n - 2, cutoff).compute();
            return left.join() + right;
        }
    }

    private long check(long answer) {
        if (answer != ANSWER) {
            throw new IllegalStateException(runtime + ": fib(" + N + ") " + BenchNative.describeGreenResult(answer)
                    + ", expected " + ANSWER);
        }
        return answer;
    }

    @Benchmark
    public long fib() throws Exception {
        return check(fib.run());
    }

    @TearDown
    public void tearDown() throws Exception {
        if (spindle != null) TaskFunction.closeAndReport(spindle);
        if (pool != null) TaskFunction.shutdown(pool, runtime);
    }
}
