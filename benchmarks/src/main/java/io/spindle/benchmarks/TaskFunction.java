package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchDowncalls;
import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Spindle;

import java.time.Duration;
import java.util.function.LongUnaryOperator;

/**
 * The native function every alternative of a suite runs, in the forms the alternatives
 * need: an address for the native schedulers (Spindle, pthreads, raw clone threads) and, for
 * Java threads, a call in each {@link Binding} (JNA direct mapping, FFM downcalls with default
 * and critical linkage). The {@code @Param} values of the suites are the names.
 */
public enum TaskFunction {
    /** Returns its argument: the cost of the machinery alone. */
    trivial("bench_identity", BenchNative::bench_identity,
            BenchDowncalls.Default::bench_identity, BenchDowncalls.Critical::bench_identity),
    /** About 1 us of dependent integer work (see bench_native.c and NativeCallBenchmark). */
    work1us("bench_work", BenchNative::bench_work,
            BenchDowncalls.Default::bench_work, BenchDowncalls.Critical::bench_work);

    /** The bound of every single wait in the suites: a lost wake-up fails the run, it never hangs it. */
    public static final Duration TIMEOUT = Duration.ofSeconds(10);
    public static final long TIMEOUT_NANOS = TIMEOUT.toNanos();

    private final String symbol;
    private final LongUnaryOperator jnaCall;
    private final LongUnaryOperator ffmCall;
    private final LongUnaryOperator ffmCriticalCall;

    TaskFunction(String symbol, LongUnaryOperator jnaCall, LongUnaryOperator ffmCall, LongUnaryOperator ffmCriticalCall) {
        this.symbol = symbol;
        this.jnaCall = jnaCall;
        this.ffmCall = ffmCall;
        this.ffmCriticalCall = ffmCriticalCall;
    }

    /** For Spindle's workers, pthreads and clone threads: the same code, by address. */
    public NativeFunction nativeFunction() {
        return NativeFunction.of(BenchNative.LIBRARY, symbol);
    }

    /** For Java threads: a JNA direct-mapped call of the same function. */
    public LongUnaryOperator javaCall() {
        return jnaCall;
    }

    /** For Java threads: a call of the same function in the given binding. */
    public LongUnaryOperator javaCall(Binding binding) {
        return switch (binding) {
            case jna -> jnaCall;
            case ffm -> ffmCall;
            case ffmCritical -> ffmCriticalCall;
        };
    }

    /** The reference answer, computed on the calling thread (through JNA: every binding is checked against it). */
    public long expectedSum(long first, int n) {
        long sum = 0;
        for (int i = 0; i < n; i++) sum += jnaCall.applyAsLong(first + i);
        return sum;
    }

    /**
     * Workers of Spindle and of the Java pools: one per processor, the same for everyone.
     * {@code -Dbench.workers=N} (through {@code -jvmArgsAppend}) changes it for all of them:
     * a diagnostic knob, not part of the headline configuration.
     */
    public static int workers() {
        return Integer.getInteger("bench.workers", Runtime.getRuntime().availableProcessors());
    }

    /**
     * A Spindle with {@link #workers()} workers and the default spin time (50 us), unless
     * {@code -Dbench.spinMicros=N} sets another (a diagnostic knob as well).
     */
    public static Spindle newSpindle(String name) {
        Spindle.Builder builder = Spindle.builder().workers(workers()).name(name);
        Integer spinMicros = Integer.getInteger("bench.spinMicros");
        if (spinMicros != null) builder.spinTime(Duration.ofNanos(spinMicros * 1000L));
        return builder.build();
    }

    /** Closes a benchmark's runtime and prints its counters: context for the report's reader. */
    public static void closeAndReport(Spindle spindle) {
        io.spindle.scheduler.SpindleStats stats = spindle.stats();
        spindle.close();
        System.out.printf("%n[spindle] tasks run %d, steals %d, stacks %d, worker parks %d, wake-ups %d%n",
                stats.tasksRun(), stats.steals(), stats.stacks(), stats.parks(), stats.wakeups());
    }

    /** Shuts a benchmark's Java pool down, bounded like every other wait; a ForkJoinPool first prints its steals. */
    public static void shutdown(java.util.concurrent.ExecutorService pool, String what) throws InterruptedException {
        if (pool instanceof java.util.concurrent.ForkJoinPool fj) {
            System.out.printf("%n[%s] steals %d%n", what, fj.getStealCount()); // context, like closeAndReport's
        }
        pool.shutdown();
        if (!pool.awaitTermination(TIMEOUT_NANOS, java.util.concurrent.TimeUnit.NANOSECONDS)) {
            throw new IllegalStateException(what + " did not terminate within " + TIMEOUT);
        }
    }
}
