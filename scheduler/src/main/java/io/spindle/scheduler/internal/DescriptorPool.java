package io.spindle.scheduler.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.locks.LockSupport;

import static io.spindle.scheduler.internal.Layout.*;
import static io.spindle.scheduler.internal.Memory.INTS;
import static io.spindle.scheduler.internal.Memory.LONGS;

/**
 * Task descriptors (one cache line each, {@code struct spn_task}) in chunks of
 * {@link Layout#POOL_CHUNK}, recycled through the Treiber stack whose head lives in the
 * scheduler's control block. Java pops (spawn) and pushes (a handle that read its result);
 * C workers pop (spn_spawn) and push (a run that ended with no handle left). Chunks are added
 * by C ({@code spn_pool_grow}) and mapped here when an index from a new chunk turns up.
 * <b>Internal.</b>
 *
 * <p>The head packs a tag with {@code index + 1}; the tag advances on every change, so a pop
 * that read a successor which was popped and pushed back meanwhile fails its cas (ABA).
 * Reading that successor is always safe: chunks stay mapped until the runtime is freed.
 */
public final class DescriptorPool {
    private final long sched;
    private final ByteBuffer control;
    // Copy-on-grow, published by the volatile write: a chunk's buffer is visible here before
    // any of its descriptors can be popped (grow() records it, then pushes the chunk).
    private volatile ByteBuffer[] chunks = new ByteBuffer[0];
    private volatile long[] chunkAddresses = new long[0];

    public DescriptorPool(long sched, ByteBuffer control) {
        this.sched = sched;
        this.control = control;
    }

    public ByteBuffer chunk(int index) {
        int c = index >>> POOL_CHUNK_SHIFT;
        ByteBuffer[] known = chunks;
        return c < known.length ? known[c] : refresh()[c];
    }

    public static int offset(int index) {
        return (index & (POOL_CHUNK - 1)) << TASK_SHIFT;
    }

    /** Where descriptor {@code index}'s typed call row starts in its {@link #chunk}. */
    public static int callRowOffset(int index) {
        return POOL_CALL_ROWS + (index & (POOL_CHUNK - 1)) * CALL_SIZE;
    }

    /** The native address of descriptor {@code index}'s typed call row. */
    public long callRowAddress(int index) {
        return address(index) - offset(index) + callRowOffset(index);
    }

    public long address(int index) {
        int c = index >>> POOL_CHUNK_SHIFT;
        long[] known = chunkAddresses;
        if (c >= known.length) {
            refresh();
            known = chunkAddresses;
        }
        return known[c] + offset(index);
    }

    /** A free descriptor's index, or -1 when the pool is at its limit and none is free. */
    public int tryAcquire() {
        while (true) {
            final long head = (long) LONGS.getAcquire(control, SCHED_POOL_HEAD);
            final int top = (int) head; // index + 1, 0 when empty
            if (top == 0) {
                if (!grow()) return -1;
                continue;
            }
            final int index = top - 1;
            // Racy read: if the descriptor was popped meanwhile, the tag makes the cas fail.
            final int next = (int) INTS.getAcquire(chunk(index), offset(index) + TASK_NEXT_FREE);
            final long newHead = (((head >>> 32) + 1) << 32) | (next & 0xffffffffL);
            if (LONGS.compareAndSet(control, SCHED_POOL_HEAD, head, newHead)) return index;
        }
    }

    /** Spin a little, then yield, then sleep up to 1 ms: for waits no one will signal. */
    public static void backOff(int attempt) {
        if (attempt < 64) Thread.onSpinWait();
        else if (attempt < 128) Thread.yield();
        else LockSupport.parkNanos(Math.min(1_000_000L, 1_000L << Math.min(10, (attempt - 128) / 16)));
    }

    /**
     * Starts a descriptor's next life: advances its generation and sets its owners (refs).
     * The descriptor is the caller's alone (just popped), so plain writes do; the ring's
     * release store publishes them. Returns the new generation.
     */
    public int begin(int index, int refs) {
        ByteBuffer chunk = chunk(index);
        int offset = offset(index);
        int gen = (int) INTS.get(chunk, offset + TASK_GEN) + 1;
        // Opaque: one atomic 64-bit store (a plain one may tear, and a stale handle may read
        // the word at any time); the ring's release store still orders it.
        LONGS.setOpaque(chunk, offset + TASK_OWNERS, (long) gen << 32 | (refs & 0xffffffffL));
        return gen;
    }

    /** The spindle.h handle of a descriptor's life: {@code gen << 32 | index + 1}. */
    public static long handle(int index, int gen) {
        return (long) gen << 32 | (index + 1);
    }

    /**
     * A Java Task gives back the handle reference it holds (its own, or one it adopted). The
     * last owner pushes the descriptor back. False if the reference was not there to give:
     * a bug in the caller, never a reason to touch the descriptor.
     */
    public boolean releaseJavaRef(int index, int gen) {
        ByteBuffer chunk = chunk(index);
        int offset = offset(index);
        while (true) {
            final long owners = (long) LONGS.getAcquire(chunk, offset + TASK_OWNERS);
            final int refs = (int) owners;
            if ((int) (owners >>> 32) != gen || (refs & REF_HANDLE_MASK) == 0 || (refs & REF_JAVA_MASK) == 0) {
                return false;
            }
            if (LONGS.compareAndSet(chunk, offset + TASK_OWNERS, owners, owners - REF_HANDLE - REF_JAVA)) {
                if (refs == REF_HANDLE + REF_JAVA) push(chunk, offset, index);
                return true;
            }
        }
    }

    /**
     * Java takes over one handle reference that native code holds ({@code Spindle.adopt}).
     * Returns the descriptor's index, or -1 if {@code handle} names no reference native code
     * may still hand over: not one of ours, given back already, or every handle reference of
     * that life already held by a Java Task (adopted twice).
     */
    public int adopt(long handle) {
        int indexPlusOne = (int) handle;
        int gen = (int) (handle >>> 32);
        if (indexPlusOne <= 0 || indexPlusOne > capacity()) return -1;
        int index = indexPlusOne - 1;
        ByteBuffer chunk = chunk(index);
        int offset = offset(index);
        while (true) {
            final long owners = (long) LONGS.getAcquire(chunk, offset + TASK_OWNERS);
            final int refs = (int) owners;
            int handles = (refs & REF_HANDLE_MASK) / REF_HANDLE;
            int java = (refs & REF_JAVA_MASK) >>> 23;
            if ((int) (owners >>> 32) != gen || handles <= java) return -1;
            if (java == REF_JAVA_MASK >>> 23) throw new IllegalStateException("511 Java Tasks already hold this task's handles");
            if (LONGS.compareAndSet(chunk, offset + TASK_OWNERS, owners, owners + REF_JAVA)) return index;
        }
    }

    public int gen(int index) {
        return (int) INTS.getVolatile(chunk(index), offset(index) + TASK_GEN);
    }

    /** Returns a descriptor that was never published (its offer was refused): nobody owns it. */
    public void discard(int index) {
        ByteBuffer chunk = chunk(index);
        int offset = offset(index);
        // Its life ends unseen: no handle may name it. The whole owners word, as everywhere.
        LONGS.setOpaque(chunk, offset + TASK_OWNERS, (long) (int) INTS.get(chunk, offset + TASK_GEN) << 32);
        push(chunk, offset, index);
    }

    private void push(ByteBuffer chunk, int offset, int index) {
        INTS.set(chunk, offset + TASK_STATE, 0);
        while (true) {
            final long head = (long) LONGS.getAcquire(control, SCHED_POOL_HEAD);
            INTS.setRelease(chunk, offset + TASK_NEXT_FREE, (int) head);
            final long newHead = (((head >>> 32) + 1) << 32) | ((index + 1) & 0xffffffffL);
            if (LONGS.compareAndSet(control, SCHED_POOL_HEAD, head, newHead)) return;
        }
    }

    private boolean grow() {
        // C adds the chunk (workers grow the pool too, from spn_spawn); we map it when we meet it.
        return SchedNative.spn_pool_grow(sched) != 0;
    }

    /** Maps the chunks C added since we last looked (their table is published before use). */
    private synchronized ByteBuffer[] refresh() {
        int count = (int) (long) LONGS.getAcquire(control, SCHED_POOL_CHUNK_COUNT);
        ByteBuffer[] known = chunks;
        if (count <= known.length) return known;
        ByteBuffer[] grownChunks = Arrays.copyOf(known, count);
        long[] grownAddresses = Arrays.copyOf(chunkAddresses, count);
        for (int c = known.length; c < count; c++) {
            long address = (long) LONGS.getAcquire(control, SCHED_CHUNKS + 8 * c);
            grownChunks[c] = Memory.map(address, POOL_CHUNK_BYTES); // descriptors, then call rows
            grownAddresses[c] = address;
        }
        chunkAddresses = grownAddresses;
        chunks = grownChunks;
        return grownChunks;
    }

    /** Descriptors still owned (refs > 0) and their final word, for the tombstones at close. */
    public int refs(int index) {
        return (int) (long) LONGS.getVolatile(chunk(index), offset(index) + TASK_OWNERS);
    }

    public int state(int index) {
        return (int) INTS.getVolatile(chunk(index), offset(index) + TASK_STATE);
    }

    public long result(int index) {
        return (long) LONGS.get(chunk(index), offset(index) + TASK_RESULT);
    }

    public int capacity() {
        return refresh().length * POOL_CHUNK;
    }
}
