package io.spindle.runtime;

import com.sun.jna.Pointer;
import io.spindle.runtime.internal.Errno;
import io.spindle.runtime.internal.RuntimeNative;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * A native function running on a raw {@code clone(2)} thread made with glibc's own thread
 * flag set, {@link CloneFlags#THREAD}: same memory, files, filesystem info, signal handlers
 * and thread group as the JVM, its own glibc TCB ({@code CLONE_SETTLS}), its tid written
 * before {@code start} returns ({@code CLONE_PARENT_SETTID}) and cleared with a futex wake
 * when it exits ({@code CLONE_CHILD_CLEARTID}), which is what {@link #join()} waits for.
 *
 * <p>What the thread may do: any libc call a pthread may make (malloc, stdio, errno,
 * mutexes, ctype, sched_getcpu, the resolver, {@code pthread_exit}). It starts with every
 * thread-local at its initial value, as a pthread does ({@code __thread} and C++
 * {@code thread_local} variables, pthread keys, errno, the locale, libraries loaded at any
 * time), and when it ends, C++ {@code thread_local} and pthread key destructors run. Its
 * native code may attach to the JVM with JNI's {@code AttachCurrentThread}, call Java and
 * detach. It is born with every asynchronous signal blocked (glibc's internal 32 and 33
 * included: a stray one stays pending) and the fault signals (SEGV, BUS, FPE, ILL, TRAP,
 * SYS) deliverable, so a crash still produces HotSpot's hs_err report. What it may not do:
 * be cancelled with {@code pthread_cancel}, expect {@code setuid()} to reach it, or find the
 * static TLS of a library dlopen'ed while it runs initialised (glibc initialises that on the
 * threads on its list). The README's "What native code on a raw thread may do" says more.
 *
 * <p>Like a pthread, a started thread must be joined: {@link #join()} releases its stack
 * and TCB (to the runtime's caches unless {@link Builder#cached(boolean) cached(false)}).
 * Any number of threads may join at once; all return the same result.
 */
public final class NativeThread {
    /** Default stack: generous, for native code that keeps large buffers on the stack. */
    public static final long DEFAULT_STACK_SIZE = 256 * 1024;

    private final NativeFunction function;
    private final long handle;
    private final int tid;
    private final long stackSize;
    private final boolean cached;

    // Guarded by this: the native block may be released only once every joiner is out of native code.
    private int joinersInNative;
    private boolean exited;
    private boolean released;
    private long result;

    private NativeThread(NativeFunction function, long handle, long stackSize, boolean cached) {
        this.function = function;
        this.handle = handle;
        this.stackSize = stackSize;
        this.cached = cached;
        this.tid = RuntimeNative.spn_thread_tid(handle);
    }

    /** Starts {@code fn(arg)} with the defaults. */
    public static NativeThread start(NativeFunction fn, long arg) {
        return builder().start(fn, arg);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The thread's kernel tid, valid from the moment {@code start} returned (it may have exited since). */
    public int tid() {
        return tid;
    }

    /** The flags every {@code NativeThread} is cloned with. */
    public CloneFlags flags() {
        return CloneFlags.THREAD;
    }

    public NativeFunction function() {
        return function;
    }

    public long stackSize() {
        return stackSize;
    }

    public boolean isCached() {
        return cached;
    }

    /** True while the thread has not exited. A load, no syscall. */
    public synchronized boolean isAlive() {
        return !exited && !released && RuntimeNative.spn_thread_exited(handle) == 0;
    }

    /** Waits for the thread to exit and returns its function's result. */
    public long join() {
        try {
            return join(-1);
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded join timed out", e);
        }
    }

    /**
     * Waits at most {@code timeout}; a thread still running then leaves this method with a
     * {@link TimeoutException} and stays joinable.
     */
    public long join(Duration timeout) throws TimeoutException {
        return join(Timeouts.toNanos(timeout));
    }

    private long join(long timeoutNanos) throws TimeoutException {
        synchronized (this) {
            if (exited) return result;
            joinersInNative++;
        }
        int err = Errno.EINTR;
        try {
            err = RuntimeNative.spn_thread_join(handle, timeoutNanos);
        } finally {
            synchronized (this) {
                joinersInNative--;
                if (err == 0 && !exited) {
                    result = RuntimeNative.spn_thread_result(handle);
                    exited = true;
                }
                if (exited && joinersInNative == 0 && !released) {
                    released = true;
                    RuntimeNative.spn_thread_release(handle);
                }
            }
        }
        if (err == Errno.ETIMEDOUT) {
            throw new TimeoutException("raw thread " + tid + " (" + function.name() + ") still running after "
                    + Duration.ofNanos(timeoutNanos));
        }
        if (err != 0) {
            throw new CloneException("join of raw thread " + tid + " failed: " + Errno.describe(err), err);
        }
        synchronized (this) {
            return result;
        }
    }

    @Override
    public String toString() {
        return "NativeThread[tid=" + tid + ", " + function.name() + "]";
    }

    /** Runtime-wide counts, for leak checks and diagnostics. */
    public static long liveTcbs() {
        return RuntimeNative.spn_tcb_live();
    }

    /** Frees every cached stack and TCB (e.g. before measuring memory). */
    public static void trimCaches() {
        RuntimeNative.spn_caches_trim();
    }

    /** Options for a {@link NativeThread}. */
    public static final class Builder {
        private long stackSize = DEFAULT_STACK_SIZE;
        private boolean cached = true;

        private Builder() {}

        /** Usable stack bytes: a page multiple, at least {@link GuardedStack#MIN_SIZE}. */
        public Builder stackSize(long bytes) {
            this.stackSize = GuardedStack.validateSize(bytes);
            return this;
        }

        /**
         * Reuse stacks and TCBs of joined threads (default true). Either way a thread starts
         * with fresh thread-locals; with false, the join gives the stack and TCB back to the
         * system at once (libc's own per-thread block, malloc's cache in it, is kept for the
         * next new TCB, so nothing leaks), at a cost the ThreadSpawn benchmark measures.
         */
        public Builder cached(boolean cached) {
            this.cached = cached;
            return this;
        }

        public NativeThread start(NativeFunction fn, Pointer arg) {
            return start(fn, Pointer.nativeValue(arg));
        }

        public NativeThread start(NativeFunction fn, long arg) {
            if (fn == null) throw new NullPointerException("native function is null: a raw thread needs code to run");
            RuntimeNative.ensureLoaded();
            long[] out = new long[1];
            int err = RuntimeNative.spn_thread_start(fn.address(), arg, stackSize, cached ? 1 : 0, out);
            if (err != 0) throw CloneException.of("clone of a raw thread", CloneFlags.THREAD, err);
            return new NativeThread(fn, out[0], stackSize, cached);
        }
    }
}
