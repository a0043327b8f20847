package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Isolation;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.TaskCrashedException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;

/**
 * What a crash costs an isolated pool: {@code crashToNextResult} submits a task that
 * dereferences an invalid address, waits for its join to fail with TaskCrashedException
 * (the child died, the JVM reaped it and failed the task), then for the result of a trivial
 * task, which a new child runs: the latency from a crash to a working pool again.
 * {@code restart} is only the second half: the join of a trivial task submitted right
 * after a crash's join failed (the new child's start-up). No back-off between restarts.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class IsolatedRestartBenchmark {
    private Spindle spindle;
    private NativeFunction crash;
    private NativeFunction trivial;

    @Setup
    public void setUp() {
        crash = NativeFunction.of(BenchNative.LIBRARY, "bench_crash");
        trivial = TaskFunction.trivial.nativeFunction();
        spindle = Spindle.builder().workers(TaskFunction.workers()).name("bench-restart")
                .isolated(Isolation.builder().library(BenchNative.LIBRARY).maxRestarts(Integer.MAX_VALUE)
                        .restartBackoff(Duration.ZERO, Duration.ZERO).build())
                .build();
    }

    @TearDown
    public void tearDown() {
        TaskFunction.closeAndReport(spindle);
    }

    private void crashOnce() throws Exception {
        try {
            spindle.spawn(crash, 0x10).join(TIMEOUT);
            throw new IllegalStateException("bench_crash returned");
        } catch (TaskCrashedException expected) {
            // the child died, as it should
        }
    }

    @Benchmark
    public long crashToNextResult() throws Exception {
        crashOnce();
        return spindle.spawn(trivial, 7).join(TIMEOUT);
    }

    @Benchmark
    public long restart(RestartState s) throws Exception {
        return spindle.spawn(trivial, 7).join(TIMEOUT);
    }

    /** A crash before each invocation of restart (not measured). */
    @State(Scope.Thread)
    public static class RestartState {
        @Setup(org.openjdk.jmh.annotations.Level.Invocation)
        public void crash(IsolatedRestartBenchmark b) throws Exception {
            b.crashOnce();
        }
    }
}
