package io.spindle.scheduler.internal;

import com.sun.jna.Pointer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Java's view of off-heap memory: direct ByteBuffers over native addresses and VarHandles
 * that give them JCTools' access modes ({@code lv} = getAcquire, {@code so} = setRelease,
 * {@code sv} = setVolatile, {@code lp}/{@code sp} = plain, {@code cas}). <b>Internal.</b>
 *
 * <p>Why ByteBuffer views and not {@code java.lang.foreign}: Spindle compiles for Java 21,
 * where the FFM API is still a preview. Atomic access modes on byte-buffer views need
 * aligned offsets, which every layout in {@code spindle_sched.h} provides.
 */
public final class Memory {
    public static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    public static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

    private Memory() {}

    /** A direct buffer over {@code size} bytes at {@code address}. */
    public static ByteBuffer map(long address, long size) {
        if (address == 0) throw new IllegalStateException("native allocation failed (null address)");
        return new Pointer(address).getByteBuffer(0, size).order(ByteOrder.nativeOrder());
    }
}
