package io.spindle.runtime;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class GuardedStackTest {

    @Test
    void sizeRulesAreNamed() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GuardedStack.allocate(0))
                .getMessage().contains("below the minimum of " + GuardedStack.MIN_SIZE));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> GuardedStack.allocate(GuardedStack.MIN_SIZE + 1))
                .getMessage().contains("multiple of the page size"));
    }

    @Test
    void theGuardPageIsMappedWithoutAccessJustBelowTheStack() throws Exception {
        try (GuardedStack stack = GuardedStack.allocate(64 * 1024)) {
            long guard = stack.guardAddress();
            long page = GuardedStack.pageSize();
            String guardLine = null;
            String stackLine = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                String[] range = line.substring(0, line.indexOf(' ')).split("-");
                long from = Long.parseUnsignedLong(range[0], 16);
                long to = Long.parseUnsignedLong(range[1], 16);
                if (from == guard) guardLine = line;
                if (from <= guard + page && guard + page < to) stackLine = line;
            }
            assertNotNull(guardLine, "a mapping starts at the guard address");
            assertTrue(guardLine.split("\\s+")[1].startsWith("---p"), "guard is PROT_NONE: " + guardLine);
            assertNotNull(stackLine);
            assertTrue(stackLine.split("\\s+")[1].startsWith("rw-p"), "stack is read-write: " + stackLine);
            assertTrue(stack.top() > guard + page + 64 * 1024 - 1, "at least the asked size between guard and top");
            assertEquals(0, stack.top() % 64, "top is cache-line aligned");
        }
    }

    @Test
    void releasedExactlyOnce() {
        long before = GuardedStack.liveCount();
        GuardedStack stack = GuardedStack.allocate(32 * 1024);
        assertEquals(before + 1, GuardedStack.liveCount());
        stack.close();
        assertEquals(before, GuardedStack.liveCount());
        stack.close(); // idempotent: no second munmap
        assertEquals(before, GuardedStack.liveCount());
        assertTrue(stack.isClosed());
        assertThrows(IllegalStateException.class, stack::top);
    }

    @Test
    void manyStacksDoNotLeakMappings() throws Exception {
        for (int i = 0; i < 100; i++) GuardedStack.allocate(16 * 1024).close();
        long maps0 = ProcSelf.mapsCount();
        for (int i = 0; i < 5000; i++) GuardedStack.allocate(16 * 1024).close();
        assertTrue(ProcSelf.mapsCount() - maps0 <= 16, "mappings flat over 5000 stacks");
    }
}
