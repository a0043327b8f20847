package io.spindle.samples.workloads;

import io.spindle.samples.Workload;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static io.spindle.samples.workloads.WorkloadSupportTest.*;
import static io.spindle.samples.workloads.ZlibWorkload.BUFFER;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ZlibWorkloadTest {
    private static void requireZlib() {
        assumeTrue(Zlib.missing() == null, Zlib.missing());
    }

    @Test
    void sixteenBuffersComeOutIdenticalEveryWay() throws Exception {
        requireZlib();
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        Workload.Timing t = new ZlibWorkload().measure(16, new PrintStream(progress, true, StandardCharsets.UTF_8));
        assertEquals("16 x 64 KiB", t.size());
        assertTrue(t.spindle().toNanos() > 0 && t.forkJoinPool().toNanos() > 0 && t.virtualThreads().toNanos() > 0
                && t.sequential().toNanos() > 0);
        String printed = progress.toString(StandardCharsets.UTF_8);
        assertTrue(printed.contains("decompresses to its input"), printed);
    }

    @Test
    void anyDifferenceFromTheSequentialRunNamesTheBuffer() {
        requireZlib();
        Zlib zlib = Zlib.system();
        try (Arena arena = Arena.ofConfined()) {
            ZlibWorkload.Input input = ZlibWorkload.Input.generate(arena, 4);
            ZlibWorkload.Output seq = compressed(zlib, arena, input), other = compressed(zlib, arena, input);
            ZlibWorkload.requireRoundTrip(input, seq);
            ZlibWorkload.requireSame("Spindle", seq, other);

            flip(other.result(2), 10);
            assertFails("zlib: Spindle: buffer 2's compressed bytes differ from the sequential run's at byte 10",
                    () -> ZlibWorkload.requireSame("Spindle", seq, other));
            flip(other.result(2), 10);

            other.lengths().setAtIndex(JAVA_LONG, 1, seq.lengthOf(1) - 1);
            assertFails("zlib: Spindle compressed buffer 1 to ", () -> ZlibWorkload.requireSame("Spindle", seq, other));
            other.lengths().setAtIndex(JAVA_LONG, 1, seq.lengthOf(1));

            other.crcs()[3] ^= 1;
            assertFails("zlib: Spindle gave buffer 3 the crc32 ", () -> ZlibWorkload.requireSame("Spindle", seq, other));
            other.crcs()[3] ^= 1;

            other.codes()[0] = ZlibWorkload.NOT_RUN;
            assertFails("zlib: the ForkJoinPool: compress2 of buffer 0 never ran",
                    () -> ZlibWorkload.requireSame("the ForkJoinPool", seq, other));
            other.codes()[0] = -5; // Z_BUF_ERROR
            assertFails("zlib: virtual threads: compress2 of buffer 0 returned -5 instead of Z_OK",
                    () -> ZlibWorkload.requireSame("virtual threads", seq, other));

            // The reference itself is checked against the JDK: Inflater and CRC32.
            seq.crcs()[1] ^= 1;
            assertFails("zlib: the sequential run's crc32 of buffer 1 is ", () -> ZlibWorkload.requireRoundTrip(input, seq));
            seq.crcs()[1] ^= 1;
            flip(input.buffer(2), 100);
            assertFails("zlib: the sequential run's buffer 2 decompresses to other bytes than its input, from byte 100",
                    () -> ZlibWorkload.requireRoundTrip(input, seq));
            flip(input.buffer(2), 100);
            flip(seq.result(3), 0); // the zlib header
            assertFails("zlib: the sequential run's buffer 3 does not decompress", () -> ZlibWorkload.requireRoundTrip(input, seq));
        }
    }

    @Test
    void theInputIsTextThatCompressesButNotTrivially() {
        requireZlib();
        Zlib zlib = Zlib.system();
        try (Arena arena = Arena.ofConfined()) {
            ZlibWorkload.Input input = ZlibWorkload.Input.generate(arena, 2);
            ZlibWorkload.Output out = compressed(zlib, arena, input);
            for (int i = 0; i < 2; i++) {
                long length = out.lengthOf(i);
                assertTrue(length > BUFFER / 6 && length < BUFFER / 2, "buffer " + i + " compressed to " + length + " bytes");
                for (long b = 0; b < BUFFER; b++) {
                    byte c = input.buffer(i).get(JAVA_BYTE, b);
                    assertTrue(c == '\n' || (c >= ' ' && c < 127), "printable ASCII at " + b + ": " + c);
                }
            }
            assertTrue(input.buffer(0).mismatch(input.buffer(1)) >= 0, "every buffer has its own text");
            ZlibWorkload.Input again = ZlibWorkload.Input.generate(arena, 2);
            assertEquals(-1, input.buffers().mismatch(again.buffers()), "fixed by the seed");
        }
    }

    @Test
    void runPrintsEveryWayAndTheCheck() {
        requireZlib();
        Outcome o = runMain("zlib", "3");
        assertEquals(0, o.exit(), o.err() + o.out());
        for (String way : new String[] {"Spindle (", "ForkJoinPool (", "virtual threads + FFM", "sequential (one thread, FFM)",
                WorkloadSupport.CHECKED}) {
            assertTrue(o.out().contains(way), way + " in: " + o.out());
        }
        assertFalse(o.err().contains("WARNING"), o.err());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertUsageError("buffers must be between 1 and 4,096, was 0", "zlib", "0");
        assertUsageError("buffers must be between 1 and 4,096, was 5,000", "zlib", "5000");
        assertUsageError("unknown option '--out'", "zlib", "--out", "x");
    }

    @Test
    void aMissingLibraryIsSaidClearly() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Zlib.open("libz-not-installed.so.1"));
        assertTrue(e.getMessage().startsWith("zlib (libz-not-installed.so.1) is not installed"), e.getMessage());
        assertTrue(e.getMessage().contains("install it"), e.getMessage());
    }

    /** Every buffer of {@code input} compressed and checksummed on this thread, as the sequential run does. */
    private static ZlibWorkload.Output compressed(Zlib zlib, Arena arena, ZlibWorkload.Input input) {
        ZlibWorkload.Output out = ZlibWorkload.Output.allocate(arena, input.count(), zlib.compressBound(BUFFER));
        out.reset();
        ZlibWorkload.Job job = new ZlibWorkload.Job(zlib, input, out);
        for (int i = 0; i < input.count(); i++) job.compressAndChecksum(i);
        return out;
    }

    private static void flip(MemorySegment bytes, long at) {
        bytes.set(JAVA_BYTE, at, (byte) ~bytes.get(JAVA_BYTE, at));
    }

    private static void assertFails(String messageStart, org.junit.jupiter.api.function.Executable check) {
        IllegalStateException e = assertThrows(IllegalStateException.class, check);
        assertTrue(e.getMessage().startsWith(messageStart), () -> "expected '" + messageStart + "...', got: " + e.getMessage());
    }
}
