package io.spindle.scheduler;

import io.spindle.scheduler.internal.CompletionPoller;
import io.spindle.scheduler.internal.SchedNative;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

import static io.spindle.scheduler.internal.Layout.*;
import static io.spindle.scheduler.internal.Memory.INTS;
import static io.spindle.scheduler.internal.Memory.LONGS;

/**
 * A batch submitted with {@link Spindle#spawnAll}: one handle and one native allocation for
 * all of its tasks. Each task writes its own result slot; the last one to end marks the
 * group done and wakes its joiners, exactly as a single task does (futex for platform
 * threads, the completion poller for virtual threads and futures).
 *
 * <p>The first join copies the results to the Java heap and frees the native block.
 */
public final class TaskGroup {
    private final Spindle spindle;
    private final int size;
    private final int refused;
    // Guarded by this: the native block until the results are copied out.
    private long address;
    private ByteBuffer buffer;
    private long[] results;
    private boolean cancelled;

    TaskGroup(Spindle spindle, long address, ByteBuffer buffer, int size, int refused) {
        this.spindle = spindle;
        this.address = address;
        this.buffer = buffer;
        this.size = size;
        this.refused = refused;
    }

    public int size() {
        return size;
    }

    /** Waits for every task; returns their results in argument order. */
    public long[] join() {
        try {
            return join(-1);
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded join timed out", e);
        }
    }

    public long[] join(Duration timeout) throws TimeoutException {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) throw new IllegalArgumentException("join timeout is negative: " + timeout);
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            nanos = Long.MAX_VALUE;
        }
        return join(nanos);
    }

    private long[] join(long timeoutNanos) throws TimeoutException {
        long[] r = collected();
        if (r == null) {
            if (!spindle.enter()) {
                r = collectedAfterClose();
            } else {
                try {
                    await(timeoutNanos);
                    r = collect();
                } finally {
                    spindle.exit();
                }
            }
        }
        if (cancelledOutcome()) {
            throw new CancellationException(refused > 0
                    ? refused + " of " + size + " tasks were refused because the runtime closed during spawnAll"
                    : "some tasks of the group were cancelled by shutdownNow() before they started");
        }
        return r.clone();
    }

    /** True once every task has ended. */
    public boolean isDone() {
        if (collected() != null) return true;
        if (!spindle.enter()) return collectedAfterClose() != null;
        try {
            if (!Task.isFinal(lvState())) return false;
            collect();
            return true;
        } finally {
            spindle.exit();
        }
    }

    /** A future completed with the results (or cancelled) when every task has ended. */
    public CompletableFuture<long[]> toCompletableFuture() {
        CompletableFuture<long[]> future = new CompletableFuture<>();
        if (!isDone()) {
            if (spindle.enter()) {
                try {
                    CompletionPoller.Waiter waiter = () -> complete(future);
                    if (registerJavaWaiter(waiter)) return future;
                } finally {
                    spindle.exit();
                }
            }
        }
        complete(future);
        return future;
    }

    private void complete(CompletableFuture<long[]> future) {
        try {
            future.complete(join());
        } catch (CancellationException e) {
            future.completeExceptionally(e);
        }
    }

    private void await(long timeoutNanos) throws TimeoutException {
        if (Task.isFinal(lvState())) return;
        if (Thread.currentThread().isVirtual()) {
            Thread me = Thread.currentThread();
            CompletionPoller.Waiter waiter = () -> LockSupport.unpark(me);
            if (!registerJavaWaiter(waiter)) return;
            long deadline = timeoutNanos < 0 ? 0 : System.nanoTime() + timeoutNanos;
            while (!Task.isFinal(lvState())) {
                if (timeoutNanos < 0) {
                    LockSupport.park(this);
                } else {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        spindle.poller.unregister(key(), waiter);
                        throw new TimeoutException("group still running after " + Duration.ofNanos(timeoutNanos));
                    }
                    LockSupport.parkNanos(this, left);
                }
            }
            return;
        }
        for (int i = 0; i < Spindle.JOIN_SPINS; i++) {
            if (Task.isFinal(lvState())) return;
            Thread.onSpinWait();
        }
        if (SchedNative.spn_group_wait(nativeAddress(), timeoutNanos) != 0) {
            throw new TimeoutException("group still running after " + Duration.ofNanos(timeoutNanos));
        }
    }

    private boolean registerJavaWaiter(CompletionPoller.Waiter waiter) {
        spindle.poller.register(key(), waiter);
        while (true) {
            int s = lvState();
            if (Task.isFinal(s)) {
                spindle.poller.unregister(key(), waiter);
                return false;
            }
            if ((s & WAITER_JAVA) != 0 || INTS.compareAndSet(nativeBuffer(), GROUP_STATE, s, s | WAITER_JAVA)) return true;
        }
    }

    /** Groups are tagged with the low bit in the completion ring. */
    private long key() {
        return nativeAddress() | 1;
    }

    private synchronized long nativeAddress() {
        return address;
    }

    private synchronized ByteBuffer nativeBuffer() {
        return buffer;
    }

    private int lvState() {
        return (int) INTS.getAcquire(nativeBuffer(), GROUP_STATE);
    }

    private synchronized long[] collected() {
        return results;
    }

    private synchronized boolean cancelledOutcome() {
        return cancelled;
    }

    /** Copies the results out and frees the native block; the group must have ended. */
    private synchronized long[] collect() {
        if (results != null) return results;
        long[] r = new long[size];
        for (int i = 0; i < size; i++) r[i] = (long) LONGS.get(buffer, GROUP_RESULTS + 8 * i);
        cancelled = ((int) INTS.getAcquire(buffer, GROUP_STATE) & STATE_MASK) == STATE_CANCELLED
                || (int) INTS.getVolatile(buffer, GROUP_CANCELLED) != 0;
        results = r;
        SchedNative.spn_group_destroy(address);
        spindle.liveGroups.remove(this);
        address = 0;
        buffer = null;
        return r;
    }

    /** Called by close() after every task ended and before the runtime's memory is freed. */
    synchronized void detachFromNative() {
        if (results == null) collect();
    }

    private long[] collectedAfterClose() {
        spindle.tombstones(); // close() collected every live group before publishing these
        return collected();
    }

    @Override
    public String toString() {
        long[] r = collected();
        return "TaskGroup[" + size + " tasks, " + (r == null ? "pending" : "done: " + Arrays.toString(Arrays.copyOf(r, Math.min(4, r.length))) + (size > 4 ? "..." : "")) + "]";
    }
}
