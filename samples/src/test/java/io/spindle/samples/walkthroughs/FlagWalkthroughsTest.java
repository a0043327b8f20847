package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.samples.Command;
import io.spindle.samples.Main;
import io.spindle.samples.Walkthrough;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The flag walkthroughs (flag_effects.c): each claim checked on what the children saw, with
 * the flag and without it, and each command run as the tour runs it.
 */
class FlagWalkthroughsTest {
    @Test
    void settlsGivesTheChildItsOwnThreadLocalsAndWithoutItTheCreators() {
        SetTlsWalkthrough.Observations o = new SetTlsWalkthrough().observe();
        assertEquals(0, o.withSettls(), "a fresh TLS of its own");
        assertEquals(SetTlsWalkthrough.MARK, o.withoutSettls(), "the creator's thread-local");
        assertTrue(o.holds());
    }

    @Test
    void fsSharesCwdAndUmaskWithTheParentAndThenPutsThemBack() throws Exception {
        Path cwd = FsWalkthrough.cwd();
        int umask = FsWalkthrough.umask();
        FsWalkthrough.Observations o = new FsWalkthrough().observe();
        assertEquals(Path.of("/"), o.shared().cwdAfter());
        assertEquals(0077, o.shared().umaskAfter());
        assertEquals(cwd, o.copied().cwdAfter());
        assertEquals(umask, o.copied().umaskAfter());
        assertNotNull(o.newNsRule(), "CLONE_FS|CLONE_NEWNS is refused");
        assertTrue(o.holds(), o.toString());
        assertEquals(cwd, FsWalkthrough.cwd(), "the JVM's cwd is back");
        assertEquals(umask, FsWalkthrough.umask(), "and its umask");
    }

    @Test
    void filesSharesTheDescriptorTableAndLeavesNoDescriptorBehind() throws Exception {
        new FilesWalkthrough().observe(); // the library and the classes load the first time
        long before = descriptors();
        FilesWalkthrough.Observations o = new FilesWalkthrough().observe();
        assertTrue(o.shared().childFdInParent(), "the child's open is in the parent's table");
        assertFalse(o.shared().parentFdKept(), "the child's close took the parent's descriptor");
        assertFalse(o.copied().childFdInParent());
        assertTrue(o.copied().parentFdKept());
        assertEquals(before, descriptors(), "every memfd closed");
    }

    private static long descriptors() throws java.io.IOException {
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    @Test
    void sighandSharesTheDispositionButNotTheMaskOrPendingSignals() {
        SighandWalkthrough.Observations o = new SighandWalkthrough().observe();
        assertTrue(o.shared().ignoredInParent(), "the child's SIG_IGN is the parent's");
        assertFalse(o.copied().ignoredInParent());
        assertTrue(o.shared().pendingInChild() && o.copied().pendingInChild(), "pending in the child");
        assertFalse(o.shared().blockedInParent() || o.shared().pendingInParent(), "the mask and pending set stay the child's");
        assertTrue(o.holds(), o.toString());
        long[] after = new long[3];
        SamplesNative.sample_signal_view(after);
        assertEquals(0, after[0], "the JVM's disposition is back");
    }

    @Test
    void sysvsemKeepsTheChildsUndoWhileTheParentLives() {
        SysvSemWalkthrough.Observations o = new SysvSemWalkthrough().observe();
        assertEquals(1, o.shared().afterExit(), "not undone: the undo list is the JVM's");
        assertEquals(0, o.copied().afterExit(), "undone as the child exited");
        assertTrue(o.holds());
    }

    @Test
    void parentMakesTheGrandchildASiblingThatTheJvmReaps() {
        ParentWalkthrough.Observations o = new ParentWalkthrough().observe();
        assertEquals(o.jvmPid(), o.with().grandchildParent(), "the cloner's parent");
        assertTrue(o.with().reapedByJvm());
        assertEquals(o.without().childPid(), o.without().grandchildParent(), "the cloner");
        assertTrue(o.holds());
    }

    @Test
    void vforkSuspendsTheParentUntilTheChildExits() {
        VforkWalkthrough.Observations o = new VforkWalkthrough().observe();
        assertTrue(o.doneWhenVforkReturned());
        assertFalse(o.doneWhenCloneReturned());
    }

    @Test
    void ptraceHandsTracingOnAndUntracedRefusesTheTracersAsking() {
        PtraceWalkthrough.Observations o = new PtraceWalkthrough().observe();
        assertEquals(List.of(0L, o.tracerPid(), o.tracerPid(), 0L), o.tracerPids());
        assertTrue(o.tracerPid() > 0);
    }

    @Test
    void ioSharesTheIoPriorityAndPutsTheThreadsBack() {
        int before = SamplesNative.sample_ioprio_get();
        IoWalkthrough.Observations o = new IoWalkthrough().observe();
        assertEquals(IoWalkthrough.CHILD_PRIORITY, o.shared().inParent());
        assertEquals(IoWalkthrough.PARENT_PRIORITY, o.copied().inParent());
        assertEquals(before, SamplesNative.sample_ioprio_get());
    }

    @Test
    void newUserIsRootInsideAndTheJvmsUserOutside() throws Exception {
        NewUserWalkthrough.Observations o = new NewUserWalkthrough().observe();
        assertEquals(0, o.with().uidInside());
        assertNotEquals(0, o.with().capEff() & (1L << NewUserWalkthrough.CAP_SYS_ADMIN), "every capability inside");
        assertEquals(o.jvmUid(), o.with().uidOutside());
        assertEquals(-1, o.with().sethostname(), "EPERM on the JVM's UTS namespace");
        assertEquals(o.jvmUid(), o.without().uidInside());
        assertTrue(o.holds());
    }

    @Test
    void newIpcHidesTheParentsSemaphore() {
        assumeTrue(Privileges.hasSysAdmin(), "CLONE_NEWIPC needs CAP_SYS_ADMIN: runs as root only");
        NewIpcWalkthrough.Observations o = new NewIpcWalkthrough().observe();
        assertEquals(-22, o.withFlag(), "EINVAL");
        assertEquals(0, o.withoutFlag());
    }

    @Test
    void newCgroupMakesTheChildsCgroupItsRoot() throws Exception {
        assumeTrue(Privileges.hasSysAdmin(), "CLONE_NEWCGROUP and a new cgroup need CAP_SYS_ADMIN: runs as root only");
        var observed = new NewCgroupWalkthrough().observe();
        assumeTrue(observed.isPresent(), "no cgroup hierarchy here lets this process make a cgroup");
        NewCgroupWalkthrough.Observations o = observed.get();
        assertEquals(o.prefix() + "/", o.withFlag());
        assertEquals(o.prefix() + o.cgroupPath(), o.withoutFlag());
    }

    @Test
    void everyFlagOfTheTourTableHasAWalkthroughAndEachCommandShowsIt() throws Exception {
        Set<CloneFlag> shown = EnumSet.noneOf(CloneFlag.class);
        boolean root = Privileges.hasSysAdmin();
        for (Command c : Main.commands().values()) {
            if (!(c instanceof Walkthrough w) || w instanceof IsolatedDecoderWalkthrough) continue;
            shown.addAll(w.flagsShown());
            if (w.needsPrivilege() && !root) continue;
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            int code = w.run(List.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8));
            assertEquals(0, code, w.name() + ":\n" + bytes.toString(StandardCharsets.UTF_8));
        }
        for (CloneFlag f : io.spindle.samples.Tour.SEED_FLAGS) assertTrue(shown.contains(f), "no walkthrough shows CLONE_" + f);
    }
}
