package io.spindle.runtime;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Ten thousand start/join cycles leave the mappings and the resident size flat.
 * Tolerances: mappings may move by 16 lines (the JVM maps and unmaps on its own: code cache,
 * GC regions, JNA's temporary memory); RSS by 16 MiB (heap growth from the test's own
 * garbage). A leak of one stack per cycle would add 20,000 mappings; one TCB per cycle
 * (~4 KiB) would add ~40 MiB.
 *
 * Threads that use every kind of memory libc keeps per thread (malloc's cache, filled; a
 * key's block above 31; dlerror's message; strerror's and strsignal's buffers; the resolver)
 * leave malloc's bytes in use flat too, cached or not: each thread's cache holds ~30 KiB of
 * chunks, so losing it would add ~60 MiB over 2,000 threads; the tolerance, 8 MiB, is for
 * what the JVM's own threads malloc meanwhile.
 */
class LeakTest {
    static final int CYCLES = 10_000;
    static final long MAPS_TOLERANCE = 16;
    static final long RSS_TOLERANCE_KIB = 16 * 1024;

    private static void cycles(NativeThread.Builder builder, NativeFunction fn, int n) {
        for (int i = 0; i < n; i++) {
            assertEquals(i, builder.start(fn, i).join());
        }
    }

    private static void assertFlat(NativeThread.Builder builder, String what) throws Exception {
        NativeFunction fn = TestLib.fn("spn_test_return_arg");
        cycles(builder, fn, 500); // warm up: JIT, JNA, caches at their working size
        System.gc();
        long maps0 = ProcSelf.mapsCount();
        long rss0 = ProcSelf.rssKiB();
        long stacks0 = GuardedStack.liveCount();
        long tcbs0 = NativeThread.liveTcbs();
        cycles(builder, fn, CYCLES);
        System.gc();
        long maps1 = ProcSelf.mapsCount();
        long rss1 = ProcSelf.rssKiB();
        System.out.printf("%s: maps %d -> %d, RSS %d -> %d KiB, stacks %d -> %d, TCBs %d -> %d%n",
                what, maps0, maps1, rss0, rss1, stacks0, GuardedStack.liveCount(), tcbs0, NativeThread.liveTcbs());
        assertEquals(stacks0, GuardedStack.liveCount(), what + ": every stack released or cached");
        assertEquals(tcbs0, NativeThread.liveTcbs(), what + ": every TCB released or cached");
        assertTrue(maps1 - maps0 <= MAPS_TOLERANCE, what + ": /proc/self/maps grew from " + maps0 + " to " + maps1);
        assertTrue(rss1 - rss0 <= RSS_TOLERANCE_KIB, what + ": RSS grew from " + rss0 + " to " + rss1 + " KiB");
    }

    @Test
    void cachedStartJoinCyclesLeaveMapsAndRssFlat() throws Exception {
        assertFlat(NativeThread.builder(), "cached");
    }

    @Test
    void uncachedStartJoinCyclesLeaveMapsAndRssFlat() throws Exception {
        assertFlat(NativeThread.builder().cached(false), "uncached");
    }

    static final int CHURN_CYCLES = 2_000;
    static final long HEAP_TOLERANCE = 8L << 20;

    private static void assertLibcMemoryFlat(NativeThread.Builder builder, String what) throws Exception {
        NativeFunction churn = TestLib.fn("spn_test_libc_memory_churn");
        assertEquals(0, ThreadLocalsTest.H.spn_test_tls_setup(), "the test's keys");
        for (int i = 0; i < 200; i++) assertEquals(0, builder.start(churn, 0).join(), "churn ran");
        System.gc();
        long heap0 = TestLib.Direct.INSTANCE.spn_test_malloc_in_use();
        long fds0 = ProcSelf.fdCount();
        long maps0 = ProcSelf.mapsCount();
        for (int i = 0; i < CHURN_CYCLES; i++) assertEquals(0, builder.start(churn, 0).join(), "churn ran");
        System.gc();
        long heap1 = TestLib.Direct.INSTANCE.spn_test_malloc_in_use();
        long fds1 = ProcSelf.fdCount();
        long maps1 = ProcSelf.mapsCount();
        System.out.printf("%s churn: malloc in use %d -> %d bytes, fds %d -> %d, maps %d -> %d%n",
                what, heap0, heap1, fds0, fds1, maps0, maps1);
        assertTrue(heap1 - heap0 <= HEAP_TOLERANCE, what + ": malloc's bytes in use grew from " + heap0 + " to " + heap1);
        assertEquals(fds0, fds1, what + ": no descriptor left open (the resolver's sockets)");
        assertTrue(maps1 - maps0 <= MAPS_TOLERANCE, what + ": /proc/self/maps grew from " + maps0 + " to " + maps1);
    }

    @Test
    void threadsUsingLibcsPerThreadMemoryLeaveTheHeapFlat() throws Exception {
        assertLibcMemoryFlat(NativeThread.builder(), "cached");
    }

    @Test
    void uncachedThreadsUsingLibcsPerThreadMemoryLeaveTheHeapFlat() throws Exception {
        assertLibcMemoryFlat(NativeThread.builder().cached(false), "uncached");
    }

    @Test
    void trimmingTheCachesReleasesEverything() {
        NativeFunction fn = TestLib.fn("spn_test_return_arg");
        long stacksBefore = GuardedStack.liveCount();
        cycles(NativeThread.builder(), fn, 10);
        assertTrue(GuardedStack.liveCount() >= 1, "a joined thread's stack went to the cache");
        NativeThread.trimCaches();
        assertEquals(0, GuardedStack.liveCount(), "trim unmaps every cached stack (was " + stacksBefore + " before)");
        assertEquals(0, NativeThread.liveTcbs(), "trim frees every cached TCB");
    }
}
