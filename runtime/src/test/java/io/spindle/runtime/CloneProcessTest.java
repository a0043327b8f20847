package io.spindle.runtime;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

import static io.spindle.runtime.CloneFlag.*;
import static org.junit.jupiter.api.Assertions.*;

class CloneProcessTest {

    @Test
    void theExitCodeIsTheFunctionsResult() {
        assertEquals(new CloneProcess.ExitStatus(true, 42, 0),
                CloneProcess.start(CloneFlags.none(), TestLib.fn("spn_test_return_arg"), 42).join());
        CloneProcess.ExitStatus lowByte = CloneProcess.start(CloneFlags.none(), TestLib.fn("spn_test_return_arg"), 0x1234).join();
        assertEquals(0x34, lowByte.exitCode(), "only the low byte survives, as with exit()");
    }

    @Test
    void aFaultKillsOnlyTheChild() {
        CloneProcess.ExitStatus status = CloneProcess.start(CloneFlags.none(), TestLib.fn("spn_test_null_dereference"), 0).join();
        assertTrue(status.isSignaled(), status.toString());
        assertEquals(11, status.signal(), "SIGSEGV, with the default action in the child's own signal table");
    }

    @Test
    void aCloneVmChildWithItsOwnTcbMayCallLibc() {
        Memory report = new Memory(LibcCitizenTest.REPORT_SIZE);
        report.clear();
        report.setLong(0, 10_000);
        CloneProcess child = CloneProcess.start(CloneFlags.of(VM, FILES), TestLib.fn("spn_test_libc_citizen"),
                Pointer.nativeValue(report));
        assertEquals(0, child.join().exitCode(), "libc features broken in the CLONE_VM child");
        assertEquals(child.pid(), report.getLong(16), "the child's gettid() is its pid");
        assertNotEquals(0, report.getLong(8));
    }

    @Test
    void timedJoinTimesOutThenReaps() throws Exception {
        CloneProcess child = CloneProcess.start(CloneFlags.none(), TestLib.fn("spn_test_sleep_ms"), 300);
        assertThrows(TimeoutException.class, () -> child.join(Duration.ofMillis(20)));
        CloneProcess.ExitStatus status = child.join(Duration.ofSeconds(30));
        assertEquals(300 & 0xff, status.exitCode());
        assertSame(status, child.join(), "joined once, same status after");
    }

    @Test
    void flagsThatMakeThreadsOrThatSpindleManagesAreRejected() {
        for (CloneFlag flag : new CloneFlag[] {PARENT, SETTLS, PARENT_SETTID, CHILD_SETTID, CHILD_CLEARTID, PIDFD, DETACHED}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> CloneProcess.builder(CloneFlags.of(flag)), flag.cName());
            assertTrue(e.getMessage().contains(flag.cName()), e.getMessage());
        }
        IllegalArgumentException thread = assertThrows(IllegalArgumentException.class,
                () -> CloneProcess.builder(CloneFlags.of(VM, SIGHAND, THREAD)));
        assertTrue(thread.getMessage().contains("use NativeThread"), thread.getMessage());
    }

    @Test
    void kernelRulesAreCheckedBeforeTheKernelSeesThem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CloneProcess.start(CloneFlags.of(FILES, SIGHAND), TestLib.fn("spn_test_return_arg"), 0));
        assertTrue(e.getMessage().contains("CLONE_SIGHAND"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> CloneProcess.start(CloneFlags.of(NEWNS, FS), TestLib.fn("spn_test_return_arg"), 0));
        assertThrows(NullPointerException.class, () -> CloneProcess.start(CloneFlags.none(), null, 0));
        assertThrows(IllegalArgumentException.class, () -> CloneProcess.builder(CloneFlags.none()).exitSignal(65));
    }

    @Test
    void permissionErrorsNameTheMissingCapability() {
        CloneException e = CloneException.of("clone of a child process", CloneFlags.of(NEWUTS, NEWNET), 1);
        assertTrue(e.isPermissionDenied());
        assertTrue(e.getMessage().contains("CLONE_NEWUTS, CLONE_NEWNET need CAP_SYS_ADMIN"), e.getMessage());
        assertTrue(e.getMessage().contains("add CLONE_NEWUSER"), e.getMessage());
        CloneException user = CloneException.of("clone", CloneFlags.of(NEWUSER, NEWUTS), 1);
        assertTrue(user.getMessage().contains("unprivileged user namespaces"), user.getMessage());
    }
}
