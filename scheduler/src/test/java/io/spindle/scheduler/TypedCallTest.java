package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

import static io.spindle.scheduler.CType.*;
import static org.junit.jupiter.api.Assertions.*;

/** Any C function as a task, with no glue: every class of signature, and real libc and zlib. */
class TypedCallTest {
    static TypedFunction fn(String symbol, CType returns, CType... args) {
        return TypedFunction.of(SchedTestLib.LIBRARY, symbol, Signature.of(returns, args));
    }

    @Test
    void resultsComeBackWithTheirWidthAndSign() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            assertEquals(-2, spindle.call(fn("spn_t_i8_minus_two", INT8)).join());
            assertEquals(254, spindle.call(fn("spn_t_u8_254", UINT8)).join());
            assertEquals(-2, spindle.call(fn("spn_t_i16_minus_two", INT16)).join());
            assertEquals(65534, spindle.call(fn("spn_t_u16_65534", UINT16)).join());
            assertEquals(-2, spindle.call(fn("spn_t_i32_identity", INT32, INT32), -2).join());
            assertEquals(Integer.MIN_VALUE, spindle.call(fn("spn_t_i32_identity", INT32, INT32), Integer.MIN_VALUE).join());
            assertEquals(4294967294L, spindle.call(fn("spn_t_u32_max_minus_one", UINT32)).join());
            assertEquals(-1L, spindle.call(fn("spn_t_u64_max", UINT64)).join(), "UINT64's bits, as a long");
        }
    }

    @Test
    void argumentsArriveWidenedAsTheirTypesSay() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            assertEquals(-128, spindle.call(fn("spn_t_widen_i8", INT64, INT8), (byte) -128).join());
            assertEquals(-3, spindle.call(fn("spn_t_widen_i16", INT64, INT16), -3).join());
            assertEquals(65535, spindle.call(fn("spn_t_widen_u16", UINT64, UINT16), 65535).join());
            assertEquals(4294967295L, spindle.call(fn("spn_t_widen_u32", UINT64, UINT32), 4294967295L).join());
        }
    }

    @Test
    void everyRegisterInOrder() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            assertEquals(1 + 2 * 2 + 3 * 3 + 4 * 4 + 5 * 5 + 6 * 6,
                    spindle.call(fn("spn_t_six", INT64, INT64, INT64, INT64, INT64, INT64, INT64), 1L, 2L, 3L, 4L, 5L, 6L).join());
            assertEquals(1 + 2 * 2 + 3 * 3 + 4 * 4 + 5 * 5 + 6 * 6 + 7 * 7 + 8 * 8.5,
                    spindle.call(fn("spn_t_eight", DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE),
                            1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.5).joinDouble());
            assertEquals(7 + 10 * 0.5 + 100 * -3 + 1000 * 0.25 + 10000 * 9 + 100000 * 2.0,
                    spindle.call(fn("spn_t_mixed", DOUBLE, INT32, DOUBLE, INT8, FLOAT, UINT16, DOUBLE),
                            7, 0.5, (byte) -3, 0.25f, 9, 2.0).joinDouble());
            assertEquals(7.5f, (float) spindle.call(fn("spn_t_fmul", FLOAT, FLOAT, FLOAT), 2.5f, 3.0f).joinDouble());
        }
    }

    @Test
    void pointersAndAVoidResult() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            Memory cell = SchedTestLib.zeroed(8);
            assertEquals(0, spindle.call(fn("spn_t_store", VOID, POINTER, INT64), cell, 99L).join(Duration.ofSeconds(30)));
            assertEquals(99, cell.getLong(0));
            assertEquals(99, spindle.call(fn("spn_t_deref", INT64, POINTER), Pointer.nativeValue(cell)).join());
            assertEquals(99, spindle.call(TypedFunction.ofAddress(fn("spn_t_deref", INT64, POINTER).address(),
                    Signature.of(INT64, POINTER)), cell).join(), "by address");
        }
    }

    @Test
    void libcAndZlibWithNoGlue() {
        NativeLibrary libc = NativeLibrary.getInstance("c");
        NativeLibrary zlib = NativeLibrary.getInstance("z");
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            assertEquals(5, spindle.call(TypedFunction.of(libc, "labs", Signature.of(INT64, INT64)), -5L).join());
            assertEquals(12.0, spindle.call(TypedFunction.of(libc, "ldexp", Signature.of(DOUBLE, DOUBLE, INT32)), 1.5, 3).joinDouble());

            byte[] data = new byte[64 * 1024];
            for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 31 % 251);
            Memory src = new Memory(data.length);
            src.write(0, data, 0, data.length);
            TypedFunction crc32 = TypedFunction.of(zlib, "crc32", Signature.of(UINT64, UINT64, POINTER, UINT32));
            CRC32 expected = new CRC32();
            expected.update(data);
            assertEquals(expected.getValue(), spindle.call(crc32, 0L, src, data.length).join());

            // compress2's int result, as the issue that asked for typed calls saw it go wrong: -2 is -2.
            TypedFunction compress2 = TypedFunction.of(zlib, "compress2",
                    Signature.of(INT32, POINTER, POINTER, POINTER, UINT64, INT32));
            Memory dest = new Memory(data.length + 1024);
            Memory destLen = new Memory(8);
            destLen.setLong(0, dest.size());
            assertEquals(-2, spindle.call(compress2, dest, destLen, src, (long) data.length, 42).join(), "Z_STREAM_ERROR");
            List<TypedTask> calls = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                destLen.setLong(0, dest.size());
                calls.add(spindle.call(compress2, dest, destLen, src, (long) data.length, 6));
                assertEquals(0, calls.get(i).join(), "Z_OK");
            }
            assertTrue(destLen.getLong(0) > 0 && destLen.getLong(0) < data.length, "compressed: " + destLen.getLong(0));
        }
    }

    @Test
    void batchesOfTypedCallsFromArgumentColumns() {
        NativeLibrary zlib = NativeLibrary.getInstance("z");
        try (Spindle spindle = Spindle.builder().workers(2).ringCapacity(64).build()) {
            // zlib's crc32 of 1,000 buffers, each checked against java.util.zip.CRC32.
            int n = 1_000, size = 4096;
            Memory buffers = new Memory((long) n * size);
            byte[] data = new byte[size];
            long[] addresses = new long[n], zeros = new long[n], expected = new long[n];
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                for (int b = 0; b < size; b++) data[b] = (byte) (i * 7 + b * 13);
                buffers.write((long) i * size, data, 0, size);
                addresses[i] = Pointer.nativeValue(buffers) + (long) i * size;
                lengths[i] = size - i % 17;
                CRC32 crc = new CRC32();
                crc.update(data, 0, lengths[i]);
                expected[i] = crc.getValue();
            }
            TypedFunction crc32 = TypedFunction.of(zlib, "crc32", Signature.of(UINT64, UINT64, POINTER, UINT32));
            assertArrayEquals(expected, spindle.callAll(crc32, zeros, addresses, lengths).join());

            // Integers and floating point interleaved, each from its own kind of column.
            int rows = 3_000;
            int[] a = new int[rows];
            double[] x = new double[rows], z = new double[rows];
            byte[] b = new byte[rows];
            float[] y = new float[rows];
            short[] c = new short[rows];
            double[] want = new double[rows];
            for (int i = 0; i < rows; i++) {
                a[i] = i - 1500;
                x[i] = i * 0.5;
                b[i] = (byte) (i % 200 - 100);
                y[i] = i * 0.25f;
                c[i] = (short) (i % 1000);
                z[i] = -i;
                want[i] = a[i] + 10.0 * x[i] + 100.0 * b[i] + 1000.0 * y[i] + 10000.0 * c[i] + 100000.0 * z[i];
            }
            TypedGroup mixed = spindle.callAll(fn("spn_t_mixed", DOUBLE, INT32, DOUBLE, INT8, FLOAT, UINT16, DOUBLE), a, x, b, y, c, z);
            assertArrayEquals(want, mixed.joinDouble());
            assertEquals(rows, mixed.size());

            // Narrowed results, and an empty batch.
            long[] minusTwo = spindle.callAll(fn("spn_t_widen_i8", INT64, INT8), new byte[] {-2, -128, 127}).join();
            assertArrayEquals(new long[] {-2, -128, 127}, minusTwo);
            assertEquals(0, spindle.callAll(fn("spn_t_widen_i8", INT64, INT8), new byte[0]).join().length);
        }
    }

    /**
     * Rows at the register limit (6 integers and 8 doubles on x86-64), of every size around the
     * chunk boundaries: each row's registers come from its own row, also in the last row,
     * whose loads reach past the rows.
     */
    @Test
    void batchRowsAtTheRegisterLimitKeepTheirOwnArguments() {
        CType[] args = new CType[14];
        java.util.Arrays.fill(args, 0, 6, INT64);
        java.util.Arrays.fill(args, 6, 14, DOUBLE);
        TypedFunction fourteen = fn("spn_t_fourteen", DOUBLE, args);
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            for (int rows : new int[] {1, 2, 3, 4, 5, 17, 1000, 40_000}) {
                Object[] columns = new Object[14];
                double[] want = new double[rows];
                for (int k = 0; k < 14; k++) {
                    long[] ints = new long[rows];
                    double[] fps = new double[rows];
                    for (int i = 0; i < rows; i++) {
                        long v = (long) i * 31 + k;
                        ints[i] = v;
                        fps[i] = v + 0.5;
                        want[i] += (k + 1) * (k < 6 ? (double) v : v + 0.5);
                    }
                    columns[k] = k < 6 ? ints : fps;
                }
                assertArrayEquals(want, spindle.callAll(fourteen, columns).joinDouble(), rows + " rows");
            }
        }
    }

    @Test
    void batchesOfVoidAndFloatResults() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            int rows = 5_000;
            Memory cells = SchedTestLib.zeroed(8L * rows);
            long[] where = new long[rows], values = new long[rows];
            for (int i = 0; i < rows; i++) {
                where[i] = Pointer.nativeValue(cells) + 8L * i;
                values[i] = -i;
            }
            assertArrayEquals(new long[rows], spindle.callAll(fn("spn_t_store", VOID, POINTER, INT64), where, values).join());
            for (int i = 0; i < rows; i++) assertEquals(-i, cells.getLong(8L * i), "row " + i);

            float[] a = new float[rows], b = new float[rows];
            double[] want = new double[rows];
            for (int i = 0; i < rows; i++) {
                a[i] = i * 0.5f;
                b[i] = 3.0f - i;
                want[i] = a[i] * b[i];
            }
            assertArrayEquals(want, spindle.callAll(fn("spn_t_fmul", FLOAT, FLOAT, FLOAT), a, b).joinDouble());
        }
    }

    /**
     * A million calls in batches of every size, on 1, 2 and 4 workers: every row runs exactly
     * once (the function counts its calls) and its result lands in its own slot.
     */
    @Test
    void everyRowRunsOnceAndKeepsItsResult() {
        Memory calls = SchedTestLib.zeroed(8);
        TypedFunction count = fn("spn_t_count", INT64, POINTER, INT64);
        long expectedCalls = 0;
        for (int workers : new int[] {1, 2, 4}) {
            try (Spindle spindle = Spindle.builder().workers(workers).ringCapacity(16).build()) {
                for (int rows : new int[] {1, 7, 64, 65, 999, 100_000, 250_000}) {
                    long[] counter = new long[rows], values = new long[rows];
                    java.util.Arrays.fill(counter, Pointer.nativeValue(calls));
                    for (int i = 0; i < rows; i++) values[i] = (long) i * 3 - 7;
                    assertArrayEquals(values, spindle.callAll(count, counter, values).join(), rows + " rows on " + workers);
                    expectedCalls += rows;
                    assertEquals(expectedCalls, calls.getLong(0), "calls so far, " + rows + " rows on " + workers + " worker(s)");
                }
            }
        }
    }

    /**
     * Single calls from four threads at once, thousands in flight: each call's arguments live
     * in its descriptor's row until it runs, so a reused row must never carry another call's.
     */
    @Test
    void concurrentSingleCallsEachKeepTheirOwnArguments() throws Exception {
        CType[] args = new CType[14];
        java.util.Arrays.fill(args, 0, 6, INT64);
        java.util.Arrays.fill(args, 6, 14, DOUBLE);
        TypedFunction fourteen = fn("spn_t_fourteen", DOUBLE, args);
        TypedFunction negate = fn("spn_t_i32_identity", INT32, INT32);
        try (Spindle spindle = Spindle.builder().workers(2).ringCapacity(256).build()) {
            List<Thread> callers = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < 4; t++) {
                final int caller = t;
                callers.add(Thread.ofPlatform().start(() -> {
                    try {
                        int n = 20_000;
                        TypedTask[] calls = new TypedTask[n];
                        for (int i = 0; i < n; i++) {
                            long v = caller * 1_000_000L + i;
                            calls[i] = i % 2 == 0
                                    ? spindle.call(fourteen, v, v, v, v, v, v, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, (double) v)
                                    : spindle.call(negate, (int) -v);
                        }
                        for (int i = 0; i < n; i++) {
                            long v = caller * 1_000_000L + i;
                            if (i % 2 == 0) assertEquals(21.0 * v + 0.5 * (7 + 8 + 9 + 10 + 11 + 12 + 13) + 14.0 * v, calls[i].joinDouble(), "call " + v);
                            else assertEquals(-v, calls[i].join(), "call " + v);
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread c : callers) assertTrue(c.join(Duration.ofMinutes(2)), "a caller still waits after 2 minutes");
            assertTrue(failures.isEmpty(), () -> failures.get(0).toString());
        }
    }

    /**
     * A chunk whose rows turn out long is split while it runs: when the other worker has
     * nothing left and parks, the rest of the chunk is halved and handed to it. Here every
     * slow row is in the first chunk; both workers must have run some of them.
     */
    @Test
    void aLongChunkIsSplitForAnIdleWorker() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            int rows = 400, firstChunk = spindle.callChunk(rows);
            long[] sleepMicros = new long[rows];
            java.util.Arrays.fill(sleepMicros, 0, firstChunk, 1000);
            long[] tids = spindle.callAll(fn("spn_t_tid_after", INT64, INT64), sleepMicros).join();
            java.util.Set<Long> slowRowWorkers = new java.util.HashSet<>();
            for (int i = 0; i < firstChunk; i++) slowRowWorkers.add(tids[i]);
            assertEquals(2, slowRowWorkers.size(), "the " + firstChunk + " slow rows of the first chunk ran on " + slowRowWorkers);
        }
    }

    /** shutdownNow() stops a batch between rows: the rows that ran keep their results, once each. */
    @Test
    void shutdownNowStopsABatchBetweenRows() throws Exception {
        int rows = 4_000; // a millisecond each: seconds of work on two workers
        Memory calls = SchedTestLib.zeroed(8);
        Spindle spindle = Spindle.builder().workers(2).build();
        long[] counter = new long[rows], values = new long[rows];
        java.util.Arrays.fill(counter, Pointer.nativeValue(calls));
        for (int i = 0; i < rows; i++) values[i] = i + 1;
        TypedGroup batch = spindle.callAll(fn("spn_t_count_slowly", INT64, POINTER, INT64), counter, values);
        while (calls.getLong(0) < 20) Thread.sleep(1);
        long cancelled = spindle.shutdownNow();
        BatchCancelledException e = assertThrows(BatchCancelledException.class, batch::join);
        long ran = rows - e.skipped().cardinality();
        assertTrue(cancelled > 0 && ran >= 20, "cancelled " + cancelled + ", ran " + ran);
        assertTrue(ran < spindle.callChunk(rows), "the first chunk was cut short, not run to its end: ran " + ran);
        assertEquals(rows, ran + cancelled, "every row either ran or was cancelled");
        assertEquals(ran, calls.getLong(0), "each row that ran, ran once");
        long[] results = e.results();
        for (int i = 0; i < rows; i++) assertEquals(e.ran(i) ? i + 1 : 0, results[i], "row " + i);
    }

    @Test
    void badBatchesAreRefusedBeforeAnythingIsQueued() {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            TypedFunction six = fn("spn_t_six", INT64, INT64, INT64, INT64, INT64, INT64, INT64);
            long[] col = new long[10];
            long before = spindle.stats().submitted();
            assertThrows(IllegalArgumentException.class, () -> spindle.callAll(six, col, col), "two columns for six arguments");
            assertThrows(IllegalArgumentException.class, () -> spindle.callAll(six, col, col, col, col, col, new long[9]), "lengths differ");
            assertThrows(IllegalArgumentException.class, () -> spindle.callAll(six, col, col, col, col, col, new double[10]), "doubles for an integer");
            assertThrows(IllegalArgumentException.class, () -> spindle.callAll(six, col, col, col, col, col, new Long[10]), "boxed");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> spindle.callAll(fn("spn_t_widen_i8", INT64, INT8), new int[] {1, 2, 300}));
            assertTrue(e.getMessage().contains("row 2"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> spindle.callAll(fn("spn_t_u8_254", UINT8)), "no column to count rows");
            assertEquals(before, spindle.stats().submitted(), "nothing was queued");
        }
    }

    /**
     * A JNA Memory passed to a task is not collected (and so freed) while the task runs, even
     * when nothing else references it or the task's handle: through spawn(fn, Pointer) and
     * through a typed call, and still after another task given the same Memory ended.
     */
    @Test
    void memoryATaskUsesStaysReachableWhileItRuns() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            TypedFunction waitGate = TypedFunction.of(SchedTestLib.LIBRARY, "spn_test_wait_gate", Signature.TASK);
            for (boolean typed : new boolean[] {false, true}) {
                String how = typed ? "call" : "spawn";
                long ranBefore = spindle.stats().tasksRun();
                GatedTask gated = startOnOnlyItsGate(spindle, typed, waitGate);
                collectGarbage();
                assertNotNull(gated.gate().get(), how + ": the gate was collected while its task ran");
                // Another task given the same Memory ends and is joined: the gate's task still holds it.
                Memory sameGate = gated.gate().get();
                assertEquals(Pointer.nativeValue(sameGate), spindle.spawn(SpindleTest.RETURN_ARG, sameGate).join());
                sameGate = null;
                collectGarbage();
                assertNotNull(gated.gate().get(), how + ": collected once another task with it ended");
                SchedTestLib.Direct.INSTANCE.spn_test_open_gate(new Pointer(gated.address()));
                LivenessTest.await("the gate task ended", () -> spindle.stats().tasksRun() >= ranBefore + 2);
            }
        }
    }

    static void collectGarbage() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
    }

    record GatedTask(long address, WeakReference<Memory> gate) {}

    /** A gate task whose gate only the runtime (and a weak reference) holds; its handle is dropped. */
    private static GatedTask startOnOnlyItsGate(Spindle spindle, boolean typed, TypedFunction waitGate) {
        Memory gate = SchedTestLib.zeroed(8);
        if (typed) spindle.call(waitGate, gate);
        else spindle.spawn(SpindleTest.WAIT_GATE, gate);
        return new GatedTask(Pointer.nativeValue(gate), new WeakReference<>(gate));
    }

    @Test
    void badSignaturesAndArgumentsAreRefusedBeforeAnythingIsQueued() {
        CType[] tooMany = new CType[Signature.MAX_INTEGER_ARGS + 1];
        java.util.Arrays.fill(tooMany, INT64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Signature.of(INT64, tooMany));
        assertTrue(e.getMessage().contains("in registers"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Signature.of(INT64, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE, DOUBLE,
                DOUBLE, DOUBLE, DOUBLE));
        assertThrows(IllegalArgumentException.class, () -> Signature.of(INT64, VOID));
        assertThrows(IllegalArgumentException.class, () -> TypedFunction.ofAddress(0, Signature.TASK));
        assertThrows(UnsatisfiedLinkError.class, () -> fn("no_such_function", INT32));
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            TypedFunction identity = fn("spn_t_i32_identity", INT32, INT32);
            long before = spindle.stats().submitted();
            assertThrows(IllegalArgumentException.class, () -> spindle.call(identity), "no argument");
            assertThrows(IllegalArgumentException.class, () -> spindle.call(identity, 1, 2), "two arguments");
            assertThrows(IllegalArgumentException.class, () -> spindle.call(identity, 1L << 40), "out of INT32");
            assertThrows(IllegalArgumentException.class, () -> spindle.call(identity, "1"), "not a number");
            assertThrows(IllegalArgumentException.class, () -> spindle.call(fn("spn_t_widen_i8", INT64, INT8), 128), "out of INT8");
            assertThrows(IllegalArgumentException.class, () -> spindle.call(fn("spn_t_widen_u16", UINT64, UINT16), -1), "negative UINT16");
            assertThrows(IllegalArgumentException.class, () -> spindle.call(fn("spn_t_deref", INT64, POINTER), 1.5), "a double for a pointer");
            assertThrows(NullPointerException.class, () -> spindle.call(null));
            assertThrows(IllegalStateException.class, () -> spindle.call(identity, 1).joinDouble(), "an int result");
            assertThrows(IllegalStateException.class, () -> spindle.call(fn("spn_t_fmul", FLOAT, FLOAT, FLOAT), 1f, 1f).join());
            assertEquals(before + 2, spindle.stats().submitted(), "only the two well-formed calls were queued");
        }
    }
}
