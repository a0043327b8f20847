package io.spindle.ffm;

import io.spindle.scheduler.Signature;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.TypedFunction;
import io.spindle.scheduler.TypedGroup;
import io.spindle.scheduler.TypedTask;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Inflater;

import static io.spindle.scheduler.CType.*;
import static org.junit.jupiter.api.Assertions.*;

/** Typed calls with FFM segments and lookups: zlib and libc, with no glue, and every refusal. */
class FfmTest {
    private static final Signature CRC32_SIGNATURE = Signature.of(UINT64, UINT64, POINTER, UINT32);

    private static byte[] data(int seed, int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < size; i++) b[i] = (byte) ("spindle ffm ".charAt((i + seed) % 12) + (i / 997 + seed) % 3);
        return b;
    }

    @Test
    void zlibThroughASymbolLookupWithSegmentArguments() throws Exception {
        try (Arena arena = Arena.ofShared(); Spindle spindle = Spindle.builder().workers(2).build()) {
            SymbolLookup zlib = SymbolLookup.libraryLookup("libz.so.1", arena);
            TypedFunction crc32 = Ffm.function(zlib, "crc32", CRC32_SIGNATURE);
            int n = 500, size = 8192;
            MemorySegment[] buffers = new MemorySegment[n];
            long[] zeros = new long[n], expected = new long[n];
            int[] lengths = new int[n];
            for (int i = 0; i < n; i++) {
                byte[] bytes = data(i, size);
                buffers[i] = arena.allocate(size);
                MemorySegment.copy(bytes, 0, buffers[i], ValueLayout.JAVA_BYTE, 0, size);
                lengths[i] = size - i;
                CRC32 crc = new CRC32();
                crc.update(bytes, 0, lengths[i]);
                expected[i] = crc.getValue();
            }
            assertEquals(expected[7], Ffm.call(spindle, crc32, 0L, buffers[7], lengths[7]).join());
            assertArrayEquals(expected, Ffm.callAll(spindle, crc32, zeros, buffers, lengths).join());

            // compress2's int result is an int (-2 for a bad level), and what it wrote inflates back.
            TypedFunction compress2 = Ffm.function(zlib, "compress2", Signature.of(INT32, POINTER, POINTER, POINTER, UINT64, INT32));
            MemorySegment dest = arena.allocate(size + 1024), destLen = arena.allocate(ValueLayout.JAVA_LONG);
            destLen.set(ValueLayout.JAVA_LONG, 0, dest.byteSize());
            assertEquals(-2, Ffm.call(spindle, compress2, dest, destLen, buffers[3], (long) size, 42).join(), "Z_STREAM_ERROR");
            destLen.set(ValueLayout.JAVA_LONG, 0, dest.byteSize());
            assertEquals(0, Ffm.call(spindle, compress2, dest, Ffm.pointer(destLen, 8), buffers[3], (long) size, 6).join(), "Z_OK");
            Inflater inflater = new Inflater();
            inflater.setInput(dest.asSlice(0, destLen.get(ValueLayout.JAVA_LONG, 0)).toArray(ValueLayout.JAVA_BYTE));
            byte[] back = new byte[size];
            assertEquals(size, inflater.inflate(back));
            assertArrayEquals(data(3, size), back);
        }
    }

    @Test
    void argumentRowsFromASegment() {
        try (Arena arena = Arena.ofConfined(); Spindle spindle = Spindle.builder().workers(2).build()) {
            TypedFunction ldexp = Ffm.function(Linker.nativeLinker().defaultLookup(), "ldexp", Signature.of(DOUBLE, DOUBLE, INT32));
            int rows = 10_000;
            MemorySegment block = arena.allocate(Ffm.rowLayout(ldexp.signature()), rows);
            assertEquals(16, Ffm.rowLayout(ldexp.signature()).byteSize());
            double[] want = new double[rows];
            for (int i = 0; i < rows; i++) {
                block.set(ValueLayout.JAVA_DOUBLE, 16L * i, i + 0.5);
                block.set(ValueLayout.JAVA_LONG, 16L * i + 8, i % 20 - 10);
                want[i] = Math.scalb(i + 0.5, i % 20 - 10);
            }
            TypedGroup batch = Ffm.callRows(spindle, ldexp, block);
            block.fill((byte) 0); // the rows were copied: the block is free again at once
            assertArrayEquals(want, batch.joinDouble());

            TypedFunction fmul = TypedFunction.ofAddress(Linker.nativeLinker().defaultLookup().find("ldexpf").orElseThrow().address(),
                    Signature.of(FLOAT, FLOAT, INT32));
            MemorySegment floats = arena.allocate(Ffm.rowLayout(fmul.signature()), 3);
            for (int i = 0; i < 3; i++) {
                floats.set(ValueLayout.JAVA_FLOAT, 16L * i, 1.5f * (i + 1));
                floats.set(ValueLayout.JAVA_LONG, 16L * i + 8, i);
            }
            assertArrayEquals(new double[] {1.5f, 3.0f * 2, 4.5f * 4}, Ffm.callRows(spindle, fmul, floats).joinDouble());
        }
    }

    @Test
    void closedHeapAndShortSegmentsAreRefusedBeforeAnythingIsQueued() {
        try (Arena arena = Arena.ofConfined(); Spindle spindle = Spindle.builder().workers(1).build()) {
            TypedFunction crc32 = Ffm.function(SymbolLookup.libraryLookup("libz.so.1", arena), "crc32", CRC32_SIGNATURE);
            long before = spindle.stats().submitted();
            Arena closed = Arena.ofConfined();
            MemorySegment gone = closed.allocate(64);
            closed.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Ffm.call(spindle, crc32, 0L, gone, 64));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> Ffm.callAll(spindle, crc32, new long[2],
                    new MemorySegment[] {arena.allocate(8), gone}, new int[2]), "one closed segment refuses the batch");
            assertThrows(IllegalArgumentException.class, () -> Ffm.call(spindle, crc32, 0L, MemorySegment.ofArray(new byte[64]), 64),
                    "a heap segment");
            assertThrows(IllegalArgumentException.class, () -> Ffm.pointer(arena.allocate(16), 64), "shorter than the call needs");
            assertThrows(IllegalArgumentException.class, () -> Ffm.callRows(spindle, crc32, arena.allocate(25)), "not whole rows");
            assertThrows(IllegalStateException.class, () -> Ffm.callRows(spindle, crc32, gone), "closed rows");
            assertThrows(IllegalArgumentException.class, () -> Ffm.callAll(spindle, crc32, new long[1], new MemorySegment[1], new int[1]),
                    "a null segment");
            assertThrows(IllegalArgumentException.class, () -> Ffm.function(Linker.nativeLinker().defaultLookup(), "no_such_fn", CRC32_SIGNATURE));
            assertThrows(IllegalArgumentException.class, () -> Ffm.function(MemorySegment.ofArray(new byte[1]), CRC32_SIGNATURE));
            assertEquals(before, spindle.stats().submitted(), "nothing was queued");
            assertEquals(0, Ffm.call(spindle, crc32, 0L, MemorySegment.NULL, 0).join(), "NULL is a null pointer");
        }
    }

    /**
     * An automatic arena's segment given to a call is not collected (and so freed) while the
     * call runs, though the caller dropped it; once the call is joined it may go.
     */
    @Test
    void anAutomaticSegmentStaysReachableUntilTheCallIsJoined() throws Exception {
        TypedFunction nanosleep = Ffm.function(Linker.nativeLinker().defaultLookup(), "nanosleep", Signature.of(INT32, POINTER, POINTER));
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            Sleeping sleeping = startSleep(spindle, nanosleep);
            collectGarbage();
            assertNotNull(sleeping.request().get(), "the segment was collected while its call ran");
            assertEquals(0, sleeping.call().join(Duration.ofSeconds(30)));
            WeakReference<MemorySegment> request = sleeping.request();
            sleeping = null; // the TypedTask too: nothing but Spindle could still hold the segment
            for (int i = 0; i < 50 && request.get() != null; i++) collectGarbage();
            assertNull(request.get(), "joined and dropped: Spindle no longer holds the segment");
        }
    }

    private record Sleeping(TypedTask call, WeakReference<MemorySegment> request) {}

    /** nanosleep(200 ms) with its timespec in an automatic arena that only the call references. */
    private static Sleeping startSleep(Spindle spindle, TypedFunction nanosleep) {
        MemorySegment timespec = Arena.ofAuto().allocate(16);
        timespec.set(ValueLayout.JAVA_LONG, 0, 0);
        timespec.set(ValueLayout.JAVA_LONG, 8, 200_000_000L);
        return new Sleeping(Ffm.call(spindle, nanosleep, timespec, MemorySegment.NULL), new WeakReference<>(timespec));
    }

    private static void collectGarbage() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(10);
        }
    }

    @Test
    void rowLayoutHasASlotPerArgument() {
        assertEquals(Arrays.asList("arg0", "arg1", "arg2"), Ffm.rowLayout(CRC32_SIGNATURE).memberLayouts().stream()
                .map(l -> l.name().orElseThrow()).toList());
        assertEquals(24, Ffm.rowLayout(CRC32_SIGNATURE).byteSize());
    }
}
