package io.spindle.scheduler;

import io.spindle.runtime.Timeouts;
import io.spindle.scheduler.internal.CompletionPoller;
import io.spindle.scheduler.internal.DescriptorPool;
import io.spindle.scheduler.internal.SchedNative;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

import static io.spindle.scheduler.internal.Layout.*;
import static io.spindle.scheduler.internal.Memory.INTS;
import static io.spindle.scheduler.internal.Memory.LONGS;

/**
 * A native task submitted with {@link Spindle#spawn}: its result, once it has ended.
 *
 * <p>Joining costs no system call when the task is already done (a load of its state word).
 * Otherwise a platform thread spins briefly, then sleeps on the state word with
 * {@code FUTEX_WAIT} and is woken by the worker that ends the task. A virtual thread never
 * blocks in native code (that would pin its carrier): it parks, and Spindle's completion
 * poller unparks it when the worker reports the end.
 *
 * <p>The result is copied into this object once; the descriptor goes back to the pool when
 * the last thread inside this handle's methods leaves (see {@link Handle}). Later calls
 * answer from here. Any number of threads may join the same task.
 */
public final class Task extends Handle {
    private final Spindle spindle;
    private final int index;
    private final ByteBuffer chunk;
    private final int offset;
    private long result; // written before outcome

    Task(Spindle spindle, int index) {
        this.spindle = spindle;
        this.index = index;
        this.chunk = spindle.pool.chunk(index);
        this.offset = DescriptorPool.offset(index);
    }

    /** Waits for the task to end and returns {@code fn}'s result. */
    public long join() {
        try {
            return valueOf(await(-1));
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded join timed out", e);
        }
    }

    /** Waits at most {@code timeout}; a task still running then gives a TimeoutException and stays joinable. */
    public long join(Duration timeout) throws TimeoutException {
        return valueOf(await(Timeouts.toNanos(timeout)));
    }

    /** True once the task has ended (ran or was cancelled). Never blocks. */
    public boolean isDone() {
        if (outcome != PENDING) return true;
        if (!spindle.enter()) return fromTombstone() != PENDING;
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

    /** True if shutdownNow() cancelled the task before it started. */
    public boolean isCancelled() {
        return isDone() && outcome == STATE_CANCELLED;
    }

    /**
     * A future completed with the result when the task ends. Stages that are not *Async run
     * on Spindle's completion thread: keep them short, or use the *Async variants.
     */
    public CompletableFuture<Long> toCompletableFuture() {
        CompletableFuture<Long> future = new CompletableFuture<>();
        if (!isDone()) {
            if (!spindle.enter()) {
                fromTombstone();
            } else {
                try {
                    if (use()) {
                        try {
                            // The poller calls this once the task has ended: a counted user, like a joiner.
                            CompletionPoller.Waiter waiter = () -> {
                                if (use()) {
                                    try {
                                        copyOnce();
                                    } finally {
                                        unuse();
                                    }
                                }
                                complete(future);
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
        }
        complete(future);
        return future;
    }

    private void complete(CompletableFuture<Long> future) {
        if (outcome == STATE_CANCELLED) future.completeExceptionally(cancelled());
        else if (outcome == STATE_FAILED) future.completeExceptionally(noStack());
        else future.complete(result);
    }

    // ---- waiting ------------------------------------------------------------------------------

    private int await(long timeoutNanos) throws TimeoutException {
        int o = outcome;
        if (o != PENDING) return o;
        if (!spindle.enter()) return fromTombstone();
        try {
            if (!use()) return outcome;
            try {
                if (!isFinal(lvState())) {
                    if (Thread.currentThread().isVirtual()) awaitVirtual(timeoutNanos);
                    else awaitPlatform(timeoutNanos);
                }
                return copyOnce();
            } finally {
                unuse();
            }
        } finally {
            spindle.exit();
        }
    }

    private void awaitPlatform(long timeoutNanos) throws TimeoutException {
        if (Spindle.spinUntilFinal(chunk, offset + TASK_STATE)) return;
        if (SchedNative.spn_task_wait(address(), timeoutNanos) != 0) throw timedOut(timeoutNanos);
    }

    private void awaitVirtual(long timeoutNanos) throws TimeoutException {
        Thread me = Thread.currentThread();
        CompletionPoller.Waiter waiter = () -> LockSupport.unpark(me);
        if (!registerJavaWaiter(waiter)) return; // ended meanwhile
        parkUntil(() -> isFinal(lvState()), timeoutNanos, () -> spindle.poller.unregister(address(), waiter));
    }

    /**
     * Parks until {@code done}; joins are not interruptible (as ForkJoinTask.join), but an
     * interrupt must not turn the park into a busy loop: it is set aside and restored.
     */
    static void parkUntil(java.util.function.BooleanSupplier done, long timeoutNanos, Runnable onTimeout)
            throws TimeoutException {
        long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
        boolean interrupted = false;
        try {
            while (!done.getAsBoolean()) {
                if (timeoutNanos < 0) {
                    LockSupport.park(done);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        onTimeout.run();
                        throw timedOut(timeoutNanos);
                    }
                    LockSupport.parkNanos(done, left);
                }
                interrupted |= Thread.interrupted();
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /** Register, then set the waiter bit. False if the task ended first (then nobody will call the waiter). */
    private boolean registerJavaWaiter(CompletionPoller.Waiter waiter) {
        long key = address();
        spindle.poller.register(key, waiter);
        while (true) {
            int s = lvState();
            if (isFinal(s)) {
                spindle.poller.unregister(key, waiter);
                return false;
            }
            if ((s & WAITER_JAVA) != 0 || INTS.compareAndSet(chunk, offset + TASK_STATE, s, s | WAITER_JAVA)) return true;
        }
    }

    private long address() {
        return spindle.pool.address(index);
    }

    /** The native handle (a spindle.h spn_task_t *), for native code that joins this task too. */
    long nativeHandle() {
        return address();
    }

    // ---- the outcome ----------------------------------------------------------------------------

    @Override
    int copyFromNative() {
        int s = lvState() & STATE_MASK;
        result = (long) LONGS.get(chunk, offset + TASK_RESULT);
        return s;
    }

    @Override
    void releaseNative() {
        spindle.pool.releaseRef(index);
    }

    private int fromTombstone() {
        Spindle.Tombstones t = spindle.tombstones();
        return copyOnceAfterClose(() -> {
            result = t.results[index];
            return t.states[index];
        });
    }

    private int lvState() {
        return (int) INTS.getAcquire(chunk, offset + TASK_STATE);
    }

    static boolean isFinal(int state) {
        return (state & STATE_MASK) >= STATE_DONE;
    }

    private long valueOf(int o) {
        if (o == STATE_CANCELLED) throw cancelled();
        if (o == STATE_FAILED) throw noStack();
        return result;
    }

    static IllegalStateException noStack() {
        return new IllegalStateException("the task could not start: no stack could be mapped for its green thread "
                + "(vm.max_map_count or memory exhausted); see the README on green-thread limits");
    }

    static CancellationException cancelled() {
        return new CancellationException("the task was cancelled by shutdownNow() before it started");
    }

    static TimeoutException timedOut(long nanos) {
        return new TimeoutException("still running after " + Duration.ofNanos(nanos));
    }

    @Override
    public String toString() {
        int o = outcome;
        return "Task[" + (o == STATE_DONE ? "done: " + result : o == STATE_CANCELLED ? "cancelled"
                : o == STATE_FAILED ? "failed: no stack" : "pending") + "]";
    }
}
