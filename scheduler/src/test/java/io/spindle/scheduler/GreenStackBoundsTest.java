package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * While a green thread runs, glibc's idea of the thread's stack (pthread_getattr_np, and the
 * alloca allowance glibc derives from it) is the green thread's own stack.
 */
class GreenStackBoundsTest {
    static final long DEADLINE_SECONDS = 120;

    @Test
    void pthreadGetattrNpOnAGreenThreadDescribesItsOwnStack() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            long stack = spindle.greenStackSize();
            Memory[] outs = new Memory[200];
            Task[] tasks = new Task[outs.length];
            for (int i = 0; i < outs.length; i++) {
                outs[i] = new Memory(32);
                tasks[i] = spindle.spawn(SchedTestLib.fn("spn_test_stack_bounds"), outs[i]);
            }
            for (int i = 0; i < outs.length; i++) {
                assertEquals(0, tasks[i].join(Duration.ofSeconds(30)), "pthread_getattr_np failed");
                long low = outs[i].getLong(0), size = outs[i].getLong(8), local = outs[i].getLong(24);
                assertTrue(local >= low && local < low + size, "task " + i + "'s local " + Long.toHexString(local)
                        + " lies in the stack glibc reports: " + Long.toHexString(low) + " + " + size);
                // The usable stack and the red zone above its guard: no more than a few pages beyond the green stack.
                assertTrue(size >= stack && size <= stack + 16 * 1024, "a " + stack + "-byte green stack reported as " + size);
            }
        }
    }

    /**
     * printf of a 16,000-digit number needs ~80 KiB of scratch. glibc puts it on the stack when
     * its alloca allowance (a quarter of the stack it believes the thread has) allows: with no
     * stack in the TCB that was 256 KiB, and the task overran a 64 KiB green stack. Now the
     * allowance is a quarter of the green stack, and glibc takes the scratch from malloc. In a
     * JVM of its own, since the failure is a crash.
     */
    @Test
    void aWidePrintfOnAGreenThreadTakesItsScratchFromTheHeap() throws Exception {
        ChildJvm.Result r = ChildJvm.run(WidePrintf.class, DEADLINE_SECONDS);
        assertTrue(r.finished(), r.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.output().contains("PRINTED 16002"), r.toString());
    }

    /** The child JVM: the printf on a green thread of the default (64 KiB) stack. */
    public static final class WidePrintf {
        public static void main(String[] args) throws Exception {
            try (Spindle spindle = Spindle.builder().workers(1).build()) {
                System.out.println("PRINTED " + spindle.spawn(SchedTestLib.fn("spn_test_wide_printf"), Pointer.NULL).join(Duration.ofSeconds(60)));
            }
        }
    }
}
