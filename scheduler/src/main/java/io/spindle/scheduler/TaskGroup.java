package io.spindle.scheduler;

import io.spindle.runtime.Timeouts;
import io.spindle.scheduler.internal.CompletionPoller;
import io.spindle.scheduler.internal.SchedNative;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
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
 * <p>The results are copied to the heap once; the native block is freed when the last
 * thread inside this handle's methods leaves (see {@link Handle}).
 */
public final class TaskGroup extends Handle {
    private final Spindle spindle;
    private final long address;
    private final ByteBuffer buffer;
    private final int size;
    private final int refused;
    private long[] results; // written before outcome

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
            return valueOf(await(-1));
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded join timed out", e);
        }
    }

    public long[] join(Duration timeout) throws TimeoutException {
        return valueOf(await(Timeouts.toNanos(timeout)));
    }

    /** True once every task has ended. */
    public boolean isDone() {
        if (outcome != PENDING) return true;
        if (!spindle.enter()) return afterClose() != PENDING;
        try {
            if (!use()) return true;
            try {
                return Task.isFinal(lvState()) && copyOnce() != PENDING;
            } finally {
                unuse();
            }
        } finally {
            spindle.exit();
        }
    }

    /** A future completed with the results (or cancelled) when every task has ended. */
    public CompletableFuture<long[]> toCompletableFuture() {
        CompletableFuture<long[]> future = new CompletableFuture<>();
        if (!isDone() && spindle.enter()) {
            try {
                if (use()) {
                    try {
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
        isDone(); // after close: from what close() copied
        complete(future);
        return future;
    }

    private void complete(CompletableFuture<long[]> future) {
        if (outcome == STATE_CANCELLED) future.completeExceptionally(cancelled());
        else future.complete(results.clone());
    }

    private int await(long timeoutNanos) throws TimeoutException {
        int o = outcome;
        if (o != PENDING) return o;
        if (!spindle.enter()) return afterClose();
        try {
            if (!use()) return outcome;
            try {
                if (!Task.isFinal(lvState())) {
                    if (Thread.currentThread().isVirtual()) {
                        Thread me = Thread.currentThread();
                        CompletionPoller.Waiter waiter = () -> LockSupport.unpark(me);
                        if (registerJavaWaiter(waiter)) {
                            Task.parkUntil(() -> Task.isFinal(lvState()), timeoutNanos,
                                    () -> spindle.poller.unregister(key(), waiter));
                        }
                    } else {
                        awaitPlatform(timeoutNanos);
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

    private void awaitPlatform(long timeoutNanos) throws TimeoutException {
        if (Spindle.spinUntilFinal(buffer, GROUP_STATE)) return;
        if (SchedNative.spn_group_wait(address, timeoutNanos) != 0) throw Task.timedOut(timeoutNanos);
    }

    private boolean registerJavaWaiter(CompletionPoller.Waiter waiter) {
        spindle.poller.register(key(), waiter);
        while (true) {
            int s = lvState();
            if (Task.isFinal(s)) {
                spindle.poller.unregister(key(), waiter);
                return false;
            }
            if ((s & WAITER_JAVA) != 0 || INTS.compareAndSet(buffer, GROUP_STATE, s, s | WAITER_JAVA)) return true;
        }
    }

    /** Groups are tagged with the low bit in the completion ring. */
    private long key() {
        return address | 1;
    }

    private int lvState() {
        return (int) INTS.getAcquire(buffer, GROUP_STATE);
    }

    @Override
    int copyFromNative() {
        long[] r = new long[size];
        for (int i = 0; i < size; i++) r[i] = (long) LONGS.get(buffer, GROUP_RESULTS + 8 * i);
        results = r;
        boolean cancelled = (lvState() & STATE_MASK) == STATE_CANCELLED || (int) INTS.getVolatile(buffer, GROUP_CANCELLED) != 0;
        return cancelled ? STATE_CANCELLED : STATE_DONE;
    }

    @Override
    void releaseNative() {
        spindle.liveGroups.remove(this);
        SchedNative.spn_group_destroy(address);
    }

    /** close(): every task has ended and nobody is inside; copy the results and free the block. */
    void detachFromNative() {
        copyOnce();
        releaseNow();
    }

    private int afterClose() {
        spindle.tombstones(); // close() copied every live group before publishing these
        return outcome;
    }

    private long[] valueOf(int o) {
        if (o == STATE_CANCELLED) throw cancelled();
        return results.clone();
    }

    private CancellationException cancelled() {
        return new CancellationException(refused > 0
                ? refused + " of " + size + " tasks were refused because the runtime closed during spawnAll"
                : "tasks of the group were cancelled by shutdownNow() before they started");
    }

    @Override
    public String toString() {
        long[] r = outcome == STATE_DONE ? results : null;
        return "TaskGroup[" + size + " tasks, " + (r == null ? (outcome == PENDING ? "pending" : "cancelled")
                : "done: " + Arrays.toString(Arrays.copyOf(r, Math.min(4, r.length))) + (size > 4 ? "..." : "")) + "]";
    }
}
