package io.spindle.benchmarks;

import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.Task;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;
import static io.spindle.benchmarks.TaskFunction.TIMEOUT_NANOS;

/**
 * A producer that outruns its workers: {@value #TASKS} trivial tasks submitted one by one
 * from one Java thread through a queue of {@code capacity} slots, then all joined: the time
 * per task. With a small queue the producer waits for room almost every time, so this
 * measures what backpressure costs: how soon a waiting producer learns that a slot freed.
 * Side by side with the same shape in Java: a ThreadPoolExecutor on an ArrayBlockingQueue of
 * the same capacity whose submit blocks while the queue is full ({@code put}), the usual way
 * to make an executor push back. Its workers call the function in the {@link Binding} the
 * name ends with: {@code threadPoolBlocking} through JNA direct mapping (a JNI call),
 * {@code threadPoolBlockingFfm} an FFM downcall with default linkage,
 * {@code threadPoolBlockingFfmCritical} one with critical linkage (no thread-state transition).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(BackpressureBenchmark.TASKS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Thread)
public class BackpressureBenchmark {
    public static final int TASKS = 20_000;

    @Param({"spindle", "threadPoolBlocking", "threadPoolBlockingFfm", "threadPoolBlockingFfmCritical"})
    public String runtime;

    @Param({"2", "64", "16384"})
    public int capacity;

    private Spindle spindle;
    private ThreadPoolExecutor pool;
    private NativeFunction fn;
    private LongUnaryOperator call;
    private long expected;
    private final Task[] tasks = new Task[TASKS];
    @SuppressWarnings("unchecked")
    private final Future<Long>[] futures = new Future[TASKS];

    @Setup
    public void setUp() throws Exception {
        fn = TaskFunction.trivial.nativeFunction();
        call = TaskFunction.trivial.javaCall(Binding.ofRuntime(runtime));
        expected = TaskFunction.trivial.expectedSum(0, TASKS);
        int workers = TaskFunction.workers();
        switch (runtime) {
            case "spindle" -> spindle = Spindle.builder().workers(workers).ringCapacity(capacity).name("bench-backpressure").build();
            case "threadPoolBlocking", "threadPoolBlockingFfm", "threadPoolBlockingFfmCritical" -> pool = new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS,
                    new ArrayBlockingQueue<>(capacity), (task, executor) -> {
                        try {
                            executor.getQueue().put(task); // block the producer until a slot frees
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new RejectedExecutionException(e);
                        }
                    });
            default -> throw new IllegalArgumentException("unknown runtime " + runtime);
        }
        check(run());
    }

    private long run() throws Exception {
        long sum = 0;
        if (spindle != null) {
            for (int i = 0; i < TASKS; i++) tasks[i] = spindle.spawn(fn, i);
            for (int i = 0; i < TASKS; i++) {
                sum += tasks[i].join(TIMEOUT);
                tasks[i] = null;
            }
        } else {
            for (int i = 0; i < TASKS; i++) {
                final long a = i;
                futures[i] = pool.submit(() -> call.applyAsLong(a));
            }
            for (int i = 0; i < TASKS; i++) {
                sum += futures[i].get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
                futures[i] = null;
            }
        }
        return sum;
    }

    private long check(long sum) {
        if (sum != expected) throw new IllegalStateException(runtime + ": summed to " + sum + ", expected " + expected);
        return sum;
    }

    @Benchmark
    public long submitThroughAFullQueue() throws Exception {
        return check(run());
    }

    @TearDown
    public void tearDown() throws Exception {
        if (spindle != null) TaskFunction.closeAndReport(spindle);
        if (pool != null) TaskFunction.shutdown(pool, runtime);
    }
}
