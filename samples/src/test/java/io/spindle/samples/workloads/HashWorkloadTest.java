package io.spindle.samples.workloads;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.samples.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.zip.CRC32C;

import static io.spindle.samples.workloads.WorkloadSupportTest.*;
import static org.junit.jupiter.api.Assertions.*;

class HashWorkloadTest {
    @TempDir
    Path dir;

    @Test
    void measureChecksEveryChunkAgainstTheSequentialRunAndTheJdk() throws Exception {
        Workload.Timing t = new HashWorkload().measure(3 * HashWorkload.CHUNK + 5,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals("196,613 bytes, 4 chunks", t.size());
        assertTrue(t.spindle().toNanos() > 0 && t.virtualThreads().toNanos() > 0 && t.sequential().toNanos() > 0);
    }

    @Test
    void theNativeCrcIsJavasCrc32cAtEveryLengthAndAlignment() {
        byte[] bytes = new byte[300];
        new Random(1).nextBytes(bytes);
        try (Memory m = new Memory(bytes.length)) {
            m.write(0, bytes, 0, bytes.length);
            for (int offset = 0; offset < 9; offset++) {
                for (int length = 0; length + offset <= bytes.length; length += 7) {
                    CRC32C expected = new CRC32C();
                    expected.update(bytes, offset, length);
                    assertEquals(expected.getValue(), WorkloadNative.sample_crc32c(Pointer.nativeValue(m) + offset, length),
                            "offset " + offset + ", length " + length);
                }
            }
        }
    }

    @Test
    void aFileIsHashedChunkByChunk() throws Exception {
        byte[] bytes = new byte[5 * HashWorkload.CHUNK + 1234];
        new Random(2).nextBytes(bytes);
        Path file = dir.resolve("data.bin"), crcs = dir.resolve("crcs.txt");
        Files.write(file, bytes);
        Outcome o = assertRunsAndChecks("hash", "--file", file.toString(), "--out", crcs.toString());
        assertTrue(o.out().contains("data.bin, 6 chunks"), o.out());
        List<String> lines = Files.readAllLines(crcs);
        assertEquals(6, lines.size());
        for (int i = 0; i < 6; i++) {
            int offset = i * HashWorkload.CHUNK, length = Math.min(HashWorkload.CHUNK, bytes.length - offset);
            CRC32C crc = new CRC32C();
            crc.update(bytes, offset, length);
            assertEquals(String.format(Locale.ROOT, "%d %d %08x", offset, length, crc.getValue()), lines.get(i));
        }
    }

    @Test
    void runReturnsZeroOnAGeneratedBuffer() {
        Outcome o = assertRunsAndChecks("hash", "2M");
        assertTrue(o.out().contains("2 MiB, 32 chunks"), o.out());
    }

    @Test
    void badArgumentsAreUsageErrors() throws Exception {
        assertUsageError("bytes must be between 1 and 1,073,741,824, was 0", "hash", "0");
        assertUsageError("bytes must be between 1 and 1,073,741,824, was 2,147,483,648", "hash", "2G");
        assertUsageError("--file: no such file", "hash", "--file", dir.resolve("missing").toString());
        assertUsageError("is not a regular file", "hash", "--file", dir.toString());
        Path empty = Files.createFile(dir.resolve("empty"));
        assertUsageError("is empty", "hash", "--file", empty.toString());
        Path one = Files.write(dir.resolve("one"), new byte[] {1});
        assertUsageError("give a size or --file, not both", "hash", "64k", "--file", one.toString());
    }
}
