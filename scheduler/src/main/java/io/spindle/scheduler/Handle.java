package io.spindle.scheduler;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static io.spindle.scheduler.internal.Layout.STATE_DONE;

/**
 * What {@link Task} and {@link TaskGroup} share: an outcome copied to the heap once, and the
 * rule for giving their native memory back.
 *
 * <p>The rule: the native part (a descriptor, a group block) is released once the outcome
 * has been copied <em>and</em> no thread is inside a method that may still read it (a joiner
 * asleep on its state word, say). Each such method counts itself in {@code users} and
 * re-reads the outcome after counting; whoever leaves last after the outcome is set
 * releases. Both sides write, then read the other's word (Dekker), so either the leaver sees
 * the newcomer and leaves the release to it, or the newcomer sees the outcome and never
 * touches the native part.
 */
abstract class Handle {
    static final int PENDING = 0;
    private static final VarHandle USERS;
    private static final VarHandle COPYING;
    private static final VarHandle RELEASED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            USERS = lookup.findVarHandle(Handle.class, "users", int.class);
            COPYING = lookup.findVarHandle(Handle.class, "copying", int.class);
            RELEASED = lookup.findVarHandle(Handle.class, "released", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") private volatile int users;
    @SuppressWarnings("unused") private volatile int copying;
    @SuppressWarnings("unused") private volatile int released;
    /** STATE_DONE or STATE_CANCELLED once copied; what the native part held is then on the heap. */
    volatile int outcome = PENDING;

    /** Counts the caller in; false (and not counted) if the outcome is already here. */
    final boolean use() {
        USERS.getAndAdd(this, 1);
        if (outcome != PENDING) {
            unuse();
            return false;
        }
        return true;
    }

    final void unuse() {
        USERS.getAndAdd(this, -1);
        if (outcome != PENDING && (int) USERS.getVolatile(this) == 0 && RELEASED.compareAndSet(this, 0, 1)) {
            releaseNative();
        }
    }

    /**
     * Copies the outcome once, from a native part known to be final; callers must be counted
     * users. Concurrent callers wait for the one that copies.
     */
    final int copyOnce() {
        int o = outcome;
        if (o != PENDING) return o;
        if (COPYING.compareAndSet(this, 0, 1)) {
            o = copyFromNative();
            outcome = o;
            return o;
        }
        while ((o = outcome) == PENDING) Thread.onSpinWait();
        return o;
    }

    /** Copies the outcome when the native part is gone already (after close). */
    final int copyOnceAfterClose(java.util.function.IntSupplier copy) {
        int o = outcome;
        if (o != PENDING) return o;
        if (COPYING.compareAndSet(this, 0, 1)) {
            RELEASED.setVolatile(this, 1); // close() freed it
            o = copy.getAsInt();
            outcome = o;
            return o;
        }
        while ((o = outcome) == PENDING) Thread.onSpinWait();
        return o;
    }

    /** For close(): no user is left (the runtime's gate is drained); release now if not yet. */
    final void releaseNow() {
        if (RELEASED.compareAndSet(this, 0, 1)) releaseNative();
    }

    boolean succeeded() {
        return outcome == STATE_DONE;
    }

    /** Reads the final state and results into fields; returns the outcome. */
    abstract int copyFromNative();

    /** Gives the native part back; called exactly once, after the copy, with no user left. */
    abstract void releaseNative();
}
