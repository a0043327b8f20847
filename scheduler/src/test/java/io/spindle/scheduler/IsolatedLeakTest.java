package io.spindle.scheduler;

import io.spindle.runtime.ProcSelf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A thousand crashes and restarts of an isolated pool's child (a fault, an abort, an exit
 * and a refused system call in turn) leave the JVM's mappings, descriptors, resident size
 * and child processes as they were, and the shared region's blocks and descriptors too:
 * each crash's tasks give back what they held. Tolerances as in the runtime's LeakTest:
 * 16 mappings, 16 MiB of RSS; descriptors and children exactly.
 */
class IsolatedLeakTest {
    static final int CYCLES = 1_000;
    static final String[] CRASHES = {"spn_test_crash_segv", "spn_test_crash_abort", "spn_test_crash_exit", "spn_test_open_file"};

    static long children() throws Exception {
        long n = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String c = Files.readString(t.resolve("children")).trim();
                    if (!c.isEmpty()) n += c.split("\\s+").length;
                } catch (java.io.IOException gone) {
                    // a thread that ended meanwhile
                }
            }
        }
        return n;
    }

    /** Descriptors some owner still holds (refs > 0): a leaked one stays so for ever. */
    static long liveDescriptors(Spindle spindle) {
        long n = 0;
        for (int i = 0; i < spindle.pool.capacity(); i++) if (spindle.pool.refs(i) > 0) n++;
        return n;
    }

    static String supervisorStack() {
        StringBuilder b = new StringBuilder();
        Thread.getAllStackTraces().forEach((t, stack) -> {
            if (t.getName().contains("supervisor")) {
                b.append(t.getName()).append(' ').append(t.getState()).append('\n');
                for (StackTraceElement e : stack) b.append("  at ").append(e).append('\n');
            }
        });
        return b.length() == 0 ? "no supervisor thread" : b.toString();
    }

    static void cycles(Spindle spindle, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            Task t = spindle.spawn(SchedTestLib.fn(CRASHES[i % CRASHES.length]), i % CRASHES.length == 0 ? 0x10 : 3);
            int cycle = i;
            assertThrows(TaskCrashedException.class, () -> t.join(Duration.ofSeconds(30)),
                    () -> "cycle " + cycle + " (" + CRASHES[cycle % CRASHES.length] + "): " + t + ", restarts " + spindle.restarts()
                            + ", child " + spindle.childPid() + " alive " + ProcessHandle.of(spindle.childPid()).map(ProcessHandle::isAlive)
                            + ", " + spindle.stats() + "\n" + supervisorStack());
        }
        assertEquals(1, spindle.spawn(SpindleTest.RETURN_ARG, 1).join(Duration.ofSeconds(30)), "the last child runs");
    }

    @Test
    @Timeout(600)
    void aThousandCrashesAndRestartsLeaveNothingBehind() throws Exception {
        long childrenBefore = children();
        long fdsBefore;
        try (Spindle spindle = IsolatedPoolTest.isolated(1, IsolatedPoolTest.isolation().maxRestarts(10 * CYCLES))) {
            cycles(spindle, 50);
            System.gc();
            long maps0 = ProcSelf.mapsCount(), fds0 = ProcSelf.fdCount(), rss0 = ProcSelf.rssKiB();
            long shared0 = spindle.sharedMemoryInUse(), children0 = children();
            long descriptors0 = liveDescriptors(spindle);
            fdsBefore = fds0;
            cycles(spindle, CYCLES);
            System.gc();
            long maps1 = ProcSelf.mapsCount(), fds1 = ProcSelf.fdCount(), rss1 = ProcSelf.rssKiB();
            System.out.printf("%d crash/restart cycles: maps %d -> %d, fds %d -> %d, RSS %d -> %d KiB, shared %d -> %d bytes,"
                            + " children %d -> %d, live descriptors %d -> %d, restarts %d%n", CYCLES, maps0, maps1, fds0, fds1, rss0, rss1,
                    shared0, spindle.sharedMemoryInUse(), children0, children(), descriptors0, liveDescriptors(spindle),
                    spindle.restarts());
            assertEquals(fds0, fds1, "descriptors (pidfds, pipes, the region's memfd)");
            assertEquals(children0, children(), "every dead child reaped");
            assertTrue(maps1 - maps0 <= 16, "maps grew from " + maps0 + " to " + maps1);
            assertTrue(rss1 - rss0 <= 16 * 1024, "RSS grew from " + rss0 + " to " + rss1 + " KiB");
            assertEquals(shared0, spindle.sharedMemoryInUse(), "the shared region's blocks");
            assertEquals(descriptors0, liveDescriptors(spindle), "descriptors held: the crashed tasks' came back to the pool");
            assertEquals(50 + CYCLES, spindle.restarts());
        }
        assertEquals(childrenBefore, children(), "the last child reaped at close");
        assertTrue(ProcSelf.fdCount() < fdsBefore, "the region's memfd closed with the pool");
    }
}
