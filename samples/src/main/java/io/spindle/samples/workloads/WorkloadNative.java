package io.spindle.samples.workloads;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Spindle;

/**
 * JNA direct mapping ({@link Native#register}) of the workloads' half of
 * {@code libspindle_samples.so} ({@code src/main/c/workloads.c}). <b>Internal.</b> Primitive
 * arguments only, so a call costs a JNI transition and nothing else; pointers are
 * {@code long}s.
 *
 * <p>The library's task code calls spindle.h and binds those symbols when it loads (-z now),
 * so the scheduler library is loaded first, here.
 *
 * <p>The argument blocks mirror workloads.c's structs (drawn there); {@link #verifyLayout}
 * checks every offset against the compiled code when this class loads.
 */
final class WorkloadNative {
    static final String LIBRARY_NAME = "spindle_samples";
    static final NativeLibrary LIBRARY;

    // struct sample_image: pixels(8b) | width(8b) | height(8b) | max_iter(8b)
    static final long IMAGE_SIZE = 32, IMAGE_PIXELS = 0, IMAGE_WIDTH = 8, IMAGE_HEIGHT = 16, IMAGE_MAX_ITER = 24;
    // struct sample_row: image(8b) | row(8b)
    static final long ROW_SIZE = 16, ROW_IMAGE = 0, ROW_ROW = 8;
    // struct sample_range: a(8b) | n(8b) | split_min(8b)
    static final long RANGE_SIZE = 24, RANGE_A = 0, RANGE_N = 8, RANGE_SPLIT_MIN = 16;
    // struct sample_chunk: address(8b) | length(8b)
    static final long CHUNK_SIZE = 16, CHUNK_ADDRESS = 0, CHUNK_LENGTH = 8;

    /** In the order of workloads.c's enum sample_layout_item. */
    private static final long[] LAYOUT = {
        IMAGE_SIZE, IMAGE_PIXELS, IMAGE_WIDTH, IMAGE_HEIGHT, IMAGE_MAX_ITER,
        ROW_SIZE, ROW_IMAGE, ROW_ROW,
        RANGE_SIZE, RANGE_A, RANGE_N, RANGE_SPLIT_MIN,
        CHUNK_SIZE, CHUNK_ADDRESS, CHUNK_LENGTH,
    };

    static {
        Spindle.loadNativeLibrary(); // spn_* first: this library binds them at load
        LIBRARY = NativeLibrary.getInstance(LIBRARY_NAME);
        Native.register(WorkloadNative.class, LIBRARY);
        verifyLayout();
    }

    /** The task entry points, for Spindle.spawn / spawnAll. */
    static final NativeFunction MANDELBROT_ROW_TASK = NativeFunction.of(LIBRARY, "sample_mandelbrot_row_task");
    static final NativeFunction FIB_TASK = NativeFunction.of(LIBRARY, "sample_fib_task");
    static final NativeFunction SORT_TASK = NativeFunction.of(LIBRARY, "sample_sort_task");
    static final NativeFunction CRC32C_TASK = NativeFunction.of(LIBRARY, "sample_crc32c_task");

    private WorkloadNative() {}

    private static void verifyLayout() {
        for (int i = 0; i < LAYOUT.length; i++) {
            long compiled = sample_layout(i);
            if (compiled != LAYOUT[i]) {
                throw new IllegalStateException("workloads.c's argument layout changed: item " + i + " is "
                        + compiled + " there and " + LAYOUT[i] + " in WorkloadNative");
            }
        }
        if (sample_layout(LAYOUT.length) != -1) {
            throw new IllegalStateException("workloads.c has layout items that WorkloadNative does not mirror");
        }
    }

    /** The smallest task result that is real data; below it, {@code -1000 - result} of a failed spn_* call. */
    static final long SPN_FAILED_MAX = -1000;

    /** The value of a task that may have failed in a spn_* call; throws naming the failure if it did. */
    static long requireTaskResult(String what, long value) {
        if (value <= SPN_FAILED_MAX) {
            int code = (int) (SPN_FAILED_MAX - value);
            throw new IllegalStateException(what + ": a spn_* call failed in task code: " + sample_spn_describe(code));
        }
        return value;
    }

    static native String sample_spn_describe(int result);

    static native long sample_layout(int item);

    /** The first byte at which the two blocks differ, or -1. */
    static native long sample_first_difference(long a, long b, long bytes);

    static native void sample_copy(long dst, long src, long bytes);

    /** {@code bytes} pseudo-random bytes fixed by {@code seed} (splitmix64). */
    static native void sample_fill_random(long address, long bytes, long seed);

    static native void sample_mandelbrot_row(long image, long row);

    static native void sample_mandelbrot(long image);

    static native long sample_fib(long n);

    static native void sample_sort(long a, long n);

    /** Partitions {@code n >= 2} ints; returns k in [1, n-1]: all of [0, k) &lt;= all of [k, n). */
    static native long sample_partition(long a, long n);

    /** The first i with a[i] &gt; a[i+1], or -1. */
    static native long sample_first_descent(long a, long n);

    /** An order-independent hash: different for arrays that are not permutations of each other. */
    static native long sample_multiset_hash(long a, long n);

    static native long sample_crc32c(long address, long length);

    static native void sample_crc32c_chunks(long chunks, long count, long out);
}
