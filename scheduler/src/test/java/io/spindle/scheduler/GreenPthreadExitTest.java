package io.spindle.scheduler;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.spindle.scheduler.CType.INT64;
import static org.junit.jupiter.api.Assertions.*;

/**
 * pthread_exit from task code ends the task, not its worker: the task ends as if it had
 * returned the value, a batch goes on with the rest of its chunk, and the workers keep
 * running tasks. (It used to crash in glibc's unwinder; pointed at the worker thread's own
 * exit buffer it would have ended a worker under its green threads.)
 */
class GreenPthreadExitTest {
    static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void aTaskThatCallsPthreadExitEndsWithItsValue() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            for (int round = 0; round < 200; round++) {
                assertEquals(round, spindle.spawn(SchedTestLib.fn("spn_test_pthread_exit"), round).join(WAIT));
                assertEquals(-round, spindle.spawn(SpindleTest.RETURN_ARG, -round).join(WAIT), "the worker runs on");
            }
            long[] args = new long[5_000];
            for (int i = 0; i < args.length; i++) args[i] = i * 3L;
            assertArrayEquals(args, spindle.spawnAll(SchedTestLib.fn("spn_test_pthread_exit"), args).join(WAIT),
                    "every member of every chunk ended with its own value");
        }
    }

    @Test
    void aTypedCallThatCallsPthreadExitGivesItsValueAndTheBatchGoesOn() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            TypedFunction exitIfOdd = TypedFunction.of(SchedTestLib.LIBRARY, "spn_t_exit_if_odd", Signature.of(INT64, INT64));
            int rows = 10_000;
            long[] values = new long[rows], want = new long[rows];
            for (int i = 0; i < rows; i++) {
                values[i] = i;
                want[i] = i % 2 == 1 ? 10L * i : i;
            }
            assertArrayEquals(want, spindle.callAll(exitIfOdd, values).join(WAIT));
            assertEquals(70, spindle.call(exitIfOdd, 7L).join(WAIT));
            assertEquals(8, spindle.call(exitIfOdd, 8L).join(WAIT));
        }
    }
}
