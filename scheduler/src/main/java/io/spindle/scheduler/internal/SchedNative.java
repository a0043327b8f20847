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

    public static native int spn_task_wait(long sched, long task, long timeoutNanos);
    public static native int spn_group_wait(long sched, long group, long timeoutNanos);
    public static native void spn_fiber_use_tcb_layout(long[] layout);
    public static native long spn_group_create(long sched, long count);
    public static native long spn_call_group_create(long sched, long count, long fn, int intArgs, int fpArgs, int retKind);
    public static native void spn_group_destroy(long sched, long group);

    // Isolated pools (isolated.c).
    public static native int spn_isolated_create(long regionBytes, int workers, long ringCapacity, long spinNanos,
                                                 long greenStackSize, long workerStackSize, long deadlineNanos,
                                                 long[] tcbLayout, int seccomp, long[] out);
    public static native void spn_isolated_destroy(long region, int fd);
    public static native int spn_isolated_add_library(long region, String path);
    public static native int spn_isolated_allow_calls(long region, int[] calls, int count);
    public static native long spn_isolated_child_address(long region, long jvmAddress);
    public static native int spn_isolated_start(long region, int fd, String host, String library, long timeoutNanos,
                                                int[] out, byte[] message, int messageSize);
    public static native int spn_isolated_wait(int pid, int pidfd, long timeoutNanos, int[] status);
    public static native int spn_isolated_kill(int pidfd);
    public static native int spn_isolated_crash(long region, int[] out, long[] addresses, byte[] symbol, int symbolSize);
    public static native long spn_isolated_recover_tasks(long sched, long crashNumber);
    public static native int spn_isolated_overdue_worker(long sched, long deadlineNanos);
    public static native long spn_isolated_fail_queued_tasks(long sched, long crashNumber);
    public static native long spn_shared_alloc(long region, long bytes);
    public static native int spn_shared_free(long region, long address);
    public static native int spn_shared_contains(long region, long address, long bytes);
    public static native long spn_shared_in_use(long region);

    public static native int spn_completions_take(long sched, long[] out, int max, long timeoutNanos);
    public static native void spn_poller_stop(long sched);
}
