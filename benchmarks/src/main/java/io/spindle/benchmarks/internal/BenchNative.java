package io.spindle.benchmarks.internal;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * JNA direct mapping ({@link Native#register}) of {@code libspindle_bench.so}
 * ({@code src/main/c/bench_native.c}). <b>Internal.</b> Primitive arguments only, so a call
 * costs a JNI transition and nothing else; pointers are {@code long}s.
 */
public final class BenchNative {
    public static final String LIBRARY_NAME = "spindle_bench";
    public static final NativeLibrary LIBRARY;

    static {
        LIBRARY = NativeLibrary.getInstance(LIBRARY_NAME);
        Native.register(BenchNative.class, LIBRARY);
    }

    private BenchNative() {}

    /** Returns its argument. */
    public static native long bench_identity(long arg);

    /** {@link #bench_work_steps()} dependent LCG steps from {@code arg}: about 1 us. */
    public static native long bench_work(long arg);

    public static native long bench_work_steps();

    /** pthread_create + pthread_timedjoin_np of {@code fn(arg)}; result to {@code *out}. 0 or an errno. */
    public static native int bench_pthread_call(long fn, long arg, long out, long timeoutNanos);

    /** {@code n} pthreads running {@code fn(first + i)}, at most {@code window} alive; sum to {@code *sum}. 0 or an errno. */
    public static native int bench_pthread_batch(long fn, long first, long n, int window, long sum, long timeoutNanos);
}
