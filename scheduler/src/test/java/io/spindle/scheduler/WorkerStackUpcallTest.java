package io.spindle.scheduler;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Task code calls Java through JNI by running the upcall on its worker's own stack
 * (spn_call_on_worker_stack): attach, call, detach, with collections, from many tasks.
 */
class WorkerStackUpcallTest {
    static final Duration WAIT = Duration.ofMinutes(2);

    static long expectedSum(int n) {
        return (long) n * (n - 1) / 2 + n; // UpcallTarget.called(i) = i + 1
    }

    @Test
    void tasksCallJavaFromTheirWorkersStack() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).workerStackSize(1024 * 1024).build()) {
            Task[] tasks = new Task[50];
            for (int i = 0; i < tasks.length; i++) tasks[i] = spindle.spawn(SchedTestLib.fn("spn_test_upcalls_from_task"), 100);
            for (Task t : tasks) assertEquals(expectedSum(100), t.join(WAIT));
            // The green threads run on as before: plain tasks after the upcalls.
            assertEquals(5, spindle.spawn(SpindleTest.RETURN_ARG, 5).join(WAIT));
        }
    }

    @Test
    void theApiRefusesCallsFromTheWorkersStack() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            assertEquals(1, spindle.spawn(SchedTestLib.fn("spn_test_api_on_worker_stack"), 0).join(WAIT),
                    "spn_yield there gives SPN_E_NOT_ON_WORKER (1)");
        }
    }
}
