package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.runtime.NativeThread;
import io.spindle.scheduler.CType;
import io.spindle.scheduler.Signature;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.Task;
import io.spindle.scheduler.TypedFunction;
import io.spindle.scheduler.TypedTask;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
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

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RecursiveTask;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;
import static io.spindle.benchmarks.TaskFunction.TIMEOUT_NANOS;

/**
 * {@value #TASKS} tasks submitted from one Java platform thread, then all joined: the time
 * per task (ns/op with {@code @OperationsPerInvocation}), the inverse of throughput. Task i
 * runs the native function ({@link TaskFunction}) on argument i; every invocation adds up
 * the results and compares them with the sum computed in {@link #setUp()} (a wrong answer
 * throws). Java threads call the function in the {@link Binding} their name ends with: no
 * suffix, JNA direct mapping (a JNI call); {@code Ffm}, an FFM downcall with default linkage;
 * {@code FfmCritical}, one with critical linkage (no thread-state transition). The
 * alternatives, side by side in one run:
 *
 * <ul>
 *   <li>{@code spindleSpawnAll}: one {@code spawnAll} (one TaskGroup, queued in chunks of up
 *       to 64 tasks that each run on one green thread), one join;
 *   <li>{@code spindleCallAll}: the same function as a typed call ({@code int64(int64)}), one
 *       {@code callAll} of one argument column: a 16-byte row per call (the argument, the
 *       result), the workers calling back to back from the rows (spn_call_rows), one join;
 *   <li>{@code spindleSpawnEach}: {@value #TASKS} {@code spawn}s, then a join of each handle;
 *   <li>{@code spindleCallEach}: {@value #TASKS} typed {@code call}s of the same function
 *       (boxed argument, the descriptor's own row), then a join of each;
 *   <li>{@code virtualThread}, {@code virtualThreadFfm}, {@code virtualThreadFfmCritical}: a
 *       virtual thread per task, then joins;
 *   <li>{@code threadPool}, {@code threadPoolFfm}, {@code threadPoolFfmCritical},
 *       {@code forkJoin}, {@code forkJoinFfm}, {@code forkJoinFfmCritical}:
 *       {@value #TASKS} {@code submit}s to a fixed pool (ThreadPoolExecutor, resp.
 *       ForkJoinPool) of one thread per processor, then {@code get} of each future;
 *   <li>{@code recursiveTaskFfm}, {@code recursiveTaskFfmCritical}: the idiomatic ForkJoinPool
 *       way, one submitted {@link RecursiveTask} that halves its range (forking one half,
 *       computing the other) down to at most {@value #CHUNK} tasks, called in a loop and
 *       summed; one {@code get};
 *   <li>{@code forkJoinChunks64}, {@code forkJoinChunks64Ffm}, {@code forkJoinChunks64FfmCritical}:
 *       ForkJoinPool given the batching Spindle's spawnAll does: one {@code submit} per
 *       {@value #CHUNK} consecutive tasks, each storing its results in an array, then
 *       {@code get} of each future;
 *   <li>{@code loopFfm}, {@code loopFfmCritical}: no other thread, the {@value #TASKS} calls
 *       in a loop on the JMH thread: what the batch costs without parallelism;
 *   <li>{@code pthread}: in C, a pthread per task, at most {@value #WINDOW} alive at once
 *       (create; when the window is full, join the oldest), one JNI call per batch;
 *   <li>{@code cloneThread}: Spindle's raw clone thread per task, the same window of
 *       {@value #WINDOW}, from Java.
 * </ul>
 * Every FFM alternative links the address {@code spindleCallAll} calls and passes the same
 * arguments, so they all add up the same results. Every wait is bounded
 * ({@link TaskFunction#TIMEOUT} per join, a minute for a native batch).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(BatchBenchmark.TASKS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Thread)
public class BatchBenchmark {
    public static final int TASKS = 100_000;
    /** Threads alive at once for the thread-per-task baselines that are not Java threads. */
    public static final int WINDOW = 64;
    /** Tasks per submission of {@code forkJoinChunks64*}, the most per leaf of {@code recursiveTask*}: Spindle's largest batch chunk. */
    public static final int CHUNK = 64;
    private static final long BATCH_TIMEOUT_NANOS = TimeUnit.MINUTES.toNanos(1);

    @Param({"spindleSpawnAll", "spindleCallAll", "spindleSpawnEach", "spindleCallEach",
            "virtualThread", "virtualThreadFfm", "virtualThreadFfmCritical",
            "threadPool", "threadPoolFfm", "threadPoolFfmCritical",
            "forkJoin", "forkJoinFfm", "forkJoinFfmCritical",
            "recursiveTaskFfm", "recursiveTaskFfmCritical",
            "forkJoinChunks64", "forkJoinChunks64Ffm", "forkJoinChunks64FfmCritical",
            "loopFfm", "loopFfmCritical",
            "pthread", "cloneThread"})
    public String runtime;

    @Param({"trivial", "work1us"})
    public String function;

    /** Runs the whole batch; returns the sum of the results. */
    @FunctionalInterface
    interface Batch {
        long run() throws Exception;
    }

    private Batch batch;
    private long expected;
    private Spindle spindle;
    private ExecutorService executor;
    private Memory pthreadSum;

    private final long[] args = new long[TASKS];
    private final long[] results = new long[TASKS];
    private final Task[] tasks = new Task[TASKS];
    private final TypedTask[] calls = new TypedTask[TASKS];
    private final Thread[] threads = new Thread[TASKS];
    @SuppressWarnings("unchecked")
    private final Future<Long>[] futures = new Future[TASKS];
    private final NativeThread[] window = new NativeThread[WINDOW];

    @Setup
    public void setUp() throws Exception {
        TaskFunction task = TaskFunction.valueOf(function);
        NativeFunction fn = task.nativeFunction();
        LongUnaryOperator call = task.javaCall(Binding.ofRuntime(runtime));
        int workers = TaskFunction.workers();
        for (int i = 0; i < TASKS; i++) args[i] = i;
        expected = task.expectedSum(0, TASKS);

        batch = switch (runtime) {
            case "spindleSpawnAll" -> {
                spindle = TaskFunction.newSpindle("bench-batch");
                Spindle s = spindle;
                yield () -> sum(s.spawnAll(fn, args).join(TIMEOUT));
            }
            case "spindleCallAll" -> {
                spindle = TaskFunction.newSpindle("bench-batch");
                Spindle s = spindle;
                TypedFunction typed = TypedFunction.ofAddress(fn.address(), Signature.of(CType.INT64, CType.INT64));
                yield () -> sum(s.callAll(typed, args).join(TIMEOUT));
            }
            case "spindleSpawnEach" -> {
                spindle = TaskFunction.newSpindle("bench-batch");
                Spindle s = spindle;
                yield () -> {
                    for (int i = 0; i < TASKS; i++) tasks[i] = s.spawn(fn, args[i]);
                    long sum = 0;
                    for (int i = 0; i < TASKS; i++) {
                        sum += tasks[i].join(TIMEOUT);
                        tasks[i] = null;
                    }
                    return sum;
                };
            }
            case "spindleCallEach" -> {
                spindle = TaskFunction.newSpindle("bench-batch");
                Spindle s = spindle;
                TypedFunction typed = TypedFunction.ofAddress(fn.address(), Signature.of(CType.INT64, CType.INT64));
                yield () -> {
                    for (int i = 0; i < TASKS; i++) calls[i] = s.call(typed, args[i]);
                    long sum = 0;
                    for (int i = 0; i < TASKS; i++) {
                        sum += calls[i].join(TIMEOUT);
                        calls[i] = null;
                    }
                    return sum;
                };
            }
            case "virtualThread", "virtualThreadFfm", "virtualThreadFfmCritical" -> () -> {
                for (int i = 0; i < TASKS; i++) {
                    final int slot = i;
                    threads[i] = Thread.ofVirtual().start(() -> results[slot] = call.applyAsLong(args[slot]));
                }
                for (int i = 0; i < TASKS; i++) {
                    if (!threads[i].join(TIMEOUT)) throw new IllegalStateException("virtual thread still running after " + TIMEOUT);
                    threads[i] = null;
                }
                return sum(results); // the joins ordered the writes before these reads
            };
            case "threadPool", "threadPoolFfm", "threadPoolFfmCritical" -> {
                executor = new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>());
                yield submitAll(executor, call);
            }
            case "forkJoin", "forkJoinFfm", "forkJoinFfmCritical" -> {
                executor = new ForkJoinPool(workers);
                yield submitAll(executor, call);
            }
            case "recursiveTaskFfm", "recursiveTaskFfmCritical" -> {
                ForkJoinPool pool = new ForkJoinPool(workers);
                executor = pool;
                yield () -> pool.submit(new SumRange(call, 0, TASKS)).get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
            }
            case "forkJoinChunks64", "forkJoinChunks64Ffm", "forkJoinChunks64FfmCritical" -> {
                executor = new ForkJoinPool(workers);
                yield submitChunks(executor, call);
            }
            case "loopFfm", "loopFfmCritical" -> () -> {
                long sum = 0;
                for (int i = 0; i < TASKS; i++) sum += call.applyAsLong(args[i]);
                return sum;
            };
            case "pthread" -> {
                pthreadSum = new Memory(8);
                long out = Pointer.nativeValue(pthreadSum);
                ByteBuffer sum = pthreadSum.getByteBuffer(0, 8).order(ByteOrder.nativeOrder());
                long address = fn.address();
                yield () -> {
                    int err = BenchNative.bench_pthread_batch(address, 0, TASKS, WINDOW, out, BATCH_TIMEOUT_NANOS);
                    if (err != 0) throw new IllegalStateException("pthread batch failed: errno " + err);
                    return sum.getLong(0);
                };
            }
            case "cloneThread" -> () -> {
                long sum = 0;
                for (int i = 0; i < TASKS; i++) {
                    int slot = i % WINDOW;
                    if (i >= WINDOW) sum += window[slot].join(TIMEOUT);
                    window[slot] = NativeThread.start(fn, args[i]);
                }
                for (int i = TASKS; i < TASKS + WINDOW; i++) {
                    sum += window[i % WINDOW].join(TIMEOUT);
                    window[i % WINDOW] = null;
                }
                return sum;
            };
            default -> throw new IllegalArgumentException("unknown runtime " + runtime);
        };

        check(batch.run()); // the answer, before anything is measured
    }

    private Batch submitAll(ExecutorService executor, LongUnaryOperator call) {
        return () -> {
            for (int i = 0; i < TASKS; i++) {
                final long a = args[i];
                Callable<Long> c = () -> call.applyAsLong(a);
                futures[i] = executor.submit(c);
            }
            long sum = 0;
            for (int i = 0; i < TASKS; i++) {
                sum += futures[i].get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
                futures[i] = null;
            }
            return sum;
        };
    }

    private Batch submitChunks(ExecutorService executor, LongUnaryOperator call) {
        return () -> {
            int chunks = 0;
            for (int from = 0; from < TASKS; from += CHUNK) {
                final int start = from, end = Math.min(TASKS, from + CHUNK);
                Callable<Long> c = () -> {
                    for (int i = start; i < end; i++) results[i] = call.applyAsLong(args[i]);
                    return 0L;
                };
                futures[chunks++] = executor.submit(c);
            }
            for (int i = 0; i < chunks; i++) {
                futures[i].get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
                futures[i] = null;
            }
            return sum(results); // each get ordered its chunk's writes before these reads
        };
    }

    /** The sum of the results for {@code args[from, to)}: halves forked until at most {@value #CHUNK} remain. */
    @SuppressWarnings("serial") // never serialized
    private final class SumRange extends RecursiveTask<Long> {
        private final LongUnaryOperator call;
        private final int from, to;

        SumRange(LongUnaryOperator call, int from, int to) {
            this.call = call;
            this.from = from;
            this.to = to;
        }

        @Override
        protected Long compute() {
            if (to - from <= CHUNK) {
                long sum = 0;
                for (int i = from; i < to; i++) sum += call.applyAsLong(args[i]);
                return sum;
            }
            int middle = (from + to) >>> 1;
            SumRange left = new SumRange(call, from, middle);
            left.fork();
            long right = new SumRange(call, middle, to).compute();
            return left.join() + right;
        }
    }

    private static long sum(long[] values) {
        long sum = 0;
        for (long v : values) sum += v;
        return sum;
    }

    private long check(long sum) {
        if (sum != expected) {
            throw new IllegalStateException(runtime + "/" + function + ": the batch summed to " + sum + ", expected " + expected);
        }
        return sum;
    }

    @Benchmark
    public long batch() throws Exception {
        return check(batch.run()); // one comparison per 100,000 tasks: free
    }

    @TearDown
    public void tearDown() throws Exception {
        if (spindle != null) TaskFunction.closeAndReport(spindle);
        if (executor != null) {
            TaskFunction.shutdown(executor, runtime);
        }
        if (pthreadSum != null) pthreadSum.close();
    }
}
