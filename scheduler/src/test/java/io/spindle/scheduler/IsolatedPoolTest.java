package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import io.spindle.runtime.NativeFunction;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;

import static io.spindle.scheduler.CType.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An isolated pool (isolated.c): tasks run in a namespaced child process with the same API;
 * each kind of death (SIGSEGV, abort, exit, a refused system call, a kill, a deadline) fails
 * exactly the tasks the child had, says what happened, and the next child runs the rest.
 * What the child cannot do is shown with the system-call filter on (it ends the child) and
 * off (the namespaces and the empty root stop it).
 */
class IsolatedPoolTest {
    static final Duration WAIT = Duration.ofSeconds(20);
    static final NativeFunction RETURN_ARG = SpindleTest.RETURN_ARG;

    static Isolation.Builder isolation() {
        return Isolation.builder().library(SchedTestLib.LIBRARY).restartBackoff(Duration.ZERO, Duration.ZERO);
    }

    static Spindle isolated(int workers, Isolation.Builder isolation) {
        return Spindle.builder().workers(workers).isolated(isolation.build()).build();
    }

    static NativeFunction fn(String symbol) {
        return SchedTestLib.fn(symbol);
    }

    @Test
    void tasksBatchesAndTypedCallsRunInTheChildWithTheSameApi() throws Exception {
        try (Spindle spindle = isolated(2, isolation())) {
            assertTrue(spindle.isIsolated());
            for (long i = 0; i < 1000; i++) assertEquals(i, spindle.spawn(RETURN_ARG, i).join(WAIT));
            long[] args = new long[10_000];
            for (int i = 0; i < args.length; i++) args[i] = i;
            assertArrayEquals(args, spindle.spawnAll(RETURN_ARG, args).join(WAIT));
            NativeLibrary libc = NativeLibrary.getInstance("c");
            TypedFunction labs = TypedFunction.of(libc, "labs", Signature.of(INT64, INT64));
            assertEquals(5, spindle.call(labs, -5L).join());
            long[] negatives = new long[1000];
            for (int i = 0; i < negatives.length; i++) negatives[i] = -i;
            long[] absolute = spindle.callAll(labs, (Object) negatives).join(WAIT);
            for (int i = 0; i < absolute.length; i++) assertEquals(i, absolute[i]);
            assertEquals(0, spindle.restarts());
        }
    }

    @Test
    void theWorkersAreThreadsOfTheChildWithTheStackSizeAsked() throws Exception {
        long stack = 512 * 1024;
        try (Spindle spindle = Spindle.builder().workers(2).workerStackSize(stack).isolated(isolation().build()).build()) {
            assertEquals(1, spindle.spawn(RETURN_ARG, 1).join(WAIT));
            long size = spindle.spawn(fn("spn_test_worker_stack_size"), 0).join(WAIT);
            assertTrue(size >= stack && size < stack + 64 * 1024, "the worker's own stack: " + size);
            int[] tids = spindle.workerTids();
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (Arrays.stream(tids).anyMatch(tid -> tid == 0) && System.nanoTime() < deadline) {
                Thread.sleep(1); // 0: a worker of the new child that has not run yet
                tids = spindle.workerTids();
            }
            assertEquals(2, tids.length);
            for (int tid : tids) {
                assertTrue(Files.isDirectory(Path.of("/proc/" + spindle.childPid() + "/task/" + tid)),
                        "worker " + tid + " is a thread of the child " + spindle.childPid() + ": " + Arrays.toString(tids));
            }
            assertNotEquals(tids[0], tids[1]);
        }
    }

    @Test
    void aSystemCallThePoolAllowsPassesTheFilter() throws Exception {
        int socket = System.getProperty("os.arch").equals("aarch64") ? 198 : 41; // <sys/syscall.h>
        try (Spindle spindle = isolated(1, isolation().allowSystemCalls(socket))) {
            long fd = spindle.spawn(fn("spn_test_open_socket"), 0).join(WAIT);
            assertTrue(fd >= 0, "socket() allowed: a descriptor in the child's own network namespace, got " + fd);
            assertEquals(31, crashOf(spindle.spawn(fn("spn_test_fork"), 0)).signal(), "the rest of the filter holds");
        }
        assertThrows(IllegalArgumentException.class, () -> Isolation.builder().allowSystemCalls(-1));
    }

    @Test
    void virtualThreadsAndFuturesJoinIsolatedTasksAndCrashesAlike() throws Exception {
        try (Spindle spindle = isolated(2, isolation())) {
            Task ok = spindle.spawn(fn("spn_test_nap"), 20);
            long[] joined = new long[1];
            Thread vt = Thread.ofVirtual().start(() -> joined[0] = ok.join());
            vt.join();
            assertEquals(20, joined[0], "a virtual thread's join");
            // A crash ends every task the child runs at that moment: this one runs alone.
            var failed = spindle.spawn(fn("spn_test_crash_segv"), 0x10).toCompletableFuture();
            var e = assertThrows(java.util.concurrent.ExecutionException.class, () -> failed.get(20, java.util.concurrent.TimeUnit.SECONDS));
            assertInstanceOf(TaskCrashedException.class, e.getCause(), "the future fails with the crash");
        }
    }

    @Test
    void aStackOverflowInTheChildFailsItsTask() throws Exception {
        try (Spindle spindle = isolated(1, isolation())) {
            TaskCrashedException e = crashOf(spindle.spawn(fn("spn_test_deep_recursion"), 1_000_000));
            assertTrue(e.signal() == 6 || e.signal() == 11, "Spindle's overflow report ends the child (SIGABRT), or the guard (SIGSEGV): "
                    + e.getMessage());
            assertEquals(4, spindle.spawn(RETURN_ARG, 4).join(WAIT));
        }
    }

    @Test
    void sharedMemoryIsTheChildsAndAPointerOutsideItIsRefused() throws Exception {
        try (Spindle spindle = isolated(1, isolation())) {
            TypedFunction write42 = TypedFunction.of(SchedTestLib.LIBRARY, "spn_test_write_42", Signature.of(INT64, POINTER));
            try (SharedMemory shared = spindle.allocateShared(64)) {
                shared.asByteBuffer().putLong(0, 7);
                assertEquals(7, spindle.call(write42, shared).join(), "the child read what the JVM wrote");
                assertEquals(42, shared.asByteBuffer().getLong(0), "the JVM reads what the child wrote");
            }
            Memory heap = new Memory(64);
            long submitted = spindle.stats().submitted();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> spindle.call(write42, heap));
            assertTrue(e.getMessage().contains("outside the isolated pool"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> spindle.spawn(fn("spn_test_write_42"), heap));
            assertThrows(IllegalArgumentException.class,
                    () -> spindle.callAll(write42, (Object) new long[] {com.sun.jna.Pointer.nativeValue(heap)}));
            assertEquals(submitted, spindle.stats().submitted(), "nothing was queued");
        }
    }

    @Test
    void aFunctionOfALibraryTheChildDidNotLoadIsRefused() {
        try (Spindle spindle = isolated(1, Isolation.builder())) { // not the test library
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> spindle.spawn(RETURN_ARG, 1));
            assertTrue(e.getMessage().contains("Isolation.builder().library"), e.getMessage());
        }
    }

    /** One worker: a crash, then queued tasks behind it. */
    static List<Task> crashThenQueued(Spindle spindle, NativeFunction crash, long arg, int queued) {
        List<Task> tasks = new ArrayList<>();
        tasks.add(spindle.spawn(crash, arg));
        for (int i = 0; i < queued; i++) tasks.add(spindle.spawn(fn("spn_test_nap"), 1));
        return tasks;
    }

    static TaskCrashedException crashOf(Task t) {
        return assertThrows(TaskCrashedException.class, () -> t.join(WAIT));
    }

    @Test
    void aSegfaultFailsItsTaskWithTheFaultAndTheQueuedTasksRunInTheNextChild() throws Exception {
        try (Spindle spindle = isolated(1, isolation())) {
            List<Task> tasks = crashThenQueued(spindle, fn("spn_test_crash_segv"), 0x10, 20);
            TaskCrashedException e = crashOf(tasks.get(0));
            assertEquals(11, e.signal(), e.getMessage());
            assertEquals(0x10L, e.faultAddress().orElseThrow(), e.getMessage());
            assertTrue(e.function().orElseThrow().contains("spn_test_crash_segv"), e.getMessage());
            for (Task t : tasks.subList(1, tasks.size())) assertEquals(1, t.join(WAIT), "queued: run by the next child");
            assertEquals(1, spindle.restarts(), "they ran in a new child");
        }
    }

    @Test
    void abortExitAKillAndARefusedSystemCallEachFailTheirTaskAndSaySo() throws Exception {
        try (Spindle spindle = isolated(1, isolation())) {
            TaskCrashedException abort = crashOf(spindle.spawn(fn("spn_test_crash_abort"), 0));
            assertEquals(6, abort.signal(), abort.getMessage());
            TaskCrashedException exit = crashOf(spindle.spawn(fn("spn_test_crash_exit"), 3));
            assertEquals(0, exit.signal());
            assertEquals(3, exit.exitStatus(), exit.getMessage());
            assertEquals("exit(3)", exit.cause());
            TaskCrashedException open = crashOf(spindle.spawn(fn("spn_test_open_file"), spindle.allocateShared(16)));
            assertEquals(31, open.signal(), open.getMessage()); // SIGSYS: the filter refused openat
            assertTrue(open.getMessage().contains("refused by its filter"), open.getMessage());
            // SIGKILL from outside, as the OOM killer sends it (the child cannot send it to
            // itself: it is pid 1 of its namespace, which ignores such signals from inside).
            assertEquals(1, spindle.spawn(RETURN_ARG, 1).join(WAIT), "the next child runs");
            while (!ProcessHandle.of(spindle.childPid()).map(ProcessHandle::isAlive).orElse(false)) Thread.sleep(1);
            Task napping = spindle.spawn(fn("spn_test_nap"), 10_000);
            Thread.sleep(200); // started: if not, it runs in the next child and the join below fails
            assertTrue(ProcessHandle.of(spindle.childPid()).orElseThrow().destroyForcibly());
            TaskCrashedException killed = crashOf(napping);
            assertEquals(9, killed.signal(), killed.getMessage());
            assertEquals(5, spindle.spawn(RETURN_ARG, 5).join(WAIT));
            assertEquals(4, spindle.restarts(), "a new child after each");
        }
    }

    @Test
    void aBusErrorFailsItsTaskWithTheFaultAddress() throws Exception {
        boolean arm = System.getProperty("os.arch").equals("aarch64");
        int memfdCreate = arm ? 279 : 319, ftruncate = arm ? 46 : 77; // <sys/syscall.h>
        try (Spindle spindle = isolated(1, isolation().allowSystemCalls(memfdCreate, ftruncate))) {
            TaskCrashedException e = crashOf(spindle.spawn(fn("spn_test_crash_bus"), 0));
            assertEquals(7, e.signal(), e.getMessage());
            long address = e.faultAddress().orElseThrow();
            assertTrue(address != 0 && address % 4096 == 0, "the first byte past the file's page: " + e.getMessage());
            assertTrue(e.function().orElseThrow().contains("spn_test_crash_bus"), e.getMessage());
            assertTrue(e.getMessage().contains("SIGBUS"), e.getMessage());
            assertEquals(2, spindle.spawn(RETURN_ARG, 2).join(WAIT), "the next child runs");
        }
    }

    /**
     * A real OOM kill: the child is moved into a memory cgroup of 64 MiB (made below the
     * JVM's own) and a task touches 1 GiB. The kernel's OOM killer, not the test, ends it: the
     * cgroup counts the kill. Needs a writable memory cgroup (root, or a delegated one).
     */
    @Test
    void anOomKillFailsItsTaskAndTheNextChildRuns() throws Exception {
        MemoryCgroup cgroup = MemoryCgroup.below(ProcessHandle.current().pid(), 64L << 20);
        assumeTrue(cgroup != null,
                "skipped: no writable memory cgroup below this JVM's (needs root or a delegated cgroup) to make an OOM kill in");
        try (Spindle spindle = isolated(1, isolation())) {
            assertEquals(1, spindle.spawn(RETURN_ARG, 1).join(WAIT));
            cgroup.add(spindle.childPid());
            TaskCrashedException e = crashOf(spindle.spawn(fn("spn_test_eat_memory"), 1024));
            assertEquals(9, e.signal(), e.getMessage());
            assertTrue(e.getMessage().contains("OOM killer"), e.getMessage());
            assertTrue(cgroup.oomKills() >= 1, "the kernel's OOM killer killed the child");
            assertEquals(3, spindle.spawn(RETURN_ARG, 3).join(WAIT), "the next child (outside the cgroup) runs");
        } finally {
            cgroup.remove();
        }
    }

    /** A memory cgroup of its own for the OOM test: v1 (memory controller) or v2 (unified). */
    record MemoryCgroup(Path dir, boolean v2) {
        static MemoryCgroup below(long pid, long limit) {
            try {
                Path root = Path.of("/sys/fs/cgroup");
                for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
                    String[] f = line.split(":", 3);
                    Path parent;
                    boolean v2;
                    if (Arrays.asList(f[1].split(",")).contains("memory")) {
                        parent = root.resolve("memory").resolve(f[2].substring(1));
                        v2 = false;
                    } else if (f[0].equals("0") && f[1].isEmpty()
                            && Files.readString(root.resolve("cgroup.controllers")).contains("memory")) {
                        parent = root.resolve(f[2].substring(1));
                        v2 = true;
                    } else {
                        continue;
                    }
                    Path dir = parent.resolve("spindle-oom-test-" + pid);
                    Files.createDirectories(dir);
                    MemoryCgroup cgroup = new MemoryCgroup(dir, v2);
                    cgroup.write(v2 ? "memory.max" : "memory.limit_in_bytes", Long.toString(limit));
                    if (v2 && Files.exists(dir.resolve("memory.swap.max"))) cgroup.write("memory.swap.max", "0");
                    return cgroup;
                }
            } catch (IOException | RuntimeException e) {
                return null; // not there, or not ours to write
            }
            return null;
        }

        void write(String file, String value) throws IOException {
            Files.writeString(dir.resolve(file), value);
        }

        void add(long pid) throws IOException {
            write("cgroup.procs", Long.toString(pid));
        }

        /** The OOM killer's kills in it (memory.oom_control in v1, memory.events in v2). */
        long oomKills() throws IOException {
            for (String line : Files.readAllLines(dir.resolve(v2 ? "memory.events" : "memory.oom_control"))) {
                if (line.startsWith("oom_kill ")) return Long.parseLong(line.substring(9).trim());
            }
            throw new AssertionError("no oom_kill count in " + dir);
        }

        /** Removes it once its last process has gone (the killed child is reaped by then). */
        void remove() throws Exception {
            for (int i = 0; i < 200; i++) {
                try {
                    Files.delete(dir);
                    return;
                } catch (IOException busy) {
                    Thread.sleep(10);
                }
            }
            Files.delete(dir);
        }
    }

    @Test
    void aTaskPastTheDeadlineGetsTheChildKilledAndFailsWithTheDeadlineAsCause() throws Exception {
        try (Spindle spindle = isolated(1, isolation().taskDeadline(Duration.ofMillis(200)))) {
            TaskCrashedException e = crashOf(spindle.spawn(fn("spn_test_spin_forever"), 0));
            assertTrue(e.cause().startsWith("deadline"), e.getMessage());
            assertEquals(9, e.signal());
            assertEquals(50, spindle.spawn(fn("spn_test_nap"), 50).join(WAIT), "a task inside the deadline");
        }
    }

    @Test
    void withoutRetryTheQueuedTasksFailWithTheSameCrash() throws Exception {
        try (Spindle spindle = isolated(1, isolation().retryQueued(false));
             SharedMemory gate = spindle.allocateShared(8)) {
            gate.asByteBuffer().putLong(0, 0);
            // The one worker waits at the gate until everything is queued behind the crash.
            Task waiting = spindle.spawn(SpindleTest.WAIT_GATE, gate);
            List<Task> tasks = crashThenQueued(spindle, fn("spn_test_crash_segv"), 0x10, 20);
            SchedTestLib.Direct.INSTANCE.spn_test_open_gate(gate.pointer());
            assertEquals(7, waiting.join(WAIT));
            for (Task t : tasks) assertEquals(11, crashOf(t).signal(), "the crash, and every task queued behind it");
            assertEquals(3, spindle.spawn(RETURN_ARG, 3).join(WAIT), "tasks queued after it run in the next child");
        }
    }

    @Test
    void aSpentRestartBudgetRefusesNewTasksWithTheLastCrash() throws Exception {
        try (Spindle spindle = isolated(1, isolation().maxRestarts(2))) {
            for (int i = 0; i < 3; i++) {
                int crash = i;
                Task t = spindle.spawn(fn("spn_test_crash_segv"), 0x10);
                assertThrows(TaskCrashedException.class, () -> t.join(WAIT), () -> "crash " + crash + ": " + t);
            }
            assertTrue(spindle.awaitTermination(WAIT), "the pool closes itself");
            RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> spindle.spawn(RETURN_ARG, 1));
            assertTrue(e.getMessage().contains("SIGSEGV"), e.getMessage());
        }
    }

    /** What the child cannot reach, with the filter off: the namespaces and the empty root stop it. */
    @Test
    void withoutTheFilterTheNamespacesAndTheEmptyRootStillContainIt() throws Exception {
        long jvm = ProcessHandle.current().pid();
        try (ServerSocket listening = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
             Spindle spindle = isolated(1, isolation().systemCallFilter(false))) {
            assertEquals(1, spindle.spawn(fn("spn_test_getpid_raw"), 0).join(WAIT), "pid 1 of its own PID namespace");
            assertEquals(-3, spindle.spawn(fn("spn_test_kill_pid"), jvm).join(WAIT), "the JVM's pid: ESRCH, no such process");
            assertEquals(-3, spindle.spawn(fn("spn_test_ptrace_pid"), jvm).join(WAIT), "ptrace of the JVM: ESRCH");
            try (SharedMemory path = spindle.allocateShared(64)) {
                path.asByteBuffer().put("/etc/passwd\0".getBytes());
                assertEquals(-2, spindle.spawn(fn("spn_test_open_file"), path).join(WAIT), "no files: ENOENT in its empty root");
            }
            long connected = spindle.spawn(fn("spn_test_connect_loopback"), listening.getLocalPort()).join(WAIT);
            assertTrue(connected == -101 || connected == -111, "no network: ENETUNREACH or ECONNREFUSED, got " + connected);
        }
    }

    @Test
    void withTheFilterProcessesSocketsAndPtraceEndTheChild() throws Exception {
        try (Spindle spindle = isolated(1, isolation())) {
            for (String call : List.of("spn_test_fork", "spn_test_open_socket", "spn_test_ptrace_pid")) {
                Task t = spindle.spawn(fn(call), 1);
                TaskCrashedException e = assertThrows(TaskCrashedException.class, () -> t.join(WAIT), () -> call + " returned " + t);
                assertEquals(31, e.signal(), call + ": " + e.getMessage());
            }
            assertEquals(8, spindle.spawn(RETURN_ARG, 8).join(WAIT));
        }
    }
}
