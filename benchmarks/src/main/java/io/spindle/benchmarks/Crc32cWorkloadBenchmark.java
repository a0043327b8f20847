package io.spindle.benchmarks;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.benchmarks.internal.BenchDowncalls;
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

import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.LongBinaryOperator;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;
import static io.spindle.benchmarks.TaskFunction.TIMEOUT_NANOS;

/**
 * A real workload: the CRC32C of every 64 KiB chunk of a 256 MiB native buffer (4096 chunks,
 * one task each), the same SSE4.2 C function for everyone. Average time for the whole buffer:
 *
 * <ul>
 *   <li>{@code spindle}: one {@code spawnAll} of the 4096 chunk tasks, one join;
 *   <li>{@code virtualThread}, {@code virtualThreadFfm}, {@code virtualThreadFfmCritical}: a
 *       virtual thread per chunk, then a join of each;
 *   <li>{@code threadPool}, {@code threadPoolFfm}, {@code threadPoolFfmCritical}: a fixed pool
 *       (one thread per processor), a submitted call per chunk;
 *   <li>{@code forkJoinFfm}, {@code forkJoinFfmCritical}: a ForkJoinPool of the same
 *       parallelism, a submitted call per chunk;
 *   <li>{@code singleThreadNative}: one JNA call that checksums every chunk in turn.
 * </ul>
 * The Java threads call the function in the {@link Binding} their name ends with: no
 * suffix, JNA direct mapping (a JNI call); {@code Ffm}, an FFM downcall with default linkage;
 * {@code FfmCritical}, one with critical linkage (no thread-state transition, and so no GC
 * pause while a chunk's call, ~7 us, runs).
 * The answer: every chunk's CRC equals java.util.zip.CRC32C's, checked in {@link #setUp()}
 * for each alternative and again after each measured invocation by comparing the sum.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
@State(Scope.Benchmark)
public class Crc32cWorkloadBenchmark {
    static final int CHUNK = Crc32cChunks.CHUNK;

    @Param({"spindle", "virtualThread", "virtualThreadFfm", "virtualThreadFfmCritical",
            "threadPool", "threadPoolFfm", "threadPoolFfmCritical", "forkJoinFfm", "forkJoinFfmCritical",
            "singleThreadNative"})
    public String runtime;

    /** 256 MiB by default; the smoke test makes it small. */
    @Param({"268435456"})
    public long bufferBytes;

    private Memory buffer;
    private Memory chunks; // struct bench_chunk[count]
    private Memory results;
    private long[] chunkArgs;
    private int count;
    private long expectedSum;
    private Spindle spindle;
    private ExecutorService pool;
    private NativeFunction task;
    private LongBinaryOperator javaCrc32c; // (address, length) -> CRC, for the Java threads

    @Setup
    public void setUp() throws Exception {
        count = Crc32cChunks.count(bufferBytes);
        buffer = new Memory(bufferBytes);
        chunks = new Memory(16L * count);
        results = new Memory(8L * count);
        chunkArgs = new long[count];
        long[] expected = Crc32cChunks.prepare(Pointer.nativeValue(buffer), bufferBytes, Pointer.nativeValue(chunks), chunkArgs);
        expectedSum = Arrays.stream(expected).sum();
        task = NativeFunction.of(BenchNative.LIBRARY, "bench_crc32c_task");
        javaCrc32c = switch (Binding.ofRuntime(runtime)) {
            case jna -> BenchNative::bench_crc32c;
            case ffm -> BenchDowncalls.Default::bench_crc32c;
            case ffmCritical -> BenchDowncalls.Critical::bench_crc32c;
        };
        if ("spindle".equals(runtime)) spindle = TaskFunction.newSpindle("bench-crc32c");
        if (runtime.startsWith("threadPool")) pool = Executors.newFixedThreadPool(TaskFunction.workers());
        if (runtime.startsWith("forkJoin")) pool = new ForkJoinPool(TaskFunction.workers());
        long[] got = run();
        if (!Arrays.equals(expected, got)) throw new IllegalStateException(runtime + ": chunk CRCs differ from java.util.zip.CRC32C");
    }

    private long[] run() throws Exception {
        long[] crcs = new long[count];
        LongBinaryOperator crc32c = javaCrc32c;
        switch (runtime) {
            case "spindle" -> {
                long[] r = spindle.spawnAll(task, chunkArgs).join(TIMEOUT);
                for (int i = 0; i < count; i++) crcs[i] = r[i] & 0xffffffffL;
            }
            case "virtualThread", "virtualThreadFfm", "virtualThreadFfmCritical" -> {
                Thread[] threads = new Thread[count];
                for (int i = 0; i < count; i++) {
                    int k = i;
                    threads[i] = Thread.ofVirtual().start(() -> crcs[k] = crc32c.applyAsLong(
                            Pointer.nativeValue(buffer) + (long) k * CHUNK, CHUNK) & 0xffffffffL);
                }
                for (Thread t : threads) {
                    if (!t.join(TIMEOUT)) throw new IllegalStateException("virtual thread still running after " + TIMEOUT);
                }
            }
            case "threadPool", "threadPoolFfm", "threadPoolFfmCritical", "forkJoinFfm", "forkJoinFfmCritical" -> {
                @SuppressWarnings("unchecked")
                Future<Long>[] futures = new Future[count];
                for (int i = 0; i < count; i++) {
                    long address = Pointer.nativeValue(buffer) + (long) i * CHUNK;
                    futures[i] = pool.submit(() -> crc32c.applyAsLong(address, CHUNK) & 0xffffffffL);
                }
                for (int i = 0; i < count; i++) crcs[i] = futures[i].get(TIMEOUT_NANOS, TimeUnit.NANOSECONDS);
            }
            case "singleThreadNative" -> {
                BenchNative.bench_crc32c_chunks(Pointer.nativeValue(chunks), count, Pointer.nativeValue(results));
                for (int i = 0; i < count; i++) crcs[i] = results.getLong(8L * i) & 0xffffffffL;
            }
            default -> throw new IllegalArgumentException("unknown runtime " + runtime);
        }
        return crcs;
    }

    @Benchmark
    public long checksum() throws Exception {
        long sum = Arrays.stream(run()).sum();
        if (sum != expectedSum) throw new IllegalStateException(runtime + ": wrong checksums");
        return sum;
    }

    @TearDown
    public void tearDown() throws Exception {
        if (spindle != null) TaskFunction.closeAndReport(spindle);
        if (pool != null) {
            TaskFunction.shutdown(pool, runtime);
        }
        buffer.close();
        chunks.close();
        results.close();
    }
}
