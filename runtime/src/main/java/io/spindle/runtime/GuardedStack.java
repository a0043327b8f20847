package io.spindle.runtime;

import io.spindle.runtime.internal.Errno;
import io.spindle.runtime.internal.RuntimeNative;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A native stack in one private mapping with a {@code PROT_NONE} guard page below it, so
 * that running off its end faults instead of writing over a neighbour. Released exactly
 * once: by {@link #close()} (idempotent) and never by anything else.
 *
 * <p>A fault in the guard page of a raw thread kills the JVM (exit 139, no hs_err: the
 * kernel cannot deliver SIGSEGV on the overflowed stack). Size stacks generously; the
 * guard turns a silent corruption into a crash, not into an exception.
 */
public final class GuardedStack implements AutoCloseable {
    /** The smallest usable size accepted: below it a libc call can overflow at once. */
    public static final long MIN_SIZE = 16 * 1024;

    private final AtomicLong handle;
    private final long size;

    private GuardedStack(long handle, long size) {
        this.handle = new AtomicLong(handle);
        this.size = size;
    }

    /** Maps a stack of {@code size} usable bytes (a multiple of the page size, at least {@link #MIN_SIZE}). */
    public static GuardedStack allocate(long size) {
        validateSize(size);
        long[] out = new long[1];
        int err = RuntimeNative.spn_stack_alloc(size, out);
        if (err != 0) {
            throw new CloneException("mmap of a " + size + "-byte stack failed: " + Errno.describe(err), err);
        }
        return new GuardedStack(out[0], size);
    }

    /** Checks a stack size against the rules; throws {@link IllegalArgumentException} naming the broken one. */
    public static long validateSize(long size) {
        long page = pageSize();
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("stack size " + size + " is below the minimum of " + MIN_SIZE + " bytes");
        }
        if (size % page != 0) {
            throw new IllegalArgumentException("stack size " + size + " is not a multiple of the page size (" + page + " bytes)");
        }
        return size;
    }

    public static long pageSize() {
        return RuntimeNative.spn_runtime_page_size();
    }

    /** Usable bytes. */
    public long size() {
        return size;
    }

    /** The initial stack pointer (the stack grows down from here). */
    public long top() {
        return RuntimeNative.spn_stack_top(live());
    }

    /** The address of the guard page. */
    public long guardAddress() {
        return RuntimeNative.spn_stack_guard(live());
    }

    /** The native handle, for the runtime's own calls. */
    long handle() {
        return live();
    }

    public boolean isClosed() {
        return handle.get() == 0;
    }

    private long live() {
        long h = handle.get();
        if (h == 0) throw new IllegalStateException("stack already released");
        return h;
    }

    /** Unmaps the stack; later calls do nothing. Only once no code runs on it any more. */
    @Override
    public void close() {
        long h = handle.getAndSet(0);
        if (h != 0) RuntimeNative.spn_stack_free(h);
    }

    /** Stacks currently mapped by the runtime (held by users, threads or its cache). */
    public static long liveCount() {
        return RuntimeNative.spn_stacks_live();
    }
}
