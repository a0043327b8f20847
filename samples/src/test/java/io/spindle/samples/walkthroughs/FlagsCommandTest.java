package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneRule;
import io.spindle.samples.Main;
import io.spindle.samples.UsageException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class FlagsCommandTest {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String text() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theTableHasEveryFlagWithItsValueAndFacts() {
        assertEquals(0, new FlagsCommand().run(List.of(), out));
        String table = text();
        for (CloneFlag f : CloneFlag.values()) {
            String row = table.lines().filter(l -> l.contains(f.cName() + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError(f.cName() + " is missing from the table"));
            assertTrue(row.startsWith(String.format("0x%08x", f.value())), row);
            assertTrue(row.contains(f.sinceKernel()) && row.contains(f.usedBy()), row);
            assertEquals(f.needsPrivilege(), row.contains("SYS_ADMIN"), row);
            assertTrue(table.contains(f.effect()), "the effect of " + f.cName());
        }
    }

    @Test
    void aValidCombinationExitsZeroAndExplainsEachFlag() {
        assertEquals(0, new FlagsCommand().run(List.of("CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD"), out));
        assertTrue(text().contains("valid"), text());
        assertTrue(text().contains(CloneFlag.THREAD.effect()), text());
    }

    @Test
    void aBrokenCombinationExitsOneNamingEveryRule() {
        // THREAD without SIGHAND, and NEWNS with FS: two rules at once.
        assertEquals(1, new FlagsCommand().run(List.of("CLONE_THREAD|CLONE_VM|CLONE_NEWNS|CLONE_FS"), out));
        assertTrue(text().contains(CloneRule.THREAD_NEEDS_SIGHAND.name()), text());
        assertTrue(text().contains(CloneRule.NEWNS_WITH_FS.name()), text());
        assertFalse(text().contains(CloneRule.SIGHAND_NEEDS_VM.name()), text());
    }

    @Test
    void flagsMayComeAsSeveralArgumentsAndShortNames() {
        assertEquals(1, new FlagsCommand().run(List.of("sighand", "|", "files"), out));
        assertTrue(text().contains(CloneRule.SIGHAND_NEEDS_VM.name()), text());
    }

    @Test
    void anUnknownNameIsAUsageError() {
        UsageException e = assertThrows(UsageException.class, () -> new FlagsCommand().run(List.of("CLONE_VM|CLONE_WHAT"), out));
        assertTrue(e.getMessage().contains("CLONE_WHAT"), e.getMessage());
    }

    @Test
    void anUnknownNameThroughMainExitsTwoWithUsageAndNoStackTrace() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(new String[] {"flags", "CLONE_BOGUS"}, out, new PrintStream(err, true, StandardCharsets.UTF_8));
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, code, message);
        assertTrue(message.contains("CLONE_BOGUS") && message.contains("usage:"), message);
        assertFalse(message.contains("Exception") || message.contains("\tat "), "no stack trace: " + message);
    }
}
