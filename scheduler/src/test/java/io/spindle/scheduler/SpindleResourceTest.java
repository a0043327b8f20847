package io.spindle.scheduler;

import io.spindle.runtime.GuardedStack;
import io.spindle.runtime.NativeThread;
import io.spindle.runtime.ProcSelf;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** Native memory and CPU: what a runtime holds while open, and what it gives back. */
class SpindleResourceTest {

    /**
     * 100 open/close cycles, then a million tasks: mappings and RSS stay flat. Tolerances:
     * 32 mappings and 24 MiB (the JVM's own code cache, GC and JNA memory move by that much);
     * a leaked runtime would keep 2 worker stacks, a ring and a 256 KiB descriptor chunk.
     */
    @Test
    void openCloseCyclesAndAMillionTasksLeaveMappingsAndRssFlat() throws Exception {
        for (int i = 0; i < 10; i++) cycle(); // warm-up: JIT, JNA, the TCB and stack caches
        System.gc();
        long maps0 = ProcSelf.mapsCount();
        long rss0 = ProcSelf.rssKiB();
        long stacks0 = GuardedStack.liveCount();
        for (int i = 0; i < 100; i++) cycle();
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            long[] args = new long[10_000];
            for (int batch = 0; batch < 100; batch++) spindle.spawnAll(SpindleTest.RETURN_ARG, args).join();
        }
        System.gc();
        long maps1 = ProcSelf.mapsCount();
        long rss1 = ProcSelf.rssKiB();
        System.out.printf("maps %d -> %d, RSS %d -> %d KiB, stacks %d -> %d%n",
                maps0, maps1, rss0, rss1, stacks0, GuardedStack.liveCount());
        assertTrue(maps1 - maps0 <= 32, "mappings grew from " + maps0 + " to " + maps1);
        assertTrue(rss1 - rss0 <= 24 * 1024, "RSS grew from " + rss0 + " to " + rss1 + " KiB");
        assertEquals(stacks0, GuardedStack.liveCount(), "worker stacks returned to the cache");
    }

    private static void cycle() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            assertEquals(1, spindle.spawn(SpindleTest.RETURN_ARG, 1).join());
        }
    }

    @Test
    void idleWorkersSleepAfterTheSpinWindow() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).spinTime(java.time.Duration.ofNanos(50_000)).build()) {
            for (int i = 0; i < 1000; i++) spindle.execute(SpindleTest.RETURN_ARG, i);
            spindle.spawn(SpindleTest.RETURN_ARG, 0).join();
            Thread.sleep(200); // well past the spin window
            int[] tids = spindle.workerTids();
            long before = 0;
            for (int tid : tids) before += SchedTestLib.cpuTicks(tid);
            Thread.sleep(1000);
            long after = 0;
            for (int tid : tids) after += SchedTestLib.cpuTicks(tid);
            // Clock ticks are 10 ms: two workers spinning for a second would show ~200.
            assertTrue(after - before <= 2, "idle workers used " + (after - before) + " ticks in 1 s");
            assertTrue(spindle.stats().parks() >= 2, "both workers went to sleep: " + spindle.stats());
            // And they wake up for new work.
            assertEquals(5, spindle.spawn(SpindleTest.RETURN_ARG, 5).join());
        }
    }

    @Test
    void workersAreRawThreadsWithTheirOwnTids() {
        try (Spindle spindle = Spindle.builder().workers(3).build()) {
            int[] tids = spindle.workerTids();
            assertEquals(3, java.util.Arrays.stream(tids).distinct().count());
            spindle.spawn(SpindleTest.RETURN_ARG, 0).join();
        }
        assertTrue(NativeThread.liveTcbs() >= 0);
    }
}
