package io.spindle.scheduler.internal;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import io.spindle.runtime.internal.NativeLoader;

/**
 * JNA direct mapping of {@code libspindle_scheduler.so} ({@code sched.c}). <b>Internal.</b>
 * Pointers are {@code long}s. None of these is called per task on the hot paths: spawn and
 * join touch the off-heap structures through {@link Memory} VarHandles; these calls are for
 * set-up, sleeping and waking.
 */
public final class SchedNative {
    public static final String LIBRARY_NAME = "spindle_scheduler";
    public static final NativeLibrary LIBRARY;

    static {
        // Under its own name, not jna*.tmp, and RTLD_GLOBAL: task libraries resolve spn_* against it.
        LIBRARY = NativeLoader.load(LIBRARY_NAME, SchedNative.class);
        Native.register(SchedNative.class, LIBRARY);
    }

    private SchedNative() {}

    public static native long spn_sched_layout(int key);

    public static native long spn_ring_create(long capacity);
    public static native void spn_ring_destroy(long ring);

    public static native int spn_sched_create(int workers, long ringCapacity, long spinNanos, long greenStackSize, long[] out);
    public static native void spn_sched_shutdown(long sched, int mode);
    public static native void spn_sched_destroy(long sched);
    public static native long spn_sched_worker(long sched, int index);
    public static native void spn_sched_wake_one(long sched);
    public static native void spn_space_wait(long sched, int epoch);
    public static native void spn_space_wake_all(long sched);
    public static native long spn_sched_running_fn(long sched, int worker);
    public static native int spn_symbolize(long address, byte[] out, int capacity);

    public static native int spn_pool_grow(long sched);

    public static native int spn_task_wait(long task, long timeoutNanos);
    public static native int spn_group_wait(long group, long timeoutNanos);
    public static native void spn_fiber_use_tcb_layout(long[] layout);
    public static native long spn_group_create(long count);
    public static native long spn_call_group_create(long count, long fn, int intArgs, int fpArgs, int retKind);
    public static native void spn_group_destroy(long group);

    public static native int spn_completions_take(long sched, long[] out, int max, long timeoutNanos);
    public static native void spn_poller_stop(long sched);
}
