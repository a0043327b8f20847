package io.spindle.runtime.internal;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

import java.nio.charset.StandardCharsets;

/**
 * JNA direct mapping of {@code libspindle_runtime.so} ({@code spindle_runtime.h}).
 *
 * <p><b>Internal:</b> not part of Spindle's API; signatures follow the C header and change
 * with it. Pointers travel as {@code long}, out-parameters as one-element arrays: direct
 * mapping with primitives only, no {@code Structure} per call. Every function that can fail
 * returns 0 or an errno value.
 *
 * <p>Loading the class loads the library (from the classpath, where the build put it, through
 * {@link NativeLoader} so that crash reports and /proc/self/maps name it) and
 * runs the start-up self-check: a process where glibc's TLS layout is not what the runtime
 * expects gets an {@link IllegalStateException} here, before any raw thread exists.
 */
public final class RuntimeNative {
    public static final String LIBRARY_NAME = "spindle_runtime";

    /** The library itself, for code that needs its symbols (e.g. function addresses). */
    public static final NativeLibrary LIBRARY;

    static {
        LIBRARY = NativeLoader.load(LIBRARY_NAME, RuntimeNative.class); // under its own name, not jna*.tmp
        Native.register(RuntimeNative.class, LIBRARY);
        byte[] message = new byte[512];
        int err = spn_runtime_init(message, message.length);
        if (err != 0) {
            throw new IllegalStateException(cString(message) + " (errno " + err + ")");
        }
        err = spn_runtime_verify_raw_thread();
        if (err != 0) {
            throw new IllegalStateException("Spindle's start-up check failed: on a raw thread it made, the tid, "
                    + "pthread_self() or errno was not the thread's own (errno " + err + "). This glibc lays out "
                    + "its TCB differently from what the runtime fills in; raw threads are disabled.");
        }
    }

    private RuntimeNative() {}

    /** Forces the library load and the self-check; a no-op after the first call. */
    public static void ensureLoaded() {}

    public static String cString(byte[] buffer) {
        int n = 0;
        while (n < buffer.length && buffer[n] != 0) n++;
        return new String(buffer, 0, n, StandardCharsets.UTF_8);
    }

    public static native int spn_runtime_init(byte[] message, long messageSize);
    public static native int spn_runtime_verify_raw_thread();
    public static native long spn_runtime_page_size();
    /** Offsets in struct pthread (spindle_runtime.h, spn_tcb_layout): stack, exit buffer, result, cancelhandling. */
    public static native int spn_tcb_layout(long[] out);

    public static native int spn_stack_alloc(long size, long[] out);
    public static native void spn_stack_free(long stack);
    public static native long spn_stack_top(long stack);
    public static native long spn_stack_size(long stack);
    public static native long spn_stack_guard(long stack);
    public static native long spn_stacks_live();

    public static native int spn_thread_start(long fn, long arg, long stackSize, int useCache, long[] out);
    public static native int spn_thread_tid(long thread);
    public static native int spn_thread_join(long thread, long timeoutNanos);
    public static native int spn_thread_exited(long thread);
    public static native long spn_thread_result(long thread);
    public static native void spn_thread_release(long thread);

    public static native long spn_tcb_live();
    public static native void spn_caches_trim();

    public static native int spn_process_start(long fn, long arg, long flags, int exitSignal,
                                               long stack, long[] tcbOut, int[] pidOut);
    public static native int spn_process_wait(int pid, long timeoutNanos, int[] statusOut);
    public static native void spn_process_release_tcb(long tcb);

    public static native int spn_gettid();
    public static native String spn_strerror(int err);
}
