package io.spindle.scheduler;

import io.spindle.scheduler.internal.CompletionPoller;
import io.spindle.scheduler.internal.DescriptorPool;
import io.spindle.scheduler.internal.SchedNative;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
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
 * <p>The first join (or {@link #isDone()} that finds it done) copies the result into this
 * object and returns the descriptor to the pool; later calls answer from here.
 */
public final class Task {
    private static final VarHandle COLLECTING;
    private static final int PENDING = 0;

    static {
        try {
            COLLECTING = MethodHandles.lookup().findVarHandle(Task.class, "collecting", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Spindle spindle;
    private final int index;
    private final ByteBuffer chunk;
    private final int offset;

    @SuppressWarnings("unused") // through COLLECTING
    private volatile int collecting;
    private volatile int outcome = PENDING; // STATE_DONE or STATE_CANCELLED once collected
    private long result;                    // written before outcome

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
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) throw new IllegalArgumentException("join timeout is negative: " + timeout);
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            nanos = Long.MAX_VALUE;
        }
        return valueOf(await(nanos));
    }

    /** True once the task has ended (ran or was cancelled). Never blocks. */
    public boolean isDone() {
        if (outcome != PENDING) return true;
        if (!spindle.enter()) return fromTombstone() != PENDING;
        try {
            return isFinal(lvState()) && collect() != PENDING;
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
        if (isDone()) {
            complete(future);
            return future;
        }
        if (!spindle.enter()) {
            fromTombstone();
            complete(future);
            return future;
        }
        try {
            CompletionPoller.Waiter waiter = () -> complete(future);
            if (registerJavaWaiter(waiter)) return future;
            collect();
            complete(future);
            return future;
        } finally {
            spindle.exit();
        }
    }

    private void complete(CompletableFuture<Long> future) {
        int o = collect();
        if (o == STATE_CANCELLED) future.completeExceptionally(cancelled());
        else future.complete(result);
    }

    // ---- waiting ------------------------------------------------------------------------------

    private int await(long timeoutNanos) throws TimeoutException {
        int o = outcome;
        if (o != PENDING) return o;
        if (!spindle.enter()) return fromTombstone();
        try {
            if (!isFinal(lvState())) {
                if (Thread.currentThread().isVirtual()) awaitVirtual(timeoutNanos);
                else awaitPlatform(timeoutNanos);
            }
            return collect();
        } finally {
            spindle.exit();
        }
    }

    private void awaitPlatform(long timeoutNanos) throws TimeoutException {
        for (int i = 0; i < Spindle.JOIN_SPINS; i++) {
            if (isFinal(lvState())) return;
            Thread.onSpinWait();
        }
        if (SchedNative.spn_task_wait(spindle.pool.address(index), timeoutNanos) != 0) throw timedOut(timeoutNanos);
    }

    private void awaitVirtual(long timeoutNanos) throws TimeoutException {
        Thread me = Thread.currentThread();
        CompletionPoller.Waiter waiter = () -> LockSupport.unpark(me);
        if (!registerJavaWaiter(waiter)) return; // ended meanwhile
        long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
        while (!isFinal(lvState())) {
            if (timeoutNanos < 0) {
                LockSupport.park(this);
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    spindle.poller.unregister(key(), waiter);
                    throw timedOut(timeoutNanos);
                }
                LockSupport.parkNanos(this, left);
            }
        }
    }

    /** Register, then set the waiter bit. False if the task ended first (then nobody will call the waiter). */
    private boolean registerJavaWaiter(CompletionPoller.Waiter waiter) {
        spindle.poller.register(key(), waiter);
        while (true) {
            int s = lvState();
            if (isFinal(s)) {
                spindle.poller.unregister(key(), waiter);
                return false;
            }
            if ((s & WAITER_JAVA) != 0 || INTS.compareAndSet(chunk, offset + TASK_STATE, s, s | WAITER_JAVA)) return true;
        }
    }

    private long key() {
        return spindle.pool.address(index);
    }

    // ---- collecting the result ----------------------------------------------------------------

    /** Once the task is final: copy its outcome here (once) and give the descriptor back. */
    private int collect() {
        int o = outcome;
        if (o != PENDING) return o;
        if (COLLECTING.compareAndSet(this, 0, 1)) {
            int s = lvState() & STATE_MASK;
            result = (long) LONGS.get(chunk, offset + TASK_RESULT);
            outcome = s;
            spindle.pool.releaseRef(index);
            return s;
        }
        while ((o = outcome) == PENDING) Thread.onSpinWait(); // another thread is copying it
        return o;
    }

    private int fromTombstone() {
        int o = outcome;
        if (o != PENDING) return o;
        Spindle.Tombstones t = spindle.tombstones();
        if (COLLECTING.compareAndSet(this, 0, 1)) {
            result = t.results[index];
            outcome = t.states[index];
            return outcome;
        }
        while ((o = outcome) == PENDING) Thread.onSpinWait();
        return o;
    }

    private int lvState() {
        return (int) INTS.getAcquire(chunk, offset + TASK_STATE);
    }

    static boolean isFinal(int state) {
        return (state & STATE_MASK) >= STATE_DONE;
    }

    private long valueOf(int o) {
        if (o == STATE_CANCELLED) throw cancelled();
        return result;
    }

    private static CancellationException cancelled() {
        return new CancellationException("the task was cancelled by shutdownNow() before it started");
    }

    private static TimeoutException timedOut(long nanos) {
        return new TimeoutException("task still running after " + Duration.ofNanos(nanos));
    }

    @Override
    public String toString() {
        int o = outcome;
        return "Task[" + (o == STATE_DONE ? "done: " + result : o == STATE_CANCELLED ? "cancelled" : "pending") + "]";
    }
}
