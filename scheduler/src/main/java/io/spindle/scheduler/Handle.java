package io.spindle.scheduler;

import io.spindle.scheduler.internal.CompletionPoller;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

import static io.spindle.scheduler.internal.Layout.STATE_DONE;
import static io.spindle.scheduler.internal.Layout.STATE_MASK;
import static io.spindle.scheduler.internal.Layout.WAITER_JAVA;
import static io.spindle.scheduler.internal.Memory.INTS;

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
 *
 * <p>Waiting is shared too: a task and a group each have a state word (a futex), so joins,
 * isDone and futures work the same way on both; the subclasses say where the word is, how to
 * sleep on it in native code, and how to copy their outcome.
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

    final Spindle spindle;

    private volatile Object held; // what the task or batch uses from the heap, kept reachable until released

    /**
     * Keeps {@code referent} reachable from the runtime (through this handle) until its native
     * part is given back (it ended and was joined) or the runtime terminated. Set once, right
     * after the task or batch was queued.
     */
    final void holdForTheRun(Object referent) {
        held = referent;
        spindle.heldForTasks.add(this); // this handle, not the referent: two tasks may share one Pointer
        // Ended already? Then no worker uses it any more, and the release may have run first.
        if (done()) spindle.heldForTasks.remove(this);
    }

    /** From releaseNative: no worker can use the referent any more. */
    final void dropHold() {
        if (held != null) spindle.heldForTasks.remove(this);
    }

    Handle(Spindle spindle) {
        this.spindle = spindle;
    }

    /**
     * For a handle with no native part (an empty batch), once its outcome is on the heap:
     * marked released first, so the release rule never calls {@link #releaseNative()}.
     */
    final void settleWithoutNativePart(int finalOutcome) {
        RELEASED.setVolatile(this, 1);
        COPYING.setVolatile(this, 1);
        outcome = finalOutcome;
    }

    // ---- what each kind of handle provides ------------------------------------------------------

    /** The buffer and offset of the state word. */
    abstract ByteBuffer stateBuffer();

    abstract int stateOffset();

    /** The key the completion poller knows this handle by. */
    abstract long waiterKey();

    /** Sleeps on the state word in native code (platform threads only): 0, or non-zero on timeout. */
    abstract int waitNative(long timeoutNanos);

    /** The outcome once the runtime has closed and freed the native part. */
    abstract int outcomeAfterClose();

    // ---- waiting -------------------------------------------------------------------------------

    final int lvState() {
        return (int) INTS.getAcquire(stateBuffer(), stateOffset());
    }

    static boolean isFinal(int state) {
        return (state & STATE_MASK) >= STATE_DONE;
    }

    /** Waits (timeoutNanos < 0: for ever) for the outcome; copies it. Not interruptible. */
    final int await(long timeoutNanos) throws TimeoutException {
        try {
            return await(timeoutNanos, false);
        } catch (InterruptedException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /**
     * As {@link #await(long)}, but an interrupt ends the wait with InterruptedException (the
     * handle stays joinable). Platform threads too park in Java for this, woken by the
     * completion poller, since a thread asleep in FUTEX_WAIT does not see interrupts.
     */
    final int awaitInterruptibly(long timeoutNanos) throws InterruptedException, TimeoutException {
        if (Thread.interrupted()) throw new InterruptedException();
        return await(timeoutNanos, true);
    }

    private int await(long timeoutNanos, boolean interruptible) throws TimeoutException, InterruptedException {
        int o = outcome;
        if (o != PENDING) return o;
        if (!spindle.enter()) return outcomeAfterClose();
        try {
            if (!use()) return outcome;
            try {
                if (!isFinal(lvState())) {
                    if (Thread.currentThread().isVirtual()) {
                        awaitParked(timeoutNanos, interruptible); // it must not pin its carrier in native code
                    } else if (!Spindle.spinUntilFinal(stateBuffer(), stateOffset())) {
                        if (interruptible) awaitParked(timeoutNanos, true);
                        else if (waitNative(timeoutNanos) != 0) throw timedOut(timeoutNanos);
                    }
                }
                return copyOnce();
            } finally {
                unuse();
            }
        } finally {
            spindle.exit();
        }
    }

    /** True once ended; copies the outcome then. Never blocks. */
    final boolean done() {
        if (outcome != PENDING) return true;
        if (!spindle.enter()) return outcomeAfterClose() != PENDING;
        try {
            if (!use()) return true;
            try {
                return isFinal(lvState()) && copyOnce() != PENDING;
            } finally {
                unuse();
            }
        } finally {
            spindle.exit();
        }
    }

    /**
     * A future that {@code complete} completes once the outcome is here: at once if it is,
     * otherwise from the completion poller (counted as a user while it copies, like a joiner).
     */
    final <T> CompletableFuture<T> future(Consumer<CompletableFuture<T>> complete) {
        CompletableFuture<T> future = new CompletableFuture<>();
        if (!done() && spindle.enter()) {
            try {
                if (use()) {
                    try {
                        CompletionPoller.Waiter waiter = new CompletionPoller.Waiter() {
                            @Override
                            public void wake() {
                                if (lateCompletionReRegistered(this)) return;
                                if (use()) {
                                    try {
                                        copyOnce();
                                    } finally {
                                        unuse();
                                    }
                                }
                                // Not here, on the poller: a stage may block, join, or close().
                                spindle.runStage(() -> complete.accept(future));
                            }
                        };
                        if (registerJavaWaiter(waiter)) return future;
                        copyOnce();
                    } finally {
                        unuse();
                    }
                }
            } finally {
                spindle.exit();
            }
        }
        done(); // after close: the outcome close() kept
        complete.accept(future);
        return future;
    }

    /**
     * Parks until the poller says the task ended. A virtual thread always waits so: it must
     * not block in native code (it would pin its carrier). An interruptible wait does too.
     */
    private void awaitParked(long timeoutNanos, boolean interruptible) throws TimeoutException, InterruptedException {
        Thread me = Thread.currentThread();
        CompletionPoller.Waiter waiter = new CompletionPoller.Waiter() {
            @Override
            public void wake() {
                if (!lateCompletionReRegistered(this)) LockSupport.unpark(me);
            }
        };
        if (!registerJavaWaiter(waiter)) return; // ended meanwhile
        parkUntil(() -> isFinal(lvState()), timeoutNanos, () -> spindle.poller.unregister(waiterKey(), waiter),
                interruptible);
    }

    /**
     * The poller knows waiters by the descriptor's (or group block's) address, and addresses
     * are reused: a joiner that saw its task end before it parked gives the descriptor back
     * while the worker's report of that end may still be on its way to the poller, and the
     * report then takes the registrations of the descriptor's next task with it. So a waiter
     * the poller calls first looks at the state: not final means the report was an earlier
     * task's, and it registers again (true: nothing else to do). It reads the state only as a
     * counted user with the outcome still pending, so the native part is still this handle's.
     */
    private boolean lateCompletionReRegistered(CompletionPoller.Waiter waiter) {
        if (!use()) return false; // the outcome is here: nothing to wait for
        try {
            return !isFinal(lvState()) && registerJavaWaiter(waiter);
        } finally {
            unuse();
        }
    }

    /** Register, then set the waiter bit. False if it ended first (then nobody will call the waiter). */
    private boolean registerJavaWaiter(CompletionPoller.Waiter waiter) {
        long key = waiterKey();
        spindle.poller.register(key, waiter);
        while (true) {
            int s = lvState();
            if (isFinal(s)) {
                spindle.poller.unregister(key, waiter);
                return false;
            }
            if ((s & WAITER_JAVA) != 0 || INTS.compareAndSet(stateBuffer(), stateOffset(), s, s | WAITER_JAVA)) return true;
        }
    }

    /**
     * Parks until {@code done}. join() is not interruptible (as ForkJoinTask.join), but an
     * interrupt must not turn the park into a busy loop: it is set aside and restored. An
     * interruptible wait gives up instead (onGiveUp, then InterruptedException).
     */
    static void parkUntil(BooleanSupplier done, long timeoutNanos, Runnable onGiveUp, boolean interruptible)
            throws TimeoutException, InterruptedException {
        long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
        boolean interrupted = false;
        try {
            while (!done.getAsBoolean()) {
                if (timeoutNanos < 0) {
                    LockSupport.park(done);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        onGiveUp.run();
                        throw timedOut(timeoutNanos);
                    }
                    LockSupport.parkNanos(done, left);
                }
                if (Thread.interrupted()) {
                    if (interruptible && !done.getAsBoolean()) {
                        onGiveUp.run();
                        throw new InterruptedException("interrupted while joining a Spindle task");
                    }
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    static TimeoutException timedOut(long nanos) {
        return new TimeoutException("still running after " + Duration.ofNanos(nanos));
    }

    // ---- the outcome and the native part's release --------------------------------------------

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
