package io.spindle.benchmarks.internal;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import io.spindle.scheduler.Spindle;

/**
 * JNA direct mapping ({@link Native#register}) of {@code libspindle_bench.so}
 * ({@code src/main/c/bench_native.c}). <b>Internal.</b> Primitive arguments only, so a call
 * costs a JNI transition and nothing else; pointers are {@code long}s.
 *
 * <p>The library's task code (bench_green.c) calls spindle.h, and it binds those symbols
 * when it loads (-z now): so the scheduler library is loaded first, here.
 */
public final class BenchNative {
    public static final String LIBRARY_NAME = "spindle_bench";
    public static final NativeLibrary LIBRARY;

    static {
        Spindle.loadNativeLibrary(); // spn_* first: the bench library binds them at load
        // Under its own name and kept on disk (JNA deletes the copy it extracts): an isolated
        // pool's child loads the same file.
        LIBRARY = io.spindle.runtime.internal.NativeLoader.load(LIBRARY_NAME, BenchNative.class);
        Native.register(BenchNative.class, LIBRARY);
    }

    private BenchNative() {}

    /** spindle.h's result codes by value, for the reports of bench_green.c's failures. */
    private static final String[] SPN_RESULTS = {"SPN_OK", "SPN_E_NOT_ON_WORKER", "SPN_E_INVALID",
            "SPN_E_NO_MEMORY", "SPN_E_CANCELLED", "SPN_E_NO_STACK", "SPN_E_CLOSING"};

    /**
     * What a bench_green.c task's negative return value means: BENCH_SPN_FAILED(result) is
     * {@code -1000 - result}. For the message of a failed answer check.
     */
    public static String describeGreenResult(long value) {
        long code = -1000 - value;
        if (value <= -1000 && code < SPN_RESULTS.length) return "a spn_* call failed with " + SPN_RESULTS[(int) code];
        return "returned " + value;
    }

    /** Returns its argument. */
    public static native long bench_identity(long arg);

    /** {@link #bench_work_steps()} dependent LCG steps from {@code arg}: about 1 us. */
    public static native long bench_work(long arg);

    public static native long bench_work_steps();

    /** pthread_create + pthread_timedjoin_np of {@code fn(arg)}; result to {@code *out}. 0 or an errno. */
    public static native int bench_pthread_call(long fn, long arg, long out, long timeoutNanos);

    /** {@code n} pthreads running {@code fn(first + i)}, at most {@code window} alive; sum to {@code *sum}. 0 or an errno. */
    public static native int bench_pthread_batch(long fn, long first, long n, int window, long sum, long timeoutNanos);

    /** fib(n) by plain recursion in C. */
    public static native long bench_fib_sequential(long n);

    /**
     * Two pthreads handing a turn to each other over a futex word, {@code rounds} round trips;
     * the hand-overs done (2 * rounds) to {@code *handoffs}. 0 or an errno (ETIMEDOUT if the
     * game did not end within {@code timeoutNanos}).
     */
    public static native int bench_futex_pingpong(long rounds, long handoffs, long timeoutNanos);

    /** CRC32C (Castagnoli, as java.util.zip.CRC32C) of {@code length} bytes at {@code address}. */
    public static native long bench_crc32c(long address, long length);

    /** CRC32C of each of {@code count} {address, length} chunks, one after another, into {@code out[]}. */
    public static native void bench_crc32c_chunks(long chunks, long count, long out);
}
