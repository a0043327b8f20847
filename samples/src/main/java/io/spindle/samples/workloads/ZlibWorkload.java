package io.spindle.samples.workloads;

import io.spindle.samples.Workload;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.TypedGroup;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.RecursiveAction;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

import static io.spindle.samples.workloads.WorkloadSupport.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code zlib [buffers]}: zlib's own compress2 (level {@value #LEVEL}) and crc32 of
 * {@code buffers} text-like buffers of 64 KiB in native memory, with no C written for it
 * (see {@link Zlib}). On Spindle two batches of typed calls straight into libz (callAll: a
 * compress2 and a crc32 per buffer); on a ForkJoinPool the same calls through
 * java.lang.foreign downcall handles, the buffers halved into tasks down to one buffer each;
 * on virtual threads a thread per buffer through the same handles; sequentially one thread
 * through them. zlib is deterministic for the same input and level, so every way must give
 * the sequential run's compressed bytes and crc32 for every buffer; the sequential run's
 * bytes must decompress (java.util.zip.Inflater) to the input and its crc32s equal
 * java.util.zip.CRC32's.
 *
 * <p>compress2 of 64 KiB of this text takes some 4 ms on a small machine and crc32 of it some
 * 20 µs: long calls, so what a way adds per call matters little and how well it keeps every
 * core busy decides.
 * The input and every way's output stay in one shared arena (shared: the pool's threads and
 * virtual threads pass its segments to downcalls) for about 5 x 64 KiB a buffer.
 */
public final class ZlibWorkload implements Workload {
    static final int BUFFER = 64 * 1024, LEVEL = 6;
    static final long MIN_BUFFERS = 1, MAX_BUFFERS = 4096, DEFAULT_BUFFERS = 1000, TOUR_BUFFERS = 100;
    private static final int WARM_UP_BUFFERS = 16;
    private static final long SEED = 1995;
    /** compress2's result before a round has called it: no zlib code is this. */
    static final long NOT_RUN = Long.MIN_VALUE;

    @Override
    public String name() {
        return "zlib";
    }

    @Override
    public String summary() {
        return "zlib's compress2 + crc32 of 64 KiB buffers, no C written: Spindle vs ForkJoinPool + FFM vs sequential; [buffers]";
    }

    @Override
    public long tourSize() {
        return TOUR_BUFFERS;
    }

    @Override
    public String unavailable() {
        return Zlib.missing();
    }

    @Override
    public int run(List<String> args, PrintStream out) throws Exception {
        Args a = parse(args, "buffers", DEFAULT_BUFFERS, MIN_BUFFERS, MAX_BUFFERS, Set.of());
        if (unavailable() != null) {
            out.println("zlib: " + unavailable());
            return UNAVAILABLE;
        }
        Timing t = measure(a.size(), out);
        printTable(out, t, List.of(
                new Way("Spindle (" + workers() + " workers, callAll)", t.spindle()),
                new Way("ForkJoinPool (" + workers() + " threads) + FFM", t.forkJoinPool()),
                new Way("virtual threads + FFM", t.virtualThreads()),
                new Way("sequential (one thread, FFM)", t.sequential())));
        return 0;
    }

    @Override
    public Timing measure(long buffers, PrintStream out) throws Exception {
        if (buffers < MIN_BUFFERS || buffers > MAX_BUFFERS) {
            throw new IllegalArgumentException("buffers must be between " + MIN_BUFFERS + " and " + MAX_BUFFERS + ", was " + buffers);
        }
        Zlib zlib = Zlib.system();
        int n = (int) buffers;
        out.printf("zlib: compress2 (level %d) and crc32 of %s text-like buffers of 64 KiB, from %s with no C written%n",
                LEVEL, count(n), Zlib.LIBRARY);
        // The arena closes last: Spindle's workers and the pool's threads have ended before its memory goes.
        try (Arena arena = Arena.ofShared(); Spindle spindle = openSpindle(name()); ForkJoinPool pool = new ForkJoinPool(workers())) {
            Input input = Input.generate(arena, n);
            out.println("  warm-up: every way " + ROUNDS + " times on " + Math.min(n, WARM_UP_BUFFERS) + " buffers");
            runOnce(zlib, spindle, pool, arena, input.first(Math.min(n, WARM_UP_BUFFERS)), null);
            Timing t = runOnce(zlib, spindle, pool, arena, input, out);
            out.println("  every buffer also decompresses to its input (java.util.zip.Inflater) and its crc32 is java.util.zip.CRC32's");
            out.println("  " + workerLine(spindle));
            return t;
        }
    }

    private Timing runOnce(Zlib zlib, Spindle spindle, ForkJoinPool pool, Arena arena, Input input, PrintStream out) throws Exception {
        int n = input.count();
        long slot = zlib.compressBound(BUFFER);
        Job seq = new Job(zlib, input, Output.allocate(arena, n, slot)), green = new Job(zlib, input, Output.allocate(arena, n, slot)),
            forked = new Job(zlib, input, Output.allocate(arena, n, slot)), virtual = new Job(zlib, input, Output.allocate(arena, n, slot));

        Duration s = timed(out, "sequential: one thread, compress2 and crc32 of each buffer through FFM", seq.out()::reset, () -> {
            for (int i = 0; i < n; i++) seq.compressAndChecksum(i);
        });
        Duration g = timed(out, "Spindle: callAll of " + count(n) + " compress2 and " + count(n) + " crc32 calls on "
                + spindle.workers() + " workers", green.out()::reset, () -> green.callAll(spindle));
        Duration f = timed(out, "ForkJoinPool + FFM: halved into tasks of one buffer on " + pool.getParallelism() + " threads",
                forked.out()::reset, () -> pool.invoke(new Halves(forked, 0, n)));
        // A virtual thread in a downcall pins its carrier until the call returns, as in a JNA call.
        Duration v = timed(out, "virtual threads + FFM: a thread per buffer", virtual.out()::reset, () -> {
            try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> futures = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    int buffer = i;
                    futures.add(threads.submit(() -> virtual.compressAndChecksum(buffer)));
                }
                for (Future<?> future : futures) future.get();
            }
        });

        requireRoundTrip(input, seq.out());
        requireSame("Spindle", seq.out(), green.out());
        requireSame("the ForkJoinPool", seq.out(), forked.out());
        requireSame("virtual threads", seq.out(), virtual.out());
        if (out != null) {
            long compressed = seq.out().totalLength();
            out.printf(Locale.ROOT, "  %s bytes compressed to %s (%.2f:1)%n", count((long) n * BUFFER), count(compressed),
                    (double) n * BUFFER / compressed);
        }
        return new Timing(name(), count(n) + " x 64 KiB", g, f, v, s);
    }

    // ---- the data ------------------------------------------------------------------------------

    /** {@code count} buffers of 64 KiB, one after another. */
    record Input(MemorySegment buffers, int count) {
        /** Text-like buffers, each fixed by the seed and its index. */
        static Input generate(Arena arena, int count) {
            MemorySegment buffers = arena.allocate((long) count * BUFFER);
            for (int i = 0; i < count; i++) fillText(buffers.asSlice((long) i * BUFFER, BUFFER), SEED + i);
            return new Input(buffers, count);
        }

        MemorySegment buffer(int i) {
            return buffers.asSlice((long) i * BUFFER, BUFFER);
        }

        Input first(int k) {
            return new Input(buffers.asSlice(0, (long) k * BUFFER), k);
        }
    }

    /**
     * One way's results per buffer: the compressed bytes (in a slot of compressBound bytes),
     * their length (compress2's {@code uLongf *destLen}: the room in, the length out),
     * compress2's result code and the crc32 of the input.
     */
    record Output(MemorySegment compressed, MemorySegment lengths, long slot, long[] codes, long[] crcs) {
        static Output allocate(Arena arena, int count, long slot) {
            return new Output(arena.allocate(slot * count), arena.allocate(JAVA_LONG, count), slot, new long[count], new long[count]);
        }

        /** Before a round: every slot is room for compress2, and nothing has run. */
        void reset() {
            for (int i = 0; i < codes.length; i++) lengths.setAtIndex(JAVA_LONG, i, slot);
            Arrays.fill(codes, NOT_RUN);
            Arrays.fill(crcs, NOT_RUN);
        }

        MemorySegment slot(int i) {
            return compressed.asSlice(i * slot, slot);
        }

        MemorySegment length(int i) {
            return lengths.asSlice(i * JAVA_LONG.byteSize(), JAVA_LONG);
        }

        long lengthOf(int i) {
            return lengths.getAtIndex(JAVA_LONG, i);
        }

        /** Buffer i compressed (once compress2 has given Z_OK). */
        MemorySegment result(int i) {
            return compressed.asSlice(i * slot, lengthOf(i));
        }

        long totalLength() {
            long total = 0;
            for (int i = 0; i < codes.length; i++) total += lengthOf(i);
            return total;
        }
    }

    /** The work of one way: zlib on the input, into that way's output. */
    record Job(Zlib zlib, Input in, Output out) {
        /** Buffer i compressed into its slot and checksummed, by downcalls from this thread: a task of the Java ways. */
        void compressAndChecksum(int i) {
            MemorySegment source = in.buffer(i);
            out.codes()[i] = zlib.compress2(out.slot(i), out.length(i), source, BUFFER, LEVEL);
            out.crcs()[i] = zlib.crc32(0, source, BUFFER);
        }

        /**
         * Spindle: every buffer's compress2 as one batch of typed calls and its crc32 as
         * another, both queued before either is joined. The calls get addresses in the
         * arena, which stays open until both batches are joined.
         */
        void callAll(Spindle spindle) {
            int n = in.count();
            long[] dest = new long[n], destLen = new long[n], source = new long[n], initialCrc = new long[n];
            int[] sourceLen = new int[n], level = new int[n];
            for (int i = 0; i < n; i++) {
                dest[i] = out.slot(i).address();
                destLen[i] = out.length(i).address();
                source[i] = in.buffer(i).address();
            }
            Arrays.fill(sourceLen, BUFFER);
            Arrays.fill(level, LEVEL);
            TypedGroup compressions = spindle.callAll(zlib.compress2Typed, dest, destLen, source, sourceLen, level);
            TypedGroup checksums = spindle.callAll(zlib.crc32Typed, initialCrc, source, sourceLen);
            System.arraycopy(compressions.join(), 0, out.codes(), 0, n);
            System.arraycopy(checksums.join(), 0, out.crcs(), 0, n);
        }
    }

    /** ForkJoinPool: buffers [from, to) halved into two tasks until one buffer is left, the classic RecursiveAction. */
    private static final class Halves extends RecursiveAction {
        private final Job job;
        private final int from, to;

        Halves(Job job, int from, int to) {
            this.job = job;
            this.from = from;
            this.to = to;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                job.compressAndChecksum(from);
            } else {
                int middle = (from + to) >>> 1;
                invokeAll(new Halves(job, from, middle), new Halves(job, middle, to));
            }
        }
    }

    /** Words of prose, the commonest first: the generator picks early ones most often, as prose does. */
    private static final String[] WORDS = ("the of and to a in is that it was for on are as with his they at be this from "
            + "have or by one had not but what all were when we there can an your which their said if do will each about how "
            + "up out them then she many some so these would other into has more her two like him see time could no make than "
            + "first been its who now people my made over did down only way find use may water long little very after words "
            + "called just where most know thread task stack clone kernel scheduler worker queue steal join spawn native "
            + "memory buffer signal").split(" ");

    /** Text-like bytes fixed by {@code seed}: skewed words, numbers, punctuation, lines of about 72 columns. */
    static void fillText(MemorySegment buffer, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        StringBuilder text = new StringBuilder((int) buffer.byteSize() + 80);
        int lineStart = 0;
        while (text.length() < buffer.byteSize()) {
            if (random.nextInt(16) == 0) text.append(random.nextInt(100_000));
            else text.append(WORDS[(int) (WORDS.length * Math.pow(random.nextDouble(), 3))]);
            int mark = random.nextInt(20);
            text.append(mark == 0 ? ". " : mark == 1 ? ", " : " ");
            if (text.length() - lineStart > 72) {
                text.append('\n');
                lineStart = text.length();
            }
        }
        byte[] bytes = text.substring(0, (int) buffer.byteSize()).getBytes(StandardCharsets.US_ASCII);
        MemorySegment.copy(bytes, 0, buffer, JAVA_BYTE, 0, bytes.length);
    }

    // ---- the checks ----------------------------------------------------------------------------

    /**
     * The reference, checked without zlib's own help: every buffer compressed (Z_OK),
     * decompresses to its input (java.util.zip.Inflater), and has java.util.zip.CRC32's crc32.
     */
    static void requireRoundTrip(Input in, Output seq) {
        Inflater inflater = new Inflater();
        byte[] inflated = new byte[BUFFER + 1]; // one byte more than the input: a longer result shows
        CRC32 crc = new CRC32();
        try {
            for (int i = 0; i < in.count(); i++) {
                requireOk("the sequential run", seq, i);
                inflater.reset();
                inflater.setInput(seq.result(i).asByteBuffer());
                int length;
                try {
                    length = inflater.inflate(inflated);
                } catch (DataFormatException e) {
                    throw new IllegalStateException("zlib: the sequential run's buffer " + i + " does not decompress: " + e.getMessage());
                }
                if (!inflater.finished() || length != BUFFER) {
                    throw new IllegalStateException("zlib: the sequential run's buffer " + i + " decompresses to "
                            + (inflater.finished() ? count(length) : "more than " + count(length)) + " bytes, not " + count(BUFFER));
                }
                long at = MemorySegment.mismatch(in.buffer(i), 0, BUFFER, MemorySegment.ofArray(inflated), 0, BUFFER);
                if (at >= 0) {
                    throw new IllegalStateException("zlib: the sequential run's buffer " + i
                            + " decompresses to other bytes than its input, from byte " + at);
                }
                crc.reset();
                crc.update(in.buffer(i).asByteBuffer());
                if (crc.getValue() != seq.crcs()[i]) {
                    throw new IllegalStateException(String.format(Locale.ROOT,
                            "zlib: the sequential run's crc32 of buffer %d is %s, java.util.zip.CRC32's %08x", i, hex(seq.crcs()[i]), crc.getValue()));
                }
            }
        } finally {
            inflater.end();
        }
    }

    /** {@code way}'s results are the sequential run's: every buffer compressed to the same bytes, with the same crc32. */
    static void requireSame(String way, Output seq, Output actual) {
        for (int i = 0; i < seq.codes().length; i++) {
            requireOk(way, actual, i);
            if (actual.lengthOf(i) != seq.lengthOf(i)) {
                throw new IllegalStateException("zlib: " + way + " compressed buffer " + i + " to " + count(actual.lengthOf(i))
                        + " bytes, the sequential run to " + count(seq.lengthOf(i)));
            }
            long at = seq.result(i).mismatch(actual.result(i));
            if (at >= 0) {
                throw new IllegalStateException("zlib: " + way + ": buffer " + i + "'s compressed bytes differ from the sequential run's at byte " + at);
            }
            if (actual.crcs()[i] != seq.crcs()[i]) {
                throw new IllegalStateException("zlib: " + way + " gave buffer " + i + " the crc32 " + hex(actual.crcs()[i])
                        + ", the sequential run " + hex(seq.crcs()[i]));
            }
        }
    }

    private static void requireOk(String way, Output out, int i) {
        long code = out.codes()[i];
        if (code != Zlib.Z_OK) {
            throw new IllegalStateException("zlib: " + way + ": compress2 of buffer " + i
                    + (code == NOT_RUN ? " never ran" : " returned " + code + " instead of Z_OK"));
        }
    }

    private static String hex(long crc) {
        return crc == NOT_RUN ? "(none: crc32 never ran)" : String.format(Locale.ROOT, "%08x", crc);
    }
}
