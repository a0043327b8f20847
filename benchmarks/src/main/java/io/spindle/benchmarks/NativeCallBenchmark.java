package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchNative;

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
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;

/**
 * The floor under the other suites and the calibration of {@link TaskFunction#work1us}: the
 * task function called inline on the JMH thread, no other thread involved, in each
 * {@link Binding} the Java alternatives of the other suites use:
 *
 * <ul>
 *   <li>{@code jna}: JNA direct mapping, one JNI transition;
 *   <li>{@code ffm}: an FFM downcall, default linkage (a transition to the native state and back);
 *   <li>{@code ffmCritical}: an FFM downcall, critical linkage (no transition).
 * </ul>
 * Each answer is checked once in {@link #setUp()} against the JNA call's.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Thread)
public class NativeCallBenchmark {

    @Param({"jna", "ffm", "ffmCritical"})
    public String binding;

    @Param({"trivial", "work1us"})
    public String function;

    private LongUnaryOperator call;
    private long arg;

    @Setup
    public void setUp() {
        call = TaskFunction.valueOf(function).javaCall(Binding.valueOf(binding));
        long expected = TaskFunction.valueOf(function).expectedSum(42, 1);
        if (call.applyAsLong(42) != expected) {
            throw new IllegalStateException(function + " through " + binding + " of 42 returned " + call.applyAsLong(42) + ", JNA " + expected);
        }
        if (function.equals("trivial") && call.applyAsLong(42) != 42) {
            throw new IllegalStateException("bench_identity(42) returned " + call.applyAsLong(42));
        }
        if (function.equals("work1us")) {
            System.out.printf("%n[bench] bench_work runs %d LCG steps%n", BenchNative.bench_work_steps());
        }
    }

    @Benchmark
    public long call() {
        return call.applyAsLong(arg++);
    }
}
