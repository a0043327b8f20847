package io.spindle.benchmarks.internal;

import io.spindle.runtime.NativeFunction;

import java.lang.invoke.MethodHandle;

/**
 * The functions of {@code libspindle_bench.so} that Java threads call, as FFM downcalls
 * ({@link Ffm}): the counterpart of {@link BenchNative}'s JNA mapping, one class per linkage.
 * <b>Internal.</b> Each handle is linked from the address the native schedulers are given
 * ({@link NativeFunction#address()}), so every alternative runs the same code.
 *
 * <p>The handles are static finals and called with {@code invokeExact} and exact types: the
 * JIT treats them as constants and compiles each call into a direct one with the linkage's
 * transition around it, the best FFM can do. (A handle in an instance field would be called
 * through an indirection.)
 */
public final class BenchDowncalls {
    private BenchDowncalls() {}

    private static long address(String symbol) {
        return NativeFunction.of(BenchNative.LIBRARY, symbol).address();
    }

    /** Default linkage. */
    public static final class Default {
        private static final MethodHandle IDENTITY = Ffm.downcall(address("bench_identity"), Ffm.LONG_OF_LONG);
        private static final MethodHandle WORK = Ffm.downcall(address("bench_work"), Ffm.LONG_OF_LONG);
        private static final MethodHandle CRC32C = Ffm.downcall(address("bench_crc32c"), Ffm.LONG_OF_LONG_LONG);

        private Default() {}

        /** See {@link BenchNative#bench_identity}. */
        public static long bench_identity(long arg) {
            try {
                return (long) IDENTITY.invokeExact(arg);
            } catch (Throwable t) {
                throw Ffm.failed("bench_identity", t);
            }
        }

        /** See {@link BenchNative#bench_work}. */
        public static long bench_work(long arg) {
            try {
                return (long) WORK.invokeExact(arg);
            } catch (Throwable t) {
                throw Ffm.failed("bench_work", t);
            }
        }

        /** See {@link BenchNative#bench_crc32c}. */
        public static long bench_crc32c(long address, long length) {
            try {
                return (long) CRC32C.invokeExact(address, length);
            } catch (Throwable t) {
                throw Ffm.failed("bench_crc32c", t);
            }
        }
    }

    /** Critical linkage: {@code Linker.Option.critical(false)}. */
    public static final class Critical {
        private static final MethodHandle IDENTITY = Ffm.criticalDowncall(address("bench_identity"), Ffm.LONG_OF_LONG);
        private static final MethodHandle WORK = Ffm.criticalDowncall(address("bench_work"), Ffm.LONG_OF_LONG);
        private static final MethodHandle CRC32C = Ffm.criticalDowncall(address("bench_crc32c"), Ffm.LONG_OF_LONG_LONG);

        private Critical() {}

        /** See {@link BenchNative#bench_identity}. */
        public static long bench_identity(long arg) {
            try {
                return (long) IDENTITY.invokeExact(arg);
            } catch (Throwable t) {
                throw Ffm.failed("bench_identity", t);
            }
        }

        /** See {@link BenchNative#bench_work}. */
        public static long bench_work(long arg) {
            try {
                return (long) WORK.invokeExact(arg);
            } catch (Throwable t) {
                throw Ffm.failed("bench_work", t);
            }
        }

        /** See {@link BenchNative#bench_crc32c}. */
        public static long bench_crc32c(long address, long length) {
            try {
                return (long) CRC32C.invokeExact(address, length);
            } catch (Throwable t) {
                throw Ffm.failed("bench_crc32c", t);
            }
        }
    }
}
