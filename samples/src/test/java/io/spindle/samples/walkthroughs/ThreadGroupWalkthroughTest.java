package io.spindle.samples.walkthroughs;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ThreadGroupWalkthroughTest {
    @Test
    void fourThreadsShareTheJvmsTgidWithDistinctTidsAndTheSameParent() {
        ThreadGroupWalkthrough.Observations o = new ThreadGroupWalkthrough().observe();
        long pid = ProcessHandle.current().pid();
        long parent = ProcessHandle.current().parent().orElseThrow().pid();
        assertEquals(pid, o.jvmPid());
        assertEquals(4, o.threads().size());
        assertEquals(4, o.threads().stream().map(ThreadGroupWalkthrough.ThreadIds::tid).distinct().count(),
                "every thread has its own tid: " + o);
        for (ThreadGroupWalkthrough.ThreadIds t : o.threads()) {
            assertEquals(pid, t.pid(), "getpid() on a CLONE_THREAD thread is the JVM's pid (the TGID)");
            assertNotEquals(pid, t.tid(), "a thread's tid is not the group leader's");
            assertNotEquals(o.callerTid(), t.tid());
            assertEquals(t.startTid(), t.tid(), "NativeThread.tid() is the tid the thread sees");
            assertEquals(parent, t.ppid(), "the thread group's parent is the JVM's parent");
        }
        assertTrue(o.holds());
    }

    @Test
    void theCommandShowsItAndExitsZero() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, new ThreadGroupWalkthrough().run(List.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("getpid() " + ProcessHandle.current().pid()));
    }
}
