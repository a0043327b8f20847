package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class ContainerWalkthroughTest {
    @Test
    void theChildHasItsOwnHostnamePidOneItsOwnProcAndOnlyLoopback() throws Exception {
        assumeTrue(Privileges.hasSysAdmin(), "the namespace flags need CAP_SYS_ADMIN: runs as root only");
        String hostBefore = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
        ContainerWalkthrough.Findings f = new ContainerWalkthrough().observe();
        assertEquals(ContainerWalkthrough.ROOT_FLAGS, f.flags(), "as root, no user namespace is needed");
        assertFalse(f.flags().contains(CloneFlag.NEWUSER));
        assertEquals(0, f.step(), "the child failed at " + f.failedStep() + " (errno " + f.errno() + ")");
        assertEquals(ContainerWalkthrough.HOSTNAME, f.hostname());
        assertEquals(hostBefore, f.parentHostnameAfter(), "the parent's hostname is unchanged");
        assertEquals(1, f.pid(), "pid 1 in its pid namespace");
        assertEquals("1", f.procSelf(), "its own /proc: /proc/self resolves to 1");
        assertEquals(1, f.procPids(), "its own /proc lists only itself");
        assertEquals(1, f.firstProcPid());
        assertTrue(f.devices().stream().anyMatch(d -> d.name().equals("lo") && !d.up()),
                "a new network namespace has a loopback device, down: " + f.devices());
        assertTrue(f.loopbackOnly(), "nothing of the host's network: " + f.devices());
        assertTrue(f.devices().stream().noneMatch(d -> d.name().startsWith("eth")), f.devices().toString());
        for (String kind : ContainerWalkthrough.NAMESPACES) {
            assertTrue(f.namespaces().get(kind).startsWith(kind + ":["), f.namespaces().toString());
            assertNotEquals(f.parentNamespaces().get(kind), f.namespaces().get(kind), "a new " + kind + " namespace");
        }
        assertTrue(f.holds());
        assertEquals(hostBefore, Files.readString(Path.of("/proc/sys/kernel/hostname")).strip());
    }

    @Test
    void theCommandShowsItCompactlyAndExitsZero() throws Exception {
        assumeTrue(Privileges.hasSysAdmin(), "the namespace flags need CAP_SYS_ADMIN: runs as root only");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, new ContainerWalkthrough().run(List.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.lines().count() <= 8, text);
        assertTrue(text.contains("network devices: lo (down)"), text);
    }
}
