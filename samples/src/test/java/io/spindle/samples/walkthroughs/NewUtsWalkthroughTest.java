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

class NewUtsWalkthroughTest {
    @Test
    void theChildSetsItsOwnHostnameAndTheParentsIsUnchanged() throws Exception {
        assumeTrue(Privileges.hasSysAdmin(), "CLONE_NEWUTS needs CAP_SYS_ADMIN: runs as root only");
        String before = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        assumeTrue(!before.equals(NewUtsWalkthrough.CHILD_HOSTNAME), "the host already has the child's name");
        NewUtsWalkthrough.Observations o = new NewUtsWalkthrough().observe();
        assertEquals(0, o.error(), "sethostname in the new UTS namespace works");
        assertEquals(before, o.parentBefore());
        assertEquals(before, o.childBefore(), "the new namespace starts as a copy of ours");
        assertEquals(NewUtsWalkthrough.CHILD_HOSTNAME, o.childAfter(), "the child reads back its own name");
        assertEquals(before, o.parentAfter(), "the parent's hostname is unchanged");
        assertEquals(before, Files.readString(Path.of("/proc/sys/kernel/hostname")).strip());
        assertTrue(o.holds());
    }

    @Test
    void theCommandShowsItAndExitsZero() throws Exception {
        assumeTrue(Privileges.hasSysAdmin(), "CLONE_NEWUTS needs CAP_SYS_ADMIN: runs as root only");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, new NewUtsWalkthrough().run(List.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
    }
}
