package io.spindle.benchmarks;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.runtime.NativeThread;
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

import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;
import static io.spindle.benchmarks.TaskFunction.TIMEOUT_NANOS;

/**
 * Starting and joining one thread that runs the trivial native function, from a Java
 * platform thread. Average time per spawn+join:
 *
 * <ul>
 *   <li>{@code spindleNativeThread}: Spindle's raw clone(2) thread, stacks and TCBs reused
 *       from its cache (the default);
 *   <li>{@code spindleNativeThreadUncached}: the same with {@code cached(false)}: a fresh
 *       mmap'd stack and a fresh glibc TCB every time;
 *   <li>{@code pthread}: pthread_create + pthread_join in C, one JNA call;
 *   <li>{@code platformThread}: {@code new Thread(..)} calling the function through JNA;
 *   <li>{@code virtualThread}: a virtual thread doing the same.
 * </ul>
 * Each answer is checked once in {@link #setUp()}; every join is bounded.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Thread)
public class ThreadSpawnBenchmark {

    @Param({"spindleNativeThread", "spindleNativeThreadUncached", "pthread", "platformThread", "virtualThread"})
    public String runtime;

    @FunctionalInterface
    interface SpawnJoin {
        long run(long arg) throws Exception;
    }

    private SpawnJoin spawnJoin;
    private Memory pthreadOut;
    private long javaResult;
    private long arg;

    @Setup
    public void setUp() throws Exception {
        NativeFunction fn = TaskFunction.trivial.nativeFunction();
        LongUnaryOperator call = TaskFunction.trivial.javaCall();
        spawnJoin = switch (runtime) {
            case "spindleNativeThread" -> a -> NativeThread.start(fn, a).join(TIMEOUT);
            case "spindleNativeThreadUncached" -> {
                NativeThread.Builder uncached = NativeThread.builder().cached(false);
                yield a -> uncached.start(fn, a).join(TIMEOUT);
            }
            case "pthread" -> {
                pthreadOut = new Memory(8);
                long out = Pointer.nativeValue(pthreadOut);
                long address = fn.address();
                yield a -> {
                    int err = BenchNative.bench_pthread_call(address, a, out, TIMEOUT_NANOS);
                    if (err != 0) throw new IllegalStateException("pthread spawn+join failed: errno " + err);
                    return pthreadOut.getLong(0);
                };
            }
            case "platformThread" -> a -> join(Thread.ofPlatform().start(() -> javaResult = call.applyAsLong(a)));
            case "virtualThread" -> a -> join(Thread.ofVirtual().start(() -> javaResult = call.applyAsLong(a)));
            default -> throw new IllegalArgumentException("unknown runtime " + runtime);
        };
        long sum = 0;
        for (int i = 0; i < 200; i++) sum += spawnJoin.run(1000 + i);
        long expected = TaskFunction.trivial.expectedSum(1000, 200);
        if (sum != expected) throw new IllegalStateException(runtime + ": results summed to " + sum + ", expected " + expected);
    }

    private long join(Thread t) throws InterruptedException {
        if (!t.join(TIMEOUT)) throw new IllegalStateException("thread still running after " + TIMEOUT);
        return javaResult;
    }

    @Benchmark
    public long spawnJoin() throws Exception {
        return spawnJoin.run(arg++);
    }

    @TearDown
    public void tearDown() {
        if (pthreadOut != null) pthreadOut.close();
    }
}
