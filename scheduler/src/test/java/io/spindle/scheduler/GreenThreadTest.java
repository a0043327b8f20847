package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.spindle.runtime.NativeFunction;
import io.spindle.runtime.ProcSelf;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.*;

/** Tasks as green threads: spindle.h's spawn, join and yield from task code, and stealing. */
class GreenThreadTest {
    static NativeFunction fn(String name) {
        return SchedTestLib.fn(name);
    }

    static long fibArg(long n, long cutoff) {
        return n | cutoff << 32;
    }

    @ParameterizedTest(name = "{0} worker(s)")
    @ValueSource(ints = {1, 2})
    void forkJoinFib27WithASpawnPerCall(int workers) {
        try (Spindle spindle = Spindle.builder().workers(workers).build()) {
            assertEquals(196_418, spindle.spawn(fn("spn_test_fib"), fibArg(27, 8)).join());
            SpindleStats stats = spindle.stats();
            System.out.println(workers + " worker(s): " + stats);
            // Lazy task creation: most children run inline on their parent's stack, so the
            // tasks that got a stack of their own are few (the root, and what was stolen).
            assertTrue(stats.stacks() < 1000, "stacks in use or cached: " + stats.stacks());
            if (workers == 1) assertEquals(0, stats.steals());
        }
    }

    @Test
    void parallelQuicksortOfTenMillionInts() {
        int n = 10_000_000;
        Memory data = new Memory(4L * n);
        Random random = new Random(27);
        int[] expected = new int[n];
        for (int i = 0; i < n; i++) expected[i] = random.nextInt();
        data.write(0, expected, 0, n);
        Memory range = new Memory(16);
        range.setLong(0, Pointer.nativeValue(data));
        range.setLong(8, n);
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            assertEquals(0, spindle.spawn(fn("spn_test_quicksort"), range).join());
            System.out.println("quicksort: " + spindle.stats());
        }
        int[] sorted = data.getIntArray(0, n);
        Arrays.sort(expected);
        assertArrayEquals(expected, sorted, "sorted, and a permutation of the input");
    }

    @Test
    @Timeout(300)
    void aHundredThousandGreenThreadsBlockedAtOnceThenReleased() throws Exception {
        int waiters = 100_000;
        Memory flag = SchedTestLib.zeroed(8);
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            Task gate = spindle.spawn(fn("spn_test_gate"), flag);
            Memory shared = SchedTestLib.zeroed(16); // struct gate_waiters {gate, parked}
            shared.setLong(0, gate.nativeHandle());
            long[] args = new long[waiters];
            Arrays.fill(args, Pointer.nativeValue(shared));
            TaskGroup group = spindle.spawnAll(fn("spn_test_gate_waiter"), args);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (shared.getLong(8) < waiters && System.nanoTime() < deadline) Thread.sleep(10);
            assertEquals(waiters, shared.getLong(8), "every waiter reached its join");
            Thread.sleep(50);
            SpindleStats blocked = spindle.stats();
            long peakRssKiB = ProcSelf.statusKiB("VmHWM:");
            System.out.printf("%d green threads blocked: %d stacks, %d mappings, peak RSS %d MiB%n",
                    waiters, blocked.stacks(), ProcSelf.mapsCount(), peakRssKiB / 1024);
            assertTrue(blocked.stacks() >= waiters, "each blocked green thread holds its stack: " + blocked.stacks());
            assertFalse(group.isDone());
            flag.setLong(0, 1); // open the gate
            long[] results = group.join(Duration.ofSeconds(120));
            assertTrue(Arrays.stream(results).allMatch(r -> r == 42), "every waiter saw the gate's result");
            assertEquals(42, gate.join());
        }
    }

    @ParameterizedTest(name = "{0} worker(s)")
    @ValueSource(ints = {1, 2})
    void membersOfABatchThatWaitForEachOtherAllRunAtOnce(int workers) throws Exception {
        int members = 5_000; // most chunks hold 64: a yielding member has siblings behind it
        Memory barrier = SchedTestLib.zeroed(24); // struct batch_barrier
        barrier.setLong(8, members);
        try (Spindle spindle = Spindle.builder().workers(workers).build()) {
            assertTrue(spindle.batchChunk(members) > 1, "the batch must share chunks for this test to mean anything");
            long[] args = new long[members];
            Arrays.fill(args, Pointer.nativeValue(barrier));
            TaskGroup group = spindle.spawnAll(fn("spn_test_batch_barrier"), args);
            long[] results;
            try {
                results = group.join(Duration.ofSeconds(60));
            } catch (TimeoutException e) {
                // What happens if a waiting member kept its chunk: the members behind it never start.
                barrier.setLong(16, 1); // let the waiting ones go, so that close() can end
                throw new AssertionError("only " + barrier.getLong(0) + " of " + members + " members started", e);
            }
            assertEquals(members, barrier.getLong(0));
            assertTrue(Arrays.stream(results).allMatch(r -> r >= 0 && r < workers), "each ended on a worker");
            spindle.close();
            SpindleStats stats = spindle.stats();
            assertEquals(members, stats.tasksRun(), "each member ran once");
            assertEquals(members, stats.submitted());
        }
    }

    @ParameterizedTest(name = "{0} worker(s)")
    @ValueSource(ints = {1, 2})
    void batchMembersThatForkAndJoinEachGetTheirOwnAnswer(int workers) throws Exception {
        // Each member is a fork-join fib(n) of its own, its children pushed on the deque of the
        // worker running its chunk: run inline by the member's joins, or stolen (then the
        // member parks and hands the rest of its chunk on) while other chunks run.
        int members = 2_000;
        long[] args = new long[members];
        long[] expected = new long[members];
        long[] fib = {0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597};
        long children = 0;
        long[] spawns = new long[fib.length]; // fork-join calls with n >= 2 spawn one child each
        for (int n = 2; n < fib.length; n++) spawns[n] = 1 + spawns[n - 1] + spawns[n - 2];
        for (int i = 0; i < members; i++) {
            int n = i % fib.length;
            args[i] = fibArg(n, 2);
            expected[i] = fib[n];
            children += spawns[n];
        }
        try (Spindle spindle = Spindle.builder().workers(workers).build()) {
            assertArrayEquals(expected, spindle.spawnAll(fn("spn_test_fib"), args).join(Duration.ofSeconds(60)));
            spindle.close();
            SpindleStats stats = spindle.stats();
            System.out.println("batch of fork-join members, " + workers + " worker(s): " + stats);
            assertEquals(members + children, stats.tasksRun(), "every member and every child ran once");
        }
    }

    @Test
    @Timeout(60)
    void twoGreenThreadsOnOneWorkerAlternateStrictlyWhenTheyYield() {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            Memory game = SchedTestLib.zeroed(32 + 64 + 8); // struct pingpong
            game.setLong(0, 1000);
            Memory a = SchedTestLib.zeroed(16), b = SchedTestLib.zeroed(16);
            a.setLong(0, Pointer.nativeValue(game));
            b.setLong(0, Pointer.nativeValue(game));
            b.setLong(8, 1);
            // B is queued only once A waits for it (yielding): the game's start does not depend
            // on how soon the worker picks up what Java queues.
            Task playerA = spindle.spawn(fn("spn_test_yield_player"), a);
            while (game.getLong(96) == 0) Thread.onSpinWait();
            Task playerB = spindle.spawn(fn("spn_test_yield_player"), b);
            assertEquals(0, playerA.join(), "A ran on worker 0");
            assertEquals(0, playerB.join(), "B ran on worker 0");
            assertEquals(0, game.getLong(16), "turn violations");
            String trace = game.getString(32, StandardCharsets.US_ASCII.name());
            assertEquals(62, trace.length() - 1, "the trace holds the first 63 turns");
            assertEquals("BA".repeat(32).substring(0, trace.length()), trace, "B, the second to arrive, went first");
        }
    }

    @Test
    void aYieldingLoopDoesNotStarveATaskSpawnedFromJava() {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            Memory flag = SchedTestLib.zeroed(8);
            Memory state = SchedTestLib.zeroed(24); // struct yield_until
            state.setLong(0, Pointer.nativeValue(flag));
            state.setLong(8, 10_000_000);
            Task yielder = spindle.spawn(fn("spn_test_yield_until"), state);
            while (state.getLong(16) == 0) Thread.onSpinWait(); // it is looping now
            assertEquals(1, spindle.spawn(fn("spn_test_set_flag"), flag).join());
            assertEquals(1, yielder.join(), "the yielder saw the flag set by the Java task");
            assertTrue(state.getLong(16) < 10_000_000);
        }
    }

    @Test
    void idleWorkersStealUnstartedChildrenAndEveryChildRunsOnce() {
        int children = 10_000;
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            Memory counts = SchedTestLib.zeroed(4L * children);
            Memory fanout = SchedTestLib.zeroed(16);
            fanout.setLong(0, Pointer.nativeValue(counts));
            fanout.setLong(8, children);
            long elsewhere = spindle.spawn(fn("spn_test_fanout"), fanout).join();
            int[] c = counts.getIntArray(0, children);
            assertTrue(Arrays.stream(c).allMatch(v -> v == 1), "every child ran exactly once");
            SpindleStats stats = spindle.stats();
            System.out.println("fan-out: " + elsewhere + " children ran on the other worker; " + stats);
            assertTrue(stats.steals() > 0, "the idle worker stole: " + stats);
            assertTrue(elsewhere > 0);
        }
    }

    @Test
    void libcInsideGreenThreadsThatBlockAndResume() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            long[] args = new long[2000];
            for (int i = 0; i < args.length; i++) args[i] = i;
            long[] results = spindle.spawnAll(fn("spn_test_libc_green"), args).join();
            for (int i = 0; i < args.length; i++) {
                long expected = 0;
                for (int k = 0; k < 4; k++) expected += ("child-" + (i * 10L + k)).length();
                assertEquals(expected, results[i], "task " + i + " (-2: errno changed across a switch)");
            }
        }
    }

    @Test
    void javaJoinsATaskSpawnedFromNativeCode() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            long handle = spindle.spawn(fn("spn_test_spawn_for_java"), 20).join();
            assertNotEquals(0, handle);
            Task child = spindle.adopt(handle);
            assertEquals(6765, child.join());
            assertThrows(IllegalArgumentException.class, () -> spindle.adopt(12345));
        }
    }

    interface OffWorker extends com.sun.jna.Library {
        OffWorker INSTANCE = Native.load(SchedTestLib.NAME, OffWorker.class);

        long spn_test_api_off_worker();
    }

    @Test
    void theApiRefusesCallsOffAWorkerWithANamedResult() {
        try (Spindle ignored = Spindle.builder().workers(1).build()) { // the scheduler library is loaded
            assertEquals(1, OffWorker.INSTANCE.spn_test_api_off_worker());
        }
    }

    /**
     * errno goes with the green thread: tasks that share a worker, yield to each other and
     * park in joins each find their own errno after every switch (989 of 1,000 found
     * another's before).
     */
    @Test
    void errnoIsKeptAcrossYieldsAndJoins() throws Exception {
        for (int workers : new int[] {1, 2}) {
            try (Spindle spindle = Spindle.builder().workers(workers).build()) {
                List<Task> tasks = new ArrayList<>();
                for (int i = 1; i <= 100; i++) tasks.add(spindle.spawn(SchedTestLib.fn("spn_test_errno_across_switches"), i));
                for (int i = 0; i < tasks.size(); i++) {
                    assertEquals(0, tasks.get(i).join(Duration.ofSeconds(60)), "task " + (i + 1) + " saw another errno, "
                            + workers + " worker(s)");
                }
            }
        }
    }

    /**
     * The other side, as spindle.h documents it: tasks of one worker share its kernel thread,
     * so a recursive mutex one of them holds across spn_yield is entered by the other
     * (pthread_mutex_trylock succeeds where a pthread would get EBUSY).
     */
    @Test
    void aMutexHeldAcrossAYieldBelongsToTheWorkerNotTheTask() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            Task holder = spindle.spawn(SchedTestLib.fn("spn_test_mutex_across_yield"), 0);
            Task prober = spindle.spawn(SchedTestLib.fn("spn_test_mutex_across_yield"), 1);
            assertEquals(0, prober.join(Duration.ofSeconds(60)), "the prober entered the holder's recursive mutex");
            assertEquals(0, holder.join(Duration.ofSeconds(60)));
        }
    }
}
