package io.spindle.scheduler;

import com.sun.jna.Pointer;
import io.spindle.scheduler.internal.Memory;
import io.spindle.scheduler.internal.SchedNative;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A block of an isolated pool's shared memory ({@link Spindle#allocateShared}): the only
 * memory its tasks can read or write, at the same address in the JVM and in the child. Pass it
 * (or an address inside it) as a pointer argument. {@link #close()} gives it back; use it no
 * more after that, nor after the pool closed.
 */
public final class SharedMemory implements PointerArgument, AutoCloseable {
    private final Spindle pool;
    private final long address;
    private final long size;
    private final AtomicBoolean freed = new AtomicBoolean();

    SharedMemory(Spindle pool, long address, long size) {
        this.pool = pool;
        this.address = address;
        this.size = size;
    }

    @Override
    public long address() {
        return address;
    }

    public long size() {
        return size;
    }

    /** A view of the whole block, in native byte order. */
    public ByteBuffer asByteBuffer() {
        return Memory.map(address, size);
    }

    /** The block as a JNA Pointer, for code that wants one. */
    public Pointer pointer() {
        return new Pointer(address);
    }

    /** Gives the block back to the pool; a second close does nothing. */
    @Override
    public void close() {
        if (freed.compareAndSet(false, true)) pool.freeShared(address);
    }

    @Override
    public String toString() {
        return "SharedMemory[0x" + Long.toHexString(address) + ", " + size + " bytes" + (freed.get() ? ", freed" : "") + "]";
    }

    static long inUse(long region) {
        return SchedNative.spn_shared_in_use(region);
    }
}
