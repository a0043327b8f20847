package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.runtime.NativeThread;
import io.spindle.scheduler.Spindle;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
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

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;
import static io.spindle.benchmarks.TaskFunction.TIMEOUT_NANOS;

/**
 * One task, start to result, from a Java platform thread (the JMH thread): submit, wait,
 * read the answer. Average time per round trip, every alternative running the same native
 * function ({@link TaskFunction}) in the same JMH run:
 *
 * <ul>
 *   <li>{@code spindle}: {@code spawn(fn, arg).join(timeout)} on warm workers (one per
 *       processor, default 50 us spin, so back-to-back round trips find them spinning);
 *   <li>{@code virtualThread}, {@code virtualThreadFfm}, {@code virtualThreadFfmCritical}:
 *       {@code Thread.ofVirtual().start(..).join(timeout)};
 *   <li>{@code threadPool}, {@code threadPoolFfm}, {@code threadPoolFfmCritical}: a fixed
 *       {@link ThreadPoolExecutor} (one thread per processor), {@code submit(..).get(timeout)};
 *   <li>{@code forkJoin}, {@code forkJoinFfm}, {@code forkJoinFfmCritical}: a
 *       {@link ForkJoinPool} of the same parallelism, same calls;
 *   <li>{@code pthread}: pthread_create + pthread_join in C (bench_native.c), called through
 *       JNA direct mapping: one JNI transition per round trip;
 *   <li>{@code cloneThread}: Spindle's own raw clone(2) thread per task,
 *       {@code NativeThread.start(fn, arg).join(timeout)}: what a worker pool saves.
 * </ul>
 * The Java threads call the function in the {@link Binding} their name ends with: no
 * suffix, JNA direct mapping (a JNI call); {@code Ffm}, an FFM downcall with default linkage;
 * {@code FfmCritical}, one with critical linkage (no thread-state transition).
 *
 * <p>The answer is checked once per trial, in {@link #setUp()}: a thousand round trips must
 * add up to the sum computed on this thread. Every wait is bounded by {@link TaskFunction#TIMEOUT}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Thread)
public class RoundTripBenchmark {

    @Param({"spindle", "virtualThread", "virtualThreadFfm", "virtualThreadFfmCritical",
            "threadPool", "threadPoolFfm", "threadPoolFfmCritical",
            "forkJoin", "forkJoinFfm", "forkJoinFfmCritical", "pthread", "cloneThread"})
    public String runtime;

    @Param({"trivial", "work1us"})
    public String function;

    /** One round trip for the argument; throws if the answer cannot be had in time. */
    @FunctionalInterface
    interface RoundTrip {
        long run(long arg) throws Exception;
    }

    private RoundTrip roundTrip;
    private Spindle spindle;
    private ExecutorService executor;
    private Memory pthreadOut;
    private long arg;
    private long virtualResult; // written by the virtual thread, read after its join

    @Setup
    public void setUp() throws Exception {
        TaskFunction task = TaskFunction.valueOf(function);
        NativeFunction fn = task.nativeFunction();
        LongUnaryOperator call = task.javaCall(Binding.ofRuntime(runtime));
        int workers = TaskFunction.workers();
        roundTrip = switch (runtime) {
            case "spindle" -> {
                spindle = TaskFunction.newSpindle("bench-roundtrip");
                Spindle s = spindle;
                yield a -> s.spawn(fn, a).join(TIMEOUT);
            }
            case "virtualThread", "virtualThreadFfm", "virtualThreadFfmCritical" -> a -> {
                Thread t = Thread.ofVirtual().start(() -> virtualResult = call.applyAsLong(a));
                if (!t.join(TIMEOUT)) throw new IllegalStateException("virtual thread still running after " + TIMEOUT);
                return virtualResult;
            };
            case "threadPool", "threadPoolFfm", "threadPoolFfmCritical" -> {
                executor = new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
                ExecutorService e = executor;
                yield a -> e.submit(() -> call.applyAsLong(a)).get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
            }
            case "forkJoin", "forkJoinFfm", "forkJoinFfmCritical" -> {
                executor = new ForkJoinPool(workers);
                ExecutorService e = executor;
                yield a -> e.submit(() -> call.applyAsLong(a)).get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
            }
            case "pthread" -> {
                pthreadOut = new Memory(8);
                long out = Pointer.nativeValue(pthreadOut);
                ByteBuffer result = pthreadOut.getByteBuffer(0, 8).order(ByteOrder.nativeOrder());
                long address = fn.address();
                yield a -> {
                    int err = BenchNative.bench_pthread_call(address, a, out, TIMEOUT_NANOS);
                    if (err != 0) throw new IllegalStateException("pthread round trip failed: errno " + err);
                    return result.getLong(0);
                };
            }
            case "cloneThread" -> a -> NativeThread.start(fn, a).join(TIMEOUT);
            default -> throw new IllegalArgumentException("unknown runtime " + runtime);
        };

        // The answer, once: 1000 round trips against the sum computed here.
        final int n = 1000;
        final long first = 1_000_003;
        long sum = 0;
        for (int i = 0; i < n; i++) sum += roundTrip.run(first + i);
        long expected = task.expectedSum(first, n);
        if (sum != expected) {
            throw new IllegalStateException(runtime + "/" + function + ": round trips summed to " + sum + ", expected " + expected);
        }
    }

    @Benchmark
    public long roundTrip() throws Exception {
        return roundTrip.run(arg++);
    }

    @TearDown
    public void tearDown() throws Exception {
        if (spindle != null) TaskFunction.closeAndReport(spindle);
        if (executor != null) {
            TaskFunction.shutdown(executor, runtime);
        }
        if (pthreadOut != null) pthreadOut.close();
    }
}
