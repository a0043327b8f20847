package io.spindle.samples.workloads;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.samples.UsageException;
import io.spindle.samples.Workload;
import io.spindle.scheduler.Spindle;

import java.io.BufferedWriter;
import java.io.EOFException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;

import static io.spindle.samples.workloads.WorkloadNative.*;
import static io.spindle.samples.workloads.WorkloadSupport.*;

/**
 * {@code hash [bytes | --file FILE] [--out FILE]}: CRC32C (the SSE4.2 crc32 instruction) of
 * every 64 KiB chunk of a file, or of a generated buffer of {@code bytes} pseudo-random bytes,
 * held in native memory. On Spindle one task per chunk (spawnAll); on virtual threads one
 * thread per chunk, each calling the same C function through JNA; sequentially one JNA call
 * for every chunk. Every chunk's CRC must equal the sequential run's and
 * java.util.zip.CRC32C's. {@code --out} writes one line per chunk: offset, length, CRC.
 *
 * <p>One core streams CRC32C at about 10 GB/s (the crc32 instruction, memory-bound), so a
 * chunk takes a few microseconds: the parallel ways measure what a task (or a virtual
 * thread) per 64 KiB costs as much as what a second core adds.
 */
public final class HashWorkload implements Workload {
    static final int CHUNK = 64 * 1024;
    static final long MIN_BYTES = 1, MAX_BYTES = 1L << 30, DEFAULT_BYTES = 256L << 20, TOUR_BYTES = 256L << 20;
    private static final long WARM_UP_BYTES = 1L << 20, SEED = 42;

    @Override
    public String name() {
        return "hash";
    }

    @Override
    public String summary() {
        return "CRC32C of 64 KiB chunks: a task each vs virtual threads vs sequential C; [bytes | --file F] [--out F]";
    }

    @Override
    public long tourSize() {
        return TOUR_BYTES;
    }

    @Override
    public int run(List<String> args, PrintStream out) throws Exception {
        Args a = parse(args, "bytes", DEFAULT_BYTES, MIN_BYTES, MAX_BYTES, Set.of("--file", "--out"));
        Path input = a.path("--file");
        Path crcs = requireWritable("--out", a.path("--out"));
        if (input != null && a.sizeGiven()) throw new UsageException("give a size or --file, not both");
        Result r;
        if (input != null) {
            long size = requireReadable(input);
            try (Memory data = new Memory(size)) {
                out.println("hash: reading " + input + " (" + count(size) + " bytes) into native memory");
                read(input, data, size);
                r = measure(data, size, input.getFileName().toString(), out);
            }
        } else {
            r = measureGenerated(a.size(), out);
        }
        printTable(out, r.timing(), workers());
        if (crcs != null) {
            writeCrcs(r.crcs(), r.size(), crcs);
            out.println("wrote " + crcs.toAbsolutePath() + " (" + r.crcs().length + " lines: offset, length, CRC32C)");
        }
        return 0;
    }

    /** The size of a file this sample can hash; a UsageException saying why not otherwise. */
    static long requireReadable(Path file) throws IOException {
        if (!Files.exists(file)) throw new UsageException("--file: no such file: " + file);
        if (!Files.isRegularFile(file)) throw new UsageException("--file: " + file + " is not a regular file");
        if (!Files.isReadable(file)) throw new UsageException("--file: " + file + " is not readable");
        long size = Files.size(file);
        if (size == 0) throw new UsageException("--file: " + file + " is empty: there is nothing to hash");
        if (size > MAX_BYTES) {
            throw new UsageException("--file: " + file + " has " + count(size) + " bytes, more than the "
                    + count(MAX_BYTES) + " this sample reads into memory");
        }
        return size;
    }

    @Override
    public Timing measure(long bytes, PrintStream out) throws Exception {
        if (bytes < MIN_BYTES || bytes > MAX_BYTES) {
            throw new IllegalArgumentException("bytes must be between " + MIN_BYTES + " and " + MAX_BYTES + ", was " + bytes);
        }
        return measureGenerated(bytes, out).timing();
    }

    record Result(Timing timing, long[] crcs, long size) {}

    Result measureGenerated(long bytes, PrintStream out) throws Exception {
        try (Memory data = new Memory(bytes)) {
            out.println("hash: generating " + count(bytes) + " pseudo-random bytes");
            sample_fill_random(Pointer.nativeValue(data), bytes, SEED);
            return measure(data, bytes, mib(bytes), out);
        }
    }

    private Result measure(Memory data, long size, String label, PrintStream out) throws Exception {
        int chunks = chunks(size);
        out.printf("hash: CRC32C of %s chunks of 64 KiB%n", count(chunks));
        try (Spindle spindle = openSpindle(name())) {
            out.println("  warm-up: every way " + ROUNDS + " times on the first " + mib(Math.min(size, WARM_UP_BYTES)));
            runOnce(spindle, data, Math.min(size, WARM_UP_BYTES), null);
            Run r = runOnce(spindle, data, size, out);
            out.println("  every chunk's CRC32C also equals java.util.zip.CRC32C's");
            out.println("  " + workerLine(spindle));
            Timing t = new Timing(name(), label + ", " + count(chunks) + " chunks", r.spindle(), r.virtualThreads(), r.sequential());
            return new Result(t, r.crcs(), size);
        }
    }

    /** One checked run: the chunks' CRCs and the three times. */
    private record Run(long[] crcs, Duration spindle, Duration virtualThreads, Duration sequential) {}

    private static Run runOnce(Spindle spindle, Memory data, long size, PrintStream out) throws Exception {
        int n = chunks(size);
        long base = Pointer.nativeValue(data);
        try (Memory table = new Memory(CHUNK_SIZE * n); Memory seqOut = new Memory(8L * n)) {
            long[] args = new long[n];
            for (int i = 0; i < n; i++) {
                long offset = (long) i * CHUNK;
                table.setLong(CHUNK_SIZE * i + CHUNK_ADDRESS, base + offset);
                table.setLong(CHUNK_SIZE * i + CHUNK_LENGTH, Math.min(CHUNK, size - offset));
                args[i] = Pointer.nativeValue(table) + CHUNK_SIZE * i;
            }
            long[] seq = new long[n], green = new long[n], virtual = new long[n];
            Duration s = timed(out, "sequential native: one JNA call for " + count(n) + " chunks", () -> {
                sample_crc32c_chunks(Pointer.nativeValue(table), n, Pointer.nativeValue(seqOut));
                seqOut.read(0, seq, 0, n);
            });
            Duration g = timed(out, "Spindle: spawnAll of " + count(n) + " chunk tasks on " + spindle.workers() + " workers",
                    () -> System.arraycopy(spindle.spawnAll(CRC32C_TASK, args).join(), 0, green, 0, n));
            // A virtual thread in a JNA call pins its carrier until the call returns.
            Duration v = timed(out, "virtual threads: " + count(n) + " threads, one JNA call each", () -> {
                try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                    List<Future<Long>> futures = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) {
                        long offset = (long) i * CHUNK, length = Math.min(CHUNK, size - offset);
                        futures.add(threads.submit(() -> sample_crc32c(base + offset, length)));
                    }
                    for (int i = 0; i < n; i++) virtual[i] = futures.get(i).get();
                }
            });
            requireEqual("hash", "the sequential native run", "java.util.zip.CRC32C", javaCrcs(data, size), seq, "chunk");
            requireEqual("hash", "Spindle", "the sequential native run", seq, green, "chunk");
            requireEqual("hash", "virtual threads", "the sequential native run", seq, virtual, "chunk");
            return new Run(seq, g, v, s);
        }
    }

    /** Each chunk's CRC32C by the JDK (its own intrinsic), the reference for the native code. */
    static long[] javaCrcs(Memory data, long size) {
        int n = chunks(size);
        long[] crcs = new long[n];
        CRC32C crc = new CRC32C();
        for (int i = 0; i < n; i++) {
            long offset = (long) i * CHUNK;
            crc.reset();
            crc.update(data.getByteBuffer(offset, Math.min(CHUNK, size - offset)));
            crcs[i] = crc.getValue();
        }
        return crcs;
    }

    static int chunks(long size) {
        return (int) ((size + CHUNK - 1) / CHUNK);
    }

    private static String mib(long bytes) {
        return bytes % (1L << 20) == 0 ? (bytes >> 20) + " MiB" : count(bytes) + " bytes";
    }

    private static void read(Path file, Memory data, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file)) {
            for (long at = 0; at < size; ) {
                int len = (int) Math.min(1 << 30, size - at);
                ByteBuffer b = data.getByteBuffer(at, len);
                while (b.hasRemaining()) {
                    if (ch.read(b, at + b.position()) < 0) throw new EOFException(file + " shrank while it was read");
                }
                at += len;
            }
        }
    }

    private static void writeCrcs(long[] crcs, long size, Path file) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file)) {
            for (int i = 0; i < crcs.length; i++) {
                long offset = (long) i * CHUNK;
                w.write(String.format(Locale.ROOT, "%d %d %08x%n", offset, Math.min(CHUNK, size - offset), crcs[i]));
            }
        }
    }
}
