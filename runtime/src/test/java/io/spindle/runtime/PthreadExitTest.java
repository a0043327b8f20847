package io.spindle.runtime;

import com.sun.jna.Memory;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.spindle.runtime.CloneFlag.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * pthread_exit on a raw thread ends it as a return of the value would (it used to crash in
 * glibc's unwinder: the TCB named no buffer to unwind to), running cleanup handlers on the
 * way, and leaves nothing behind for the next thread on the same TCB.
 */
class PthreadExitTest {
    static final Duration WAIT = Duration.ofSeconds(30);

    @Test
    void pthreadExitEndsARawThreadWithItsValue() throws Exception {
        for (boolean cached : new boolean[] {true, false}) {
            NativeThread.Builder threads = NativeThread.builder().cached(cached);
            for (int i = 0; i < 50; i++) {
                assertEquals(1000 + i, threads.start(TestLib.fn("spn_test_pthread_exit"), 1000 + i).join(WAIT));
                // The next thread, maybe on the same TCB, is not exiting: it runs and returns.
                assertEquals(i, threads.start(TestLib.fn("spn_test_return_arg"), i).join(WAIT));
            }
        }
    }

    @Test
    void cleanupHandlersRunAsGlibcUnwinds() throws Exception {
        Memory flag = new Memory(8);
        flag.setLong(0, 0);
        assertEquals(7, NativeThread.builder().start(TestLib.fn("spn_test_pthread_exit_cleanup"), flag).join(WAIT));
        assertEquals(1, flag.getLong(0), "the cleanup handler ran");
    }

    @Test
    void pthreadExitEndsACloneProcessChildWithItsValueAsStatus() throws Exception {
        assertEquals(new CloneProcess.ExitStatus(true, 5, 0),
                CloneProcess.start(CloneFlags.of(VM, FILES), TestLib.fn("spn_test_pthread_exit"), 5).join());
        assertEquals(new CloneProcess.ExitStatus(true, 6, 0),
                CloneProcess.start(CloneFlags.none(), TestLib.fn("spn_test_pthread_exit"), 6).join());
    }

    /** A raw thread's thread_local destructors run when it ends, as start_thread runs a pthread's. */
    @Test
    void threadLocalDestructorsRunWhenARawThreadEnds() throws Exception {
        Memory counter = new Memory(8);
        counter.setLong(0, 0);
        for (int i = 1; i <= 20; i++) {
            assertEquals(0, NativeThread.builder().start(TestLib.fn("spn_test_thread_local_destructor"), counter).join(WAIT));
            assertEquals(i, counter.getLong(0), "destructors run, once each");
        }
    }
}
