package io.spindle.benchmarks;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Isolation;
import io.spindle.scheduler.SharedMemory;
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

import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;

/**
 * What an isolated pool costs where nothing crashes: the same three workloads on an
 * in-process pool and on an isolated one (its workers in a namespaced child, everything it
 * touches in shared memory), in the same run.
 *
 * <ul>
 *   <li>{@code roundTrip}: spawn + join of the trivial task from one platform thread;
 *   <li>{@code batch}: 10,000 trivial tasks as one spawnAll and one join, per task;
 *   <li>{@code crc32c}: the CRC32C of every 64 KiB chunk of a 256 MiB buffer, a task per
 *       chunk (as Crc32cWorkloadBenchmark), the buffer in shared memory for the isolated pool.
 * </ul>
 * Every answer is checked: the round trip's and the batch's results, the CRC sum against
 * java.util.zip.CRC32C. What a crash and restart cost is {@link IsolatedRestartBenchmark}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class IsolationBenchmark {
    static final int BATCH = 10_000;

    @Param({"spindleInProcess", "spindleIsolated"})
    public String pool;

    /** 256 MiB by default; the smoke test makes it small. */
    @Param({"268435456"})
    public long bufferBytes;

    private Spindle spindle;
    private NativeFunction trivial;
    private NativeFunction crcTask;
    private long[] batchArgs;
    private long[] chunkArgs;
    private long expectedCrcSum;
    private Memory heapBuffer; // in-process: buffer and chunk table in one JNA Memory
    private SharedMemory sharedBuffer; // isolated: the same in the pool's shared memory
    private long arg;

    @Setup
    public void setUp() throws Exception {
        trivial = TaskFunction.trivial.nativeFunction();
        crcTask = NativeFunction.of(BenchNative.LIBRARY, "bench_crc32c_task");
        Spindle.Builder builder = Spindle.builder().workers(TaskFunction.workers()).name("bench-" + pool);
        if (pool.equals("spindleIsolated")) {
            builder.isolated(Isolation.builder().library(BenchNative.LIBRARY).sharedMemory(bufferBytes + (64L << 20)).build());
        }
        spindle = builder.build();
        int count = Crc32cChunks.count(bufferBytes);
        long bytes = bufferBytes + 16L * count; // the buffer, then its chunk table
        long base;
        if (spindle.isIsolated()) {
            sharedBuffer = spindle.allocateShared(bytes);
            base = sharedBuffer.address();
        } else {
            heapBuffer = new Memory(bytes);
            base = Pointer.nativeValue(heapBuffer);
        }
        chunkArgs = new long[count];
        expectedCrcSum = Arrays.stream(Crc32cChunks.prepare(base, bufferBytes, base + bufferBytes, chunkArgs)).sum();
        batchArgs = new long[BATCH];
        for (int i = 0; i < BATCH; i++) batchArgs[i] = i;
        if (roundTrip() != 1 || crc32c() != expectedCrcSum || batch() != (long) BATCH * (BATCH - 1) / 2) {
            throw new IllegalStateException(pool + ": a wrong answer");
        }
    }

    @TearDown
    public void tearDown() {
        if (sharedBuffer != null) sharedBuffer.close();
        TaskFunction.closeAndReport(spindle);
    }

    @Benchmark
    public long roundTrip() throws Exception {
        long a = ++arg;
        long r = spindle.spawn(trivial, a).join(TIMEOUT);
        if (r != a) throw new IllegalStateException("round trip returned " + r);
        return 1;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long batch() throws Exception {
        return Arrays.stream(spindle.spawnAll(trivial, batchArgs).join(TIMEOUT)).sum();
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public long crc32c() throws Exception {
        long sum = 0;
        for (long r : spindle.spawnAll(crcTask, chunkArgs).join(TIMEOUT)) sum += r & 0xffffffffL;
        if (sum != expectedCrcSum) throw new IllegalStateException("CRC32C sum " + sum + ", expected " + expectedCrcSum);
        return sum;
    }
}
