package io.spindle.examples.client;

import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.CType;
import io.spindle.scheduler.Signature;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.TypedFunction;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * A program that uses Spindle as a library: zlib's own functions run as tasks with no C of
 * this project's (typed calls), and a fork-join task written in C against spindle.h
 * ({@code src/main/c/fib_tasks.c}). Each result is checked against Java's own computation;
 * the exit status is 1 if any is wrong.
 */
public final class Main {
    private static final NativeLibrary ZLIB = NativeLibrary.getInstance("z");

    public static void main(String[] args) throws DataFormatException {
        boolean allRight;
        try (Spindle spindle = Spindle.builder().name("client-example").build()) { // a worker per CPU
            allRight = crc32Batch(spindle) & compressOnce(spindle) & forkJoinFib(spindle);
        }
        System.exit(allRight ? 0 : 1);
    }

    /** zlib's crc32 of 1,000 buffers as one batch of typed calls: one call per row of the columns. */
    static boolean crc32Batch(Spindle spindle) {
        TypedFunction crc32 = TypedFunction.of(ZLIB, "crc32",
                Signature.of(CType.UINT64, CType.UINT64, CType.POINTER, CType.UINT32)); // uLong crc32(uLong, const Bytef *, uInt)
        int count = 1_000, size = 4096;
        // Addresses passed as numbers are ours to keep valid until the join: the try block does.
        try (Memory buffers = new Memory((long) count * size)) {
            long[] initial = new long[count], addresses = new long[count], expected = new long[count];
            int[] lengths = new int[count];
            byte[] data = new byte[size];
            for (int i = 0; i < count; i++) {
                for (int b = 0; b < size; b++) data[b] = (byte) (i * 7 + b * 13);
                buffers.write((long) i * size, data, 0, size);
                addresses[i] = Pointer.nativeValue(buffers) + (long) i * size;
                lengths[i] = size - i % 17;
                CRC32 crc = new CRC32();
                crc.update(data, 0, lengths[i]);
                expected[i] = crc.getValue();
            }
            long[] crcs = spindle.callAll(crc32, initial, addresses, lengths).join();
            return report("crc32 of " + count + " buffers, one batch of typed calls", Arrays.equals(expected, crcs));
        }
    }

    /** One typed call: zlib's compress2, whose output java.util.zip must inflate back. */
    static boolean compressOnce(Spindle spindle) throws DataFormatException {
        TypedFunction compress2 = TypedFunction.of(ZLIB, "compress2",
                Signature.of(CType.INT32, CType.POINTER, CType.POINTER, CType.POINTER, CType.UINT64, CType.INT32));
        byte[] text = "Spindle runs existing C functions as tasks. ".repeat(1_000).getBytes(StandardCharsets.US_ASCII);
        try (Memory source = new Memory(text.length); Memory dest = new Memory(text.length + 1024); Memory destLen = new Memory(8)) {
            source.write(0, text, 0, text.length);
            destLen.setLong(0, dest.size());
            long status = spindle.call(compress2, dest, destLen, source, (long) text.length, 9).join(); // Z_OK is 0
            byte[] inflated = new byte[text.length];
            Inflater inflater = new Inflater();
            inflater.setInput(dest.getByteArray(0, (int) destLen.getLong(0)));
            int length = inflater.inflate(inflated);
            inflater.end();
            return report("compress2 of " + text.length + " bytes to " + destLen.getLong(0) + ", one typed call",
                    status == 0 && length == text.length && Arrays.equals(text, inflated));
        }
    }

    /** fib(30) by the C task fib_task, which spawns and joins green threads as it recurses. */
    static boolean forkJoinFib(Spindle spindle) {
        // target/classes/linux-x86-64/libfib_tasks.so (in this project's jar once packaged), where
        // JNA looks. Its spn_* calls resolve against the scheduler's library, already loaded.
        NativeFunction fib = NativeFunction.of(NativeLibrary.getInstance("fib_tasks"), "fib_task");
        int n = 30;
        long result = spindle.spawn(fib, n).join();
        return report("fib(" + n + ") = " + result + ", fork-join task code in C", result == fibonacci(n));
    }

    static long fibonacci(int n) {
        long a = 0, b = 1;
        for (int i = 0; i < n; i++) {
            long next = a + b;
            a = b;
            b = next;
        }
        return a;
    }

    private static boolean report(String what, boolean right) {
        System.out.println((right ? "ok     " : "WRONG  ") + what);
        return right;
    }
}
