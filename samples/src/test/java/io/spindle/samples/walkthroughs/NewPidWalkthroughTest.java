package io.spindle.samples.walkthroughs;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class NewPidWalkthroughTest {
    @Test
    void theChildIsPidOneInsideAndAnOrdinaryPidOutside() {
        assumeTrue(Privileges.hasSysAdmin(), "CLONE_NEWPID needs CAP_SYS_ADMIN: runs as root only");
        NewPidWalkthrough.Observations o = new NewPidWalkthrough().observe();
        assertEquals(1, o.pidInside(), "getpid() in a new pid namespace's first process");
        assertTrue(o.pidOutside() > 1, "the parent knows it by an ordinary pid: " + o);
        assertNotEquals(o.parentPid(), o.pidOutside());
        assertEquals(0, o.ppidInside(), "its parent has no pid in the new namespace");
        assertTrue(o.holds());
    }

    @Test
    void theCommandShowsItAndExitsZero() {
        assumeTrue(Privileges.hasSysAdmin(), "CLONE_NEWPID needs CAP_SYS_ADMIN: runs as root only");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, new NewPidWalkthrough().run(List.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
    }
}
