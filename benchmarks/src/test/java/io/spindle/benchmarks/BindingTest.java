package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchDowncalls;
import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.scheduler.CType;
import io.spindle.scheduler.Signature;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.TypedFunction;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.LongUnaryOperator;
import java.util.zip.CRC32C;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.*;

/** The three bindings of the Java alternatives call the same C functions: the same answers as JNA and as Spindle's typed calls. */
class BindingTest {
    @Test
    void everyBindingOfATaskFunctionGivesTheAnswersOfSpindlesTypedCall() throws Exception {
        long[] args = new long[1000];
        for (int i = 0; i < args.length; i++) args[i] = i * 7919L - 3;
        try (Spindle spindle = TaskFunction.newSpindle("binding-test")) {
            for (TaskFunction task : TaskFunction.values()) {
                // spindleCallAll's call: the function's address as int64(int64).
                TypedFunction typed = TypedFunction.ofAddress(task.nativeFunction().address(), Signature.of(CType.INT64, CType.INT64));
                long[] expected = spindle.callAll(typed, args).join(TaskFunction.TIMEOUT);
                for (Binding binding : Binding.values()) {
                    LongUnaryOperator call = task.javaCall(binding);
                    for (int i = 0; i < args.length; i++) {
                        assertEquals(expected[i], call.applyAsLong(args[i]), task + " through " + binding + " of " + args[i]);
                    }
                }
            }
        }
        assertEquals(42, TaskFunction.trivial.javaCall(Binding.ffmCritical).applyAsLong(42), "the identity, not just agreement");
    }

    @Test
    void everyBindingOfCrc32cGivesJavasCrc() {
        try (Arena arena = Arena.ofConfined()) {
            int length = 100_003; // not a multiple of 8: the byte-wise tail is taken too
            MemorySegment buffer = arena.allocate(length);
            for (int i = 0; i < length; i++) buffer.set(JAVA_BYTE, i, (byte) (i * 31 + (i >>> 8)));
            CRC32C crc = new CRC32C();
            crc.update(buffer.asByteBuffer());
            long address = buffer.address();
            assertEquals(crc.getValue(), BenchNative.bench_crc32c(address, length));
            assertEquals(crc.getValue(), BenchDowncalls.Default.bench_crc32c(address, length));
            assertEquals(crc.getValue(), BenchDowncalls.Critical.bench_crc32c(address, length));
        }
    }

    @Test
    void anAlternativesNameEndsWithItsBinding() {
        assertEquals(Binding.jna, Binding.ofRuntime("forkJoinChunks64"));
        assertEquals(Binding.ffm, Binding.ofRuntime("forkJoinChunks64Ffm"));
        assertEquals(Binding.ffmCritical, Binding.ofRuntime("forkJoinChunks64FfmCritical"));
        assertEquals(Binding.ffmCritical, Binding.ofRuntime("loopFfmCritical"));
        assertEquals(Binding.jna, Binding.ofRuntime("spindleCallAll"));
    }
}
