package io.spindle.runtime;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Native code on a raw thread may call Java: JNI AttachCurrentThread works once the TCB says
 * where the thread's stack is (HotSpot asks pthread_getattr_np), and the call survives
 * collections; 10,000 attach, call and detach cycles leave maps, RSS and threads as they were.
 */
class UpcallTest {
    static long upcalls(int n) throws Exception {
        return NativeThread.builder().stackSize(1024 * 1024).start(TestLib.fn("spn_test_upcalls"), n).join(Duration.ofMinutes(2));
    }

    static long taskCount() throws java.io.IOException {
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
            return tasks.count();
        }
    }

    static long expectedSum(int n) {
        return (long) n * (n - 1) / 2 + n; // called(i) = i + 1
    }

    @Test
    void aRawThreadAttachesCallsJavaAndDetaches() throws Exception {
        assertEquals(expectedSum(3), upcalls(3));
        assertEquals(expectedSum(1), upcalls(1), "again, on a thread that may reuse the first one's TCB");
    }

    @Test
    void tenThousandCyclesLeaveNothingBehind() throws Exception {
        upcalls(1_000); // warm: classes loaded, methods compiled
        long maps = ProcSelf.mapsCount(), rss = ProcSelf.rssKiB(), threads = Thread.getAllStackTraces().size();
        long tasks = taskCount();
        assertEquals(expectedSum(10_000), upcalls(10_000));
        for (int i = 0; i < 20; i++) assertEquals(expectedSum(10), upcalls(10));
        String change = "maps " + maps + " -> " + ProcSelf.mapsCount() + ", RSS " + rss + " -> " + ProcSelf.rssKiB()
                + " KiB, Java threads " + threads + " -> " + Thread.getAllStackTraces().size()
                + ", kernel threads " + tasks + " -> " + taskCount();
        System.out.println("upcalls: " + change);
        assertTrue(taskCount() <= tasks + 1, change);
        assertTrue(Thread.getAllStackTraces().size() <= threads + 1, "no attached thread is left: " + change);
        assertTrue(ProcSelf.mapsCount() <= maps + 16, change);
        assertTrue(ProcSelf.rssKiB() <= rss + 64 * 1024, change);
    }
}
