package io.spindle.runtime;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.runtime.internal.RuntimeNative;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * glibc knows a raw thread's stack: pthread_getattr_np (what HotSpot, garbage collectors and
 * sanitizers ask) describes the stack the thread runs on, not the main thread's.
 */
class StackBoundsTest {
    static final long PAGE = RuntimeNative.spn_runtime_page_size();

    /** What spn_test_stack_bounds saw on a thread: glibc's low end, size, guard, and a local's address. */
    record Bounds(long low, long size, long guard, long local) {
        static Bounds read(Memory out) {
            return new Bounds(out.getLong(0), out.getLong(8), out.getLong(16), out.getLong(24));
        }

        boolean contains(long address) {
            return address >= low && address < low + size;
        }
    }

    static Bounds boundsOn(NativeThread.Builder builder) throws Exception {
        Memory out = new Memory(32);
        out.clear();
        assertEquals(0, builder.start(TestLib.fn("spn_test_stack_bounds"), Pointer.nativeValue(out)).join(Duration.ofSeconds(30)),
                "pthread_getattr_np failed");
        return Bounds.read(out);
    }

    @Test
    void pthreadGetattrNpDescribesTheRawThreadsOwnStack() throws Exception {
        for (long stack : new long[] {64 * 1024, 256 * 1024, 1024 * 1024, 256 * 1024}) { // the last reuses a cached TCB
            Bounds b = boundsOn(NativeThread.builder().stackSize(stack));
            assertTrue(b.contains(b.local()), "the thread's own local lies in what glibc reports: " + b);
            assertEquals(PAGE, b.guard(), "the guard page: " + b);
            // The usable stack, and the part of the top page below the control blocks.
            assertTrue(b.size() >= stack && b.size() < stack + PAGE, stack + "-byte stack reported as " + b);
        }
    }

    @Test
    void twoThreadsAtOnceSeeTwoStacks() throws Exception {
        Memory outA = new Memory(32), outB = new Memory(32);
        NativeThread a = NativeThread.builder().stackSize(128 * 1024).start(TestLib.fn("spn_test_stack_bounds"), Pointer.nativeValue(outA));
        NativeThread b = NativeThread.builder().stackSize(128 * 1024).start(TestLib.fn("spn_test_stack_bounds"), Pointer.nativeValue(outB));
        assertEquals(0, a.join(Duration.ofSeconds(30)));
        assertEquals(0, b.join(Duration.ofSeconds(30)));
        Bounds ba = Bounds.read(outA), bb = Bounds.read(outB);
        assertTrue(ba.contains(ba.local()) && bb.contains(bb.local()), ba + " " + bb);
        assertTrue(ba.low() + ba.size() <= bb.low() || bb.low() + bb.size() <= ba.low(), "disjoint: " + ba + " " + bb);
    }
}
