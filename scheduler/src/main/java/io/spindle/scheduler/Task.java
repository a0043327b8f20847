package io.spindle.scheduler;

import io.spindle.runtime.Timeouts;
import io.spindle.scheduler.internal.DescriptorPool;
import io.spindle.scheduler.internal.SchedNative;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

import static io.spindle.scheduler.internal.Layout.*;
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
    private final int index;
    private final int gen; // the descriptor's life this handle holds a reference to
    private final ByteBuffer chunk;
    private final int offset;
    private long result; // written before outcome

    Task(Spindle spindle, int index, int gen) {
        super(spindle);
        this.index = index;
        this.gen = gen;
        this.chunk = spindle.pool.chunk(index);
        this.offset = DescriptorPool.offset(index);
    }

    /**
     * Waits for the task to end and returns {@code fn}'s result. Not interruptible (as
     * ForkJoinTask.join): an interrupt is kept for later and the wait goes on; use
     * {@link #joinInterruptibly()} to give up on an interrupt instead.
     */
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

    /**
     * Waits for the task to end, as {@link #join()}, but an interrupt ends the wait with
     * InterruptedException; the task runs on and stays joinable.
     */
    public long joinInterruptibly() throws InterruptedException {
        try {
            return valueOf(awaitInterruptibly(-1));
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded join timed out", e);
        }
    }

    /** At most {@code timeout}, and an interrupt ends the wait with InterruptedException. */
    public long joinInterruptibly(Duration timeout) throws InterruptedException, TimeoutException {
        return valueOf(awaitInterruptibly(Timeouts.toNanos(timeout)));
    }

    /** True once the task has ended (ran or was cancelled). Never blocks. */
    public boolean isDone() {
        return done();
    }

    /** True if shutdownNow() cancelled the task before it started. */
    public boolean isCancelled() {
        return isDone() && outcome == STATE_CANCELLED;
    }

    /**
     * A future completed with the result when the task ends. Stages that are not *Async run
     * on a virtual thread of the runtime's (or on the caller, if the task had ended already),
     * never on Spindle's completion poller: a stage may block, join other tasks, or close the
     * runtime.
     */
    public CompletableFuture<Long> toCompletableFuture() {
        return future(this::complete);
    }

    private void complete(CompletableFuture<Long> future) {
        if (outcome == STATE_CANCELLED) future.completeExceptionally(cancelled());
        else if (outcome == STATE_FAILED) future.completeExceptionally(noStack());
        else if (outcome == STATE_CRASHED) future.completeExceptionally(crashed());
        else future.complete(result);
    }

    @Override
    ByteBuffer stateBuffer() {
        return chunk;
    }

    @Override
    int stateOffset() {
        return offset + TASK_STATE;
    }

    @Override
    long waiterKey() {
        return address();
    }

    @Override
    int waitNative(long timeoutNanos) {
        return SchedNative.spn_task_wait(spindle.sched, address(), timeoutNanos);
    }

    @Override
    int outcomeAfterClose() {
        return fromTombstone();
    }

    private long address() {
        return spindle.pool.address(index);
    }

    /**
     * The spindle.h handle of this task, for native code that waits for it too: native code
     * must spn_retain it first and give back only what it retained (Java holds this one).
     */
    long nativeHandle() {
        return DescriptorPool.handle(index, gen);
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
        dropHold();
        if (!spindle.pool.releaseJavaRef(index, gen)) {
            // Native code gave back a reference Java holds (spn_join or spn_detach of an adopted
            // handle): nothing to release, and nothing of another task's touched.
            throw new IllegalStateException("the native handle 0x" + Long.toHexString(nativeHandle())
                    + " was given back by native code although this Task holds it");
        }
    }

    private int fromTombstone() {
        Spindle.Tombstones t = spindle.tombstones();
        return copyOnceAfterClose(() -> {
            result = t.results[index];
            return t.states[index];
        });
    }

    private long valueOf(int o) {
        if (o == STATE_CANCELLED) throw cancelled();
        if (o == STATE_FAILED) throw noStack();
        if (o == STATE_CRASHED) throw crashed();
        return result;
    }

    /** An isolated pool's child died while it had the task; result holds which crash. */
    private TaskCrashedException crashed() {
        return spindle.crashed(result, "the task did not end");
    }

    static IllegalStateException noStack() {
        return new IllegalStateException("the task could not start: no stack could be mapped for its green thread "
                + "(vm.max_map_count or memory exhausted); see the README on green-thread limits");
    }

    static CancellationException cancelled() {
        return new CancellationException("the task was cancelled by shutdownNow() before it started");
    }

    @Override
    public String toString() {
        int o = outcome;
        return "Task[" + (o == STATE_DONE ? "done: " + result : o == STATE_CANCELLED ? "cancelled"
                : o == STATE_FAILED ? "failed: no stack" : o == STATE_CRASHED ? "crashed" : "pending") + "]";
    }
}
