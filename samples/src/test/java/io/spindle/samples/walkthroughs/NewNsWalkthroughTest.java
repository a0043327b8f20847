package io.spindle.samples.walkthroughs;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class NewNsWalkthroughTest {
    @Test
    void theChildsTmpfsAndFileAreInvisibleToTheParent() throws Exception {
        assumeTrue(Privileges.hasSysAdmin(), "CLONE_NEWNS and mount need CAP_SYS_ADMIN: runs as root only");
        NewNsWalkthrough.Observations o = new NewNsWalkthrough().observe();
        assertEquals(0, o.childStep(), "the child failed at " + o.failedStep() + " (errno " + o.childErrno() + ")");
        assertNotEquals(o.childDevBefore(), o.childDevAfter(), "in the child a new filesystem answers at the directory");
        assertTrue(o.childSawFile(), "the child sees the file it wrote");
        assertFalse(o.parentSeesMount(), "no mount on " + o.dir() + " in the parent's /proc/self/mountinfo");
        assertFalse(o.parentSeesFile(), "the child's file is not in the parent's directory");
        assertFalse(NewNsWalkthrough.mountedAt(o.dir()));
        assertFalse(Files.exists(o.dir()), "the walkthrough removed its temporary directory");
        assertTrue(o.holds());
    }

    @Test
    void mountinfoIsReadByMountPoint() throws Exception {
        assertTrue(NewNsWalkthrough.mountedAt(Path.of("/")), "/ is a mount point");
        assertTrue(NewNsWalkthrough.mountedAt(Path.of("/proc")), "/proc is a mount point");
        assertFalse(NewNsWalkthrough.mountedAt(Path.of("/proc/self")));
    }

    @Test
    void theCommandShowsItAndExitsZero() throws Exception {
        assumeTrue(Privileges.hasSysAdmin(), "CLONE_NEWNS and mount need CAP_SYS_ADMIN: runs as root only");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, new NewNsWalkthrough().run(List.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
    }
}
