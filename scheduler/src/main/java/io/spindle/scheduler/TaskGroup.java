package io.spindle.scheduler;

import io.spindle.runtime.Timeouts;
import io.spindle.scheduler.internal.SchedNative;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.BitSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;

import static io.spindle.scheduler.internal.Layout.*;
import static io.spindle.scheduler.internal.Memory.INTS;

/**
 * A batch submitted with {@link Spindle#spawnAll}: one handle and one native allocation for
 * all of its tasks. Each task writes its own result slot; the last one to end marks the
 * group done and wakes its joiners, exactly as a single task does (futex for platform
 * threads, the completion poller for virtual threads and futures).
 *
 * <p>The results are copied to the heap once; the native block is freed when the last
 * thread inside this handle's methods leaves (see {@link Handle}).
 */
public final class TaskGroup extends Handle {
    private final long address;
    private final ByteBuffer buffer;
    private final int size;
    private final int refused;
    private final int rowStride;    // bytes per row: 8 for spawnAll, a call row for callAll
    private final int resultOffset; // the result slot in a row, or -1 when there is none (void)
    private long[] results; // written before outcome
    private BitSet skipped; // tasks that never ran, when the outcome is CANCELLED

    TaskGroup(Spindle spindle, long address, ByteBuffer buffer, int size, int refused, int rowStride, int resultOffset) {
        super(spindle);
        this.address = address;
        this.buffer = buffer;
        this.size = size;
        this.refused = refused;
        this.rowStride = rowStride;
        this.resultOffset = resultOffset;
    }

    /** An empty batch: done at once with no results, and nothing native to wait on or free. */
    private TaskGroup(Spindle spindle) {
        super(spindle);
        this.address = 0;
        this.buffer = null;
        this.size = 0;
        this.refused = 0;
        this.rowStride = 8;
        this.resultOffset = 0;
        this.results = new long[0];
        settleWithoutNativePart(STATE_DONE); // after results: outcome publishes them
    }

    static TaskGroup empty(Spindle spindle) {
        return new TaskGroup(spindle);
    }

    public int size() {
        return size;
    }

    /**
     * Waits for every task; returns their results in argument order. Throws
     * {@link BatchCancelledException} (with the results of the tasks that did run) if some
     * never ran. Not interruptible; see {@link #joinInterruptibly()}.
     */
    public long[] join() {
        try {
            return valueOf(await(-1));
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded join timed out", e);
        }
    }

    public long[] join(Duration timeout) throws TimeoutException {
        return valueOf(await(Timeouts.toNanos(timeout)));
    }

    /** As {@link #join()}, but an interrupt ends the wait with InterruptedException. */
    public long[] joinInterruptibly() throws InterruptedException {
        try {
            return valueOf(awaitInterruptibly(-1));
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded join timed out", e);
        }
    }

    public long[] joinInterruptibly(Duration timeout) throws InterruptedException, TimeoutException {
        return valueOf(awaitInterruptibly(Timeouts.toNanos(timeout)));
    }

    /** True once every task has ended. */
    public boolean isDone() {
        return done();
    }

    /** A future completed with the results (or cancelled) when every task has ended. */
    public CompletableFuture<long[]> toCompletableFuture() {
        return future(this::complete);
    }

    private void complete(CompletableFuture<long[]> future) {
        if (outcome == STATE_CANCELLED) future.completeExceptionally(cancelled());
        else if (outcome == STATE_CRASHED) future.completeExceptionally(spindle.crashedBatch());
        else future.complete(results.clone());
    }

    @Override
    ByteBuffer stateBuffer() {
        return buffer;
    }

    @Override
    int stateOffset() {
        return GROUP_STATE;
    }

    /** Groups are tagged with the low bit in the completion ring. */
    @Override
    long waiterKey() {
        return address | 1;
    }

    @Override
    int waitNative(long timeoutNanos) {
        return SchedNative.spn_group_wait(spindle.sched, address, timeoutNanos);
    }

    @Override
    int outcomeAfterClose() {
        spindle.tombstones(); // close() copied every live group before publishing these
        return outcome;
    }

    @Override
    int copyFromNative() {
        long[] r = new long[size];
        // After the final state was read (acquire), so every task's result is visible.
        if (rowStride == 8 && resultOffset == 0) {
            buffer.slice(GROUP_RESULTS, 8 * size).order(ByteOrder.nativeOrder()).asLongBuffer().get(r);
        } else if (resultOffset >= 0) {
            for (int i = 0, at = GROUP_RESULTS + resultOffset; i < size; i++, at += rowStride) r[i] = buffer.getLong(at);
        }
        int cancelledWord = (int) INTS.getVolatile(buffer, GROUP_CANCELLED);
        boolean crashed = (lvState() & STATE_MASK) == STATE_CRASHED || cancelledWord == GROUP_CRASHED;
        boolean cancelled = crashed || (lvState() & STATE_MASK) == STATE_CANCELLED || cancelledWord != 0;
        if (cancelled) {
            BitSet never = new BitSet(size);
            int marks = GROUP_RESULTS + rowStride * size;
            for (int i = 0; i < size; i++) {
                if (buffer.get(marks + i) != 0) {
                    never.set(i);
                    r[i] = 0; // it still holds the task's argument, or nothing
                }
            }
            skipped = never;
        }
        results = r;
        return crashed ? STATE_CRASHED : cancelled ? STATE_CANCELLED : STATE_DONE;
    }

    @Override
    void releaseNative() {
        dropHold();
        spindle.liveGroups.remove(this);
        SchedNative.spn_group_destroy(spindle.sched, address);
    }

    /** close(): every task has ended and nobody is inside; copy the results and free the block. */
    void detachFromNative() {
        copyOnce();
        releaseNow();
    }

    private long[] valueOf(int o) {
        if (o == STATE_CANCELLED) throw cancelled();
        if (o == STATE_CRASHED) throw spindle.crashedBatch();
        return results.clone();
    }

    private BatchCancelledException cancelled() {
        String why = refused > 0
                ? refused + " of " + size + " tasks were refused because the runtime closed during spawnAll"
                : skipped.cardinality() + " of " + size + " tasks were cancelled by shutdownNow() before they started";
        return new BatchCancelledException(why + "; the results of the others are kept", results.clone(), skipped);
    }

    @Override
    public String toString() {
        long[] r = outcome == STATE_DONE ? results : null;
        return "TaskGroup[" + size + " tasks, " + (r == null ? (outcome == PENDING ? "pending" : "cancelled")
                : "done: " + Arrays.toString(Arrays.copyOf(r, Math.min(4, r.length))) + (size > 4 ? "..." : "")) + "]";
    }
}
