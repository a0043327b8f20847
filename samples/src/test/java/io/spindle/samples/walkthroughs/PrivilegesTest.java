package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.Walkthrough;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class PrivilegesTest {
    @Test
    void rootHasCapSysAdmin() throws Exception {
        boolean root = Files.readAllLines(Path.of("/proc/self/status")).stream()
                .filter(l -> l.startsWith("Uid:")).anyMatch(l -> l.split("\\s+")[2].equals("0"));
        if (root) assertTrue(Privileges.hasSysAdmin(), "uid 0 holds CAP_SYS_ADMIN here");
    }

    @Test
    void aRefusalSaysWhatIsMissingAndReturnsNeedsPrivilege() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = Privileges.refuse(new PrintStream(bytes, true, StandardCharsets.UTF_8), CloneFlags.of(CloneFlag.NEWPID));
        assertEquals(Walkthrough.NEEDS_PRIVILEGE, code);
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("CAP_SYS_ADMIN") && text.contains("CLONE_NEWPID") && text.contains("root"), text);
    }

    @Test
    void theContainerAddsNewUserOnlyWithoutThePrivilege() {
        assertEquals(!Privileges.hasSysAdmin(), ContainerWalkthrough.flags().contains(CloneFlag.NEWUSER));
        assertTrue(ContainerWalkthrough.flags().isValid());
    }
}
