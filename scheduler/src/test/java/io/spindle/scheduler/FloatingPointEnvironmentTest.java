package io.spindle.scheduler;

import io.spindle.runtime.NativeFunction;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every task that starts on a green thread starts with the floating-point environment of a
 * new thread (round to nearest, every exception masked, x86-64 MXCSR 0x1f80 and x87 control
 * word 0x037f), whatever the task before it on the same recycled fiber left; a child run
 * inline in its parent's join is a call and shares its parent's. One worker, so that fibers
 * are recycled. A probe returns bits: 1 rounding, 2 unmasked exceptions, 4 MXCSR, 8 x87
 * control word.
 */
class FloatingPointEnvironmentTest {
    static final NativeFunction PROBE = SchedTestLib.fn("spn_test_fp_probe");
    static final int TASKS = 200;

    @Test
    void tasksStartedFromTheQueueStartWithTheDefault() {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            long faulty = 0;
            for (int i = 0; i < TASKS; i++) {
                // Every other probe dirties its environment; one at a time, so each reuses the fiber.
                if (spindle.spawn(PROBE, 1).join() != 0) faulty++;
            }
            assertEquals(0, faulty, "tasks of " + TASKS + " that did not start with the default");
        }
    }

    @Test
    void membersOfABatchStartWithTheDefault() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            assertTrue(spindle.batchChunk(TASKS) > 1, "members must share chunks for this test to mean anything");
            long[] args = new long[TASKS];
            Arrays.fill(args, 1);
            long[] faults = spindle.spawnAll(PROBE, args).join(Duration.ofSeconds(60));
            assertEquals(0, Arrays.stream(faults).filter(f -> f != 0).count(),
                    "members of " + TASKS + " that did not start with the default: " + Arrays.toString(faults));
        }
    }

    @Test
    void childrenRunInlineShareTheirParentsAndTheNextTaskStartsWithTheDefault() {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            assertEquals(0, spindle.spawn(SchedTestLib.fn("spn_test_fp_inline_children"), TASKS).join(),
                    "inline children that did not see their parent's rounding");
            // The parent left rounding downward on its fiber: the next task must not find it.
            assertEquals(0, spindle.spawn(PROBE, 0).join());
        }
    }
}
