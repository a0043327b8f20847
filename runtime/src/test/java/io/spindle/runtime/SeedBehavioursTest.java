package io.spindle.runtime;

import com.sun.jna.Memory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.spindle.runtime.CloneFlag.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The behaviours of clone's flags that Spindle started from (the tutorial on clone's flags it was seeded with), on raw clone. */
class SeedBehavioursTest {

    @Test
    void cloneVmChildWriteIsVisibleToTheParent() {
        Memory counter = TestLib.word();
        counter.setInt(0, 5);
        CloneProcess child = CloneProcess.start(CloneFlags.of(VM, FILES, SIGHAND), TestLib.fn("spn_test_add_100"),
                com.sun.jna.Pointer.nativeValue(counter));
        assertEquals(0, child.join().exitCode());
        assertEquals(105, counter.getInt(0), "CLONE_VM: the child's += 100 lands in our memory");
    }

    @Test
    void withoutCloneVmTheChildWritesItsOwnCopy() {
        Memory counter = TestLib.word();
        counter.setInt(0, 5);
        // CLONE_SIGHAND needs CLONE_VM, so "without CLONE_VM" drops it too.
        CloneProcess child = CloneProcess.start(CloneFlags.of(FILES), TestLib.fn("spn_test_add_100"),
                com.sun.jna.Pointer.nativeValue(counter));
        assertEquals(0, child.join().exitCode());
        assertEquals(5, counter.getInt(0), "without CLONE_VM the child changed only its copy");
    }

    @Test
    void cloneThreadChildrenShareThePidAndHaveTheirOwnTids() {
        int n = 4;
        Memory[] ids = new Memory[n];
        NativeThread[] threads = new NativeThread[n];
        for (int i = 0; i < n; i++) {
            ids[i] = new Memory(24);
            threads[i] = NativeThread.start(TestLib.fn("spn_test_ids"), com.sun.jna.Pointer.nativeValue(ids[i]));
        }
        long jvmPid = ProcessHandle.current().pid();
        Set<Long> tids = new HashSet<>();
        for (int i = 0; i < n; i++) {
            threads[i].join();
            assertEquals(jvmPid, ids[i].getLong(0), "getpid() on a CLONE_THREAD child is the JVM's pid (the TGID)");
            long tid = ids[i].getLong(8);
            assertNotEquals(jvmPid, tid, "a thread's tid differs from the group leader's");
            assertEquals(threads[i].tid(), tid, "tid() is the tid the thread sees");
            tids.add(tid);
            assertEquals(ProcessHandle.current().parent().orElseThrow().pid(), ids[i].getLong(16),
                    "threads share the parent of the process");
        }
        assertEquals(n, tids.size(), "every thread has its own tid");
    }

    @Test
    void newUtsChildHasItsOwnHostname() throws Exception {
        assumeTrue(TestLib.isRoot(), "CLONE_NEWUTS needs CAP_SYS_ADMIN: this test runs as root only");
        String hostnameBefore = Files.readString(Path.of("/proc/sys/kernel/hostname")).trim();
        assumeTrue(!hostnameBefore.equals("spindle-child-host"), "the host already has the child's name");
        Memory name = new Memory(64);
        name.setString(0, "spindle-child-host");
        CloneProcess child = CloneProcess.start(CloneFlags.of(NEWUTS), TestLib.fn("spn_test_sethostname"),
                com.sun.jna.Pointer.nativeValue(name));
        assertEquals(0, child.join().exitCode(), "sethostname in the new UTS namespace succeeds");
        assertEquals(hostnameBefore, Files.readString(Path.of("/proc/sys/kernel/hostname")).trim(),
                "the parent's hostname is unchanged");
    }

    @Test
    void parentSettidHasTheTidInPlaceBeforeCloneReturns() {
        int rounds = 3000;
        assertEquals(0, TestLib.Direct.INSTANCE.spn_test_settid_misses(1, rounds),
                "CLONE_PARENT_SETTID: the tid word was written before clone returned, every time");
        long childSettidMisses = TestLib.Direct.INSTANCE.spn_test_settid_misses(0, rounds);
        assertTrue(childSettidMisses > 0,
                "CLONE_CHILD_SETTID is written by the child, later: the parent saw no tid " + childSettidMisses
                        + " times in " + rounds + " (this is the race PARENT_SETTID closes)");
    }

    @Test
    void childClearTidJoinWaitsForTheExit() {
        NativeThread t = NativeThread.start(TestLib.fn("spn_test_sleep_ms"), 50);
        assertTrue(t.isAlive());
        assertEquals(50, t.join(), "join returns the function's result");
        assertFalse(t.isAlive());
    }

    @Test
    void newNsChildMountIsInvisibleToTheParent(@TempDir Path dir) throws Exception {
        assumeTrue(TestLib.isRoot(), "CLONE_NEWNS and mount need CAP_SYS_ADMIN: this test runs as root only");
        Memory path = new Memory(dir.toString().length() + 1L);
        path.setString(0, dir.toString());
        CloneProcess child = CloneProcess.start(CloneFlags.of(NEWNS), TestLib.fn("spn_test_mount_tmpfs"),
                com.sun.jna.Pointer.nativeValue(path));
        assertEquals(0, child.join().exitCode(), "the child mounted a tmpfs and wrote a file in it");
        List<String> mounts = Files.readAllLines(Path.of("/proc/self/mountinfo"));
        assertTrue(mounts.stream().noneMatch(l -> l.contains(" " + dir + " ")), "no mount at " + dir + " in our namespace");
        assertFalse(Files.exists(dir.resolve("inside-the-namespace")), "the child's file lives only in its tmpfs");
    }

    @Test
    void newPidChildIsPidOne() throws Exception {
        assumeTrue(TestLib.isRoot(), "CLONE_NEWPID needs CAP_SYS_ADMIN: this test runs as root only");
        CloneProcess child = CloneProcess.start(CloneFlags.of(NEWPID), TestLib.fn("spn_test_getpid"), 0);
        assertTrue(child.pid() > 1, "in our namespace the child has an ordinary pid");
        assertEquals(1, child.join().exitCode(), "inside its new pid namespace the child is pid 1");
    }
}
