package io.spindle.scheduler;

import io.spindle.runtime.CloneException;
import io.spindle.runtime.GuardedStack;
import io.spindle.runtime.ProcSelf;
import io.spindle.scheduler.internal.SchedNative;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** The edges of what a runtime accepts, and what a build that fails leaves behind: nothing. */
class SpindleLimitsTest {
    /** Mappings and RSS the JVM itself moves by between two reads (JIT, GC, JNA). */
    private static final long MAPS_TOLERANCE = 32;
    private static final long RSS_TOLERANCE_KIB = 48 * 1024;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void theLargestAcceptedRingBuildsAndRunsATask() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(1).ringCapacity(Spindle.MAX_RING_CAPACITY).build()) {
            assertEquals(1 << 26, spindle.ringCapacity());
            assertEquals(42, spindle.spawn(SpindleTest.RETURN_ARG, 42).join());
            assertArrayEquals(new long[] {1, 2, 3}, spindle.spawnAll(SpindleTest.RETURN_ARG, new long[] {1, 2, 3}).join());
        }
    }

    @Test
    void aRingAboveTheLimitIsRefusedNamingTheLimitBeforeAnythingIsAllocated() throws Exception {
        long rss0 = ProcSelf.rssKiB();
        for (int capacity : new int[] {1 << 27, 1 << 30}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Spindle.builder().ringCapacity(capacity));
            assertTrue(e.getMessage().contains("2^26") && e.getMessage().contains("67108864")
                    && e.getMessage().contains("was " + capacity), e.getMessage());
        }
        // The native side refuses it too, without allocating (the old code wrote 2 GiB of
        // slots first, then failed): the resident size below says so.
        long[] out = new long[1];
        assertEquals(22 /* EINVAL */, SchedNative.spn_sched_create(1, 1L << 27, 0, 64 * 1024, out));
        assertEquals(0, SchedNative.spn_ring_create(1L << 27));
        assertTrue(ProcSelf.rssKiB() - rss0 < RSS_TOLERANCE_KIB, "RSS grew from " + rss0 + " to " + ProcSelf.rssKiB() + " KiB");
    }

    /** A worker stack larger than the address space: the first worker's mmap fails, after the poller started. */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aWorkerThatCannotStartLeavesNothingBehind() throws Exception {
        assertLeavesNothingBehind(() -> {
            CloneException e = assertThrows(CloneException.class, () -> Spindle.builder().workers(2)
                    .ringCapacity(1 << 20).workerStackSize(1L << 47).build());
            assertTrue(e.getMessage().contains("ENOMEM"), e.getMessage());
        });
    }

    /** The second worker fails after the first one runs: the first is stopped and joined. */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aFailureAfterSomeWorkersStartedStopsThemAndFreesEverything() throws Exception {
        for (int failingWorker : new int[] {0, 1, 2}) {
            assertLeavesNothingBehind(() -> {
                Spindle.Builder b = Spindle.builder().workers(3).ringCapacity(1 << 20);
                b.afterWorkerStarted = index -> {
                    if (index == failingWorker) throw new IllegalStateException("injected after worker " + index);
                };
                IllegalStateException e = assertThrows(IllegalStateException.class, b::build);
                assertEquals("injected after worker " + failingWorker, e.getMessage(), "the cause reaches the caller");
            });
        }
        // And a runtime built afterwards works.
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            assertEquals(7, spindle.spawn(SpindleTest.RETURN_ARG, 7).join());
        }
    }

    /**
     * 40 failed builds, each with a 16 MiB ring, a poller thread and worker stacks: a leak of any
     * of them would show as 640 MiB of RSS, 40+ threads or 80+ mappings.
     */
    private static void assertLeavesNothingBehind(Runnable failedBuild) throws IOException {
        // Warm-up: JIT, JNA, the stack and TCB caches, and malloc, which after the first frees
        // serves rings of this size from its heap instead of fresh mappings.
        for (int i = 0; i < 20; i++) failedBuild.run();
        System.gc();
        long maps0 = ProcSelf.mapsCount();
        long rss0 = ProcSelf.rssKiB();
        long threads0 = threadCount();
        long stacks0 = GuardedStack.liveCount();
        for (int i = 0; i < 40; i++) failedBuild.run();
        System.gc();
        long maps1 = ProcSelf.mapsCount();
        long rss1 = ProcSelf.rssKiB();
        long threads1 = threadCount();
        // The JVM starts and ends compiler threads as it likes: a few either way.
        assertTrue(threads1 - threads0 <= 4, "threads grew from " + threads0 + " to " + threads1);
        assertTrue(maps1 - maps0 <= MAPS_TOLERANCE, "mappings grew from " + maps0 + " to " + maps1);
        assertTrue(rss1 - rss0 <= RSS_TOLERANCE_KIB, "RSS grew from " + rss0 + " to " + rss1 + " KiB");
        assertEquals(stacks0, GuardedStack.liveCount(), "worker stacks went back");
    }

    private static long threadCount() throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.count();
        }
    }

    /**
     * Workers are raw threads: born with glibc's internal signals 32 and 33 blocked like every
     * asynchronous signal (what a stray one does then is the runtime's SignalsTest).
     */
    @Test
    void workersAreBornWithGlibcsInternalSignalsBlocked() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            for (int tid : spindle.workerTids()) {
                long blocked = 0;
                for (String line : Files.readAllLines(Path.of("/proc/self/task/" + tid + "/status"))) {
                    if (line.startsWith("SigBlk:")) blocked = Long.parseUnsignedLong(line.substring(7).trim(), 16);
                }
                long internal = 1L << 31 | 1L << 32; // signals 32 and 33: bits n - 1
                assertEquals(internal, blocked & internal, "worker " + tid + " SigBlk " + Long.toHexString(blocked));
                assertEquals(0, blocked & (1L << 10), "SIGSEGV stays deliverable (hs_err reports)");
            }
            assertEquals(3, spindle.spawn(SpindleTest.RETURN_ARG, 3).join());
        }
    }

    @Test
    void anEmptyBatchIsDoneAtOnceWithNoResults() throws Exception {
        Spindle spindle = Spindle.builder().workers(1).build();
        TaskGroup none = spindle.spawnAll(SpindleTest.RETURN_ARG, new long[0]);
        assertTrue(none.isDone());
        assertEquals(0, none.size());
        assertArrayEquals(new long[0], none.join());
        assertArrayEquals(new long[0], none.join(java.time.Duration.ZERO));
        var future = none.toCompletableFuture();
        assertTrue(future.isDone() && !future.isCompletedExceptionally());
        assertArrayEquals(new long[0], future.get());
        assertTrue(none.toString().contains("done"), none.toString());
        spindle.close();
        // It owns nothing native: still answers after close, and so does a new one (as invokeAll of nothing).
        assertArrayEquals(new long[0], none.join());
        assertArrayEquals(new long[0], spindle.spawnAll(SpindleTest.RETURN_ARG, new long[0]).join());
        assertThrows(NullPointerException.class, () -> spindle.spawnAll(SpindleTest.RETURN_ARG, null));
    }
}
