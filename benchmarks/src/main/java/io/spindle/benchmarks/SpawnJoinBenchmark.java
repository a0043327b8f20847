package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Spindle;

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

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveTask;
import java.util.concurrent.TimeUnit;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;
import static io.spindle.benchmarks.TaskFunction.TIMEOUT_NANOS;

/**
 * Spawn + join of one trivial child from inside a task, {@value #PAIRS} times in a row:
 * nanoseconds per pair ({@code @OperationsPerInvocation}). Child i returns i; the parent adds
 * the results and the sum is checked on every invocation. The alternatives, side by side:
 *
 * <ul>
 *   <li>{@code spindle}: one native task (bench_green.c {@code bench_spn_spawn_join_loop})
 *       on a Spindle of one worker per processor ({@link TaskFunction#newSpindle}) that loops
 *       {@code spn_spawn(bench_identity, i); spn_join}. What a pair costs is whatever the
 *       scheduler does: with lazy task creation a child still on the parent's deque at the
 *       join runs inline as a call; one that an idle worker stole first runs on a stack of
 *       its own and the parent parks (the teardown prints the steals).
 *   <li>{@code forkJoin}: one {@link RecursiveTask} in a {@link ForkJoinPool} of the same
 *       parallelism that loops {@code new Child(i).fork(); join()} (a Java child returning i:
 *       the machinery only, no JNI call).
 *   <li>{@code virtualThread}: one virtual thread that loops
 *       {@code Thread.ofVirtual().start(child); child.join()} (the child stores i; default
 *       scheduler, parallelism = processors).
 * </ul>
 * The one Java-side submit and bounded wait per invocation ({@link TaskFunction#TIMEOUT})
 * is spread over the {@value #PAIRS} pairs. The joins inside the loop are what is measured,
 * so they are not timed; one that never returned shows as the outer timeout.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(SpawnJoinBenchmark.PAIRS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Thread)
public class SpawnJoinBenchmark {
    public static final int PAIRS = 100_000;
    /** 0 + 1 + ... + (PAIRS - 1). */
    private static final long EXPECTED = (long) PAIRS * (PAIRS - 1) / 2;

    @Param({"spindle", "forkJoin", "virtualThread"})
    public String runtime;

    /** PAIRS spawn+join pairs inside one task; returns the children's sum. */
    @FunctionalInterface
    interface Loop {
        long run() throws Exception;
    }

    private Loop loop;
    private Spindle spindle;
    private ForkJoinPool pool;

    @Setup
    public void setUp() throws Exception {
        loop = switch (runtime) {
            case "spindle" -> {
                spindle = TaskFunction.newSpindle("bench-spawnjoin");
                Spindle s = spindle;
                NativeFunction fn = NativeFunction.of(BenchNative.LIBRARY, "bench_spn_spawn_join_loop");
                yield () -> s.spawn(fn, PAIRS).join(TIMEOUT);
            }
            case "forkJoin" -> {
                pool = new ForkJoinPool(TaskFunction.workers());
                ForkJoinPool p = pool;
                yield () -> p.submit(new ForkJoinParent()).get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
            }
            case "virtualThread" -> () -> {
                long[] sum = new long[1];
                Thread parent = Thread.ofVirtual().start(() -> sum[0] = virtualThreadLoop());
                if (!parent.join(TIMEOUT)) throw new IllegalStateException("the loop still runs after " + TIMEOUT);
                return sum[0]; // the join ordered the write before this read
            };
            default -> throw new IllegalArgumentException("unknown runtime " + runtime);
        };
        check(loop.run());
    }

    static final class ForkJoinChild extends RecursiveTask<Long> {
        private final long value;

        ForkJoinChild(long value) {
            this.value = value;
        }

        @Override
        protected Long compute() {
            return value;
        }
    }

    static final class ForkJoinParent extends RecursiveTask<Long> {
        @Override
        protected Long compute() {
            long sum = 0;
            for (int i = 0; i < PAIRS; i++) {
                ForkJoinChild child = new ForkJoinChild(i);
                child.fork();
                sum += child.join();
            }
            return sum;
        }
    }

    /** One child slot, written by the child and read by the parent after its join. */
    private static final class Slot implements Runnable {
        long value;
        long result;

        @Override
        public void run() {
            result = value;
        }
    }

    private static long virtualThreadLoop() {
        Slot slot = new Slot();
        long sum = 0;
        try {
            for (int i = 0; i < PAIRS; i++) {
                slot.value = i; // written before start: start happens-before the child's run
                Thread child = Thread.ofVirtual().start(slot);
                child.join();
                sum += slot.result;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
        return sum;
    }

    private long check(long sum) {
        if (sum != EXPECTED) {
            throw new IllegalStateException(runtime + ": the children summed to " + sum + " ("
                    + BenchNative.describeGreenResult(sum) + "), expected " + EXPECTED);
        }
        return sum;
    }

    @Benchmark
    public long spawnJoin() throws Exception {
        return check(loop.run());
    }

    @TearDown
    public void tearDown() throws Exception {
        if (spindle != null) TaskFunction.closeAndReport(spindle);
        if (pool != null) TaskFunction.shutdown(pool, runtime);
    }
}
