package io.spindle.benchmarks;

import com.sun.jna.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The CRC32C workload's data, for {@link Crc32cWorkloadBenchmark} and {@link IsolationBenchmark}:
 * a buffer of deterministic pseudo-random bytes cut into {@link #CHUNK}-byte chunks, a table
 * of {@code struct bench_chunk} (address, length: 16 bytes each) for the chunk tasks, and
 * each chunk's CRC as java.util.zip.CRC32C computes it.
 */
final class Crc32cChunks {
    static final int CHUNK = 64 * 1024;

    private Crc32cChunks() {}

    static int count(long bufferBytes) {
        return (int) (bufferBytes / CHUNK);
    }

    /**
     * Fills the {@code bufferBytes} at {@code buffer} and the table at {@code table} (16 bytes a
     * chunk), puts each chunk's table entry address in {@code chunkArgs}, and returns each
     * chunk's expected CRC.
     */
    static long[] prepare(long buffer, long bufferBytes, long table, long[] chunkArgs) {
        int count = count(bufferBytes);
        ByteBuffer bytes = new Pointer(buffer).getByteBuffer(0, bufferBytes).order(ByteOrder.nativeOrder());
        long x = 0x9E3779B97F4A7C15L;
        for (long i = 0; i < bufferBytes; i += 8) { // xorshift
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            bytes.putLong((int) i, x);
        }
        ByteBuffer entries = new Pointer(table).getByteBuffer(0, 16L * count).order(ByteOrder.nativeOrder());
        long[] expected = new long[count];
        CRC32C crc = new CRC32C();
        for (int i = 0; i < count; i++) {
            entries.putLong(16 * i, buffer + (long) i * CHUNK);
            entries.putLong(16 * i + 8, CHUNK);
            chunkArgs[i] = table + 16L * i;
            crc.reset();
            crc.update(bytes.slice(i * CHUNK, CHUNK));
            expected[i] = crc.getValue();
        }
        return expected;
    }
}
