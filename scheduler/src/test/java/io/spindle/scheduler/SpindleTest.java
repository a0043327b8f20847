package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.internal.Layout;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.*;

class SpindleTest {
    static final NativeFunction RETURN_ARG = SchedTestLib.fn("spn_test_return_arg");
    static final NativeFunction WAIT_GATE = SchedTestLib.fn("spn_test_wait_gate");

    static void open(Memory gate) {
        SchedTestLib.Direct.INSTANCE.spn_test_open_gate(gate);
    }

    @Test
    void spawnReturnsTheFunctionsResult() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            for (long i = -5; i < 5000; i++) assertEquals(i, spindle.spawn(RETURN_ARG, i).join());
            Memory m = SchedTestLib.zeroed(8);
            assertEquals(Pointer.nativeValue(m), spindle.spawn(RETURN_ARG, m).join(), "Pointer arguments pass through");
        }
    }

    @Test
    void spawnAllReturnsResultsInArgumentOrder() {
        try (Spindle spindle = Spindle.builder().workers(2).ringCapacity(64).build()) {
            long[] args = new long[10_000];
            for (int i = 0; i < args.length; i++) args[i] = i * 3L;
            TaskGroup group = spindle.spawnAll(RETURN_ARG, args);
            assertArrayEquals(args, group.join());
            assertTrue(group.isDone());
            assertArrayEquals(args, group.join(), "joining twice gives the same results");
        }
    }

    @Test
    void spawnAllOfEverySizeAroundTheChunkBoundaries() throws Exception {
        for (int workers : new int[] {1, 2, 3}) {
            try (Spindle spindle = Spindle.builder().workers(workers).ringCapacity(64).build()) {
                long run = 0;
                for (int n : new int[] {1, 2, 3, 15, 16, 17, 63, 64, 65, 127, 1023, 1024, 1025, 2047, 4097, 100_003}) {
                    long[] args = new long[n];
                    for (int i = 0; i < n; i++) args[i] = (long) n << 32 | i;
                    // Bounded: a chunk that miscounted its tasks would leave the group pending forever.
                    long[] results = spindle.spawnAll(RETURN_ARG, args).join(Duration.ofSeconds(30));
                    assertArrayEquals(args, results, n + " tasks on " + workers + " worker(s)");
                    run += n;
                }
                spindle.close();
                assertEquals(run, spindle.stats().tasksRun(), "each task ran once");
                assertEquals(run, spindle.stats().submitted());
            }
        }
    }

    @Test
    void shutdownNowInTheMiddleOfABatchAccountsForEveryTask() throws Exception {
        int n = 400;
        Spindle spindle = Spindle.builder().workers(1).build();
        long[] oneMillisecond = new long[n];
        Arrays.fill(oneMillisecond, 1);
        assertTrue(spindle.batchChunk(n) > 1, "chunks of several tasks, so one is cut short");
        TaskGroup group = spindle.spawnAll(SchedTestLib.fn("spn_test_sleep_ms"), oneMillisecond);
        while (spindle.stats().tasksRun() < 5) Thread.sleep(1);
        long cancelled = spindle.shutdownNow();
        BatchCancelledException e = assertThrows(BatchCancelledException.class, group::join);
        SpindleStats stats = spindle.stats();
        assertTrue(cancelled > 0 && stats.tasksRun() > 0, stats.toString());
        assertEquals(n, stats.tasksRun() + cancelled, "every task either ran or was cancelled, once: " + stats);
        // The results of the tasks that ran are kept, and the batch says which never ran.
        assertEquals(cancelled, e.skipped().cardinality(), e.getMessage());
        long[] results = e.results();
        for (int i = 0; i < n; i++) assertEquals(e.ran(i) ? 1 : 0, results[i], "task " + i);
        assertEquals(e.skipped(), assertThrows(BatchCancelledException.class, group::join).skipped(), "joined twice");
    }

    @Test
    void tasksMayCallMallocAndSnprintfOnTheWorkers() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            List<Task> tasks = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) tasks.add(spindle.spawn(SchedTestLib.fn("spn_test_malloc_snprintf"), i));
            for (int i = 0; i < tasks.size(); i++) {
                assertEquals(("task-" + i).length(), tasks.get(i).join(), "task " + i);
            }
        }
    }

    @Test
    void joinTwiceTimedJoinAndIsDone() throws Exception {
        Memory gate = SchedTestLib.zeroed(8);
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            Task t = spindle.spawn(WAIT_GATE, Pointer.nativeValue(gate));
            assertFalse(t.isDone());
            assertThrows(TimeoutException.class, () -> t.join(Duration.ofMillis(30)));
            assertThrows(IllegalArgumentException.class, () -> t.join(Duration.ofMillis(-1)));
            open(gate);
            assertEquals(7, t.join(Duration.ofSeconds(30)));
            assertEquals(7, t.join());
            assertTrue(t.isDone());
            assertFalse(t.isCancelled());
        }
    }

    @Test
    void completableFutureCompletesWithTheResult() throws Exception {
        Memory gate = SchedTestLib.zeroed(8);
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            Task t = spindle.spawn(WAIT_GATE, Pointer.nativeValue(gate));
            CompletableFuture<Long> future = t.toCompletableFuture();
            CompletableFuture<Long> plusOne = future.thenApply(r -> r + 1);
            assertFalse(future.isDone());
            open(gate);
            assertEquals(8L, plusOne.get(30, TimeUnit.SECONDS));
            assertEquals(7L, spindle.spawn(RETURN_ARG, 7).toCompletableFuture().get(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void trySpawnIsEmptyWhenTheRingIsFullAndNothingIsLost() {
        Memory gate = SchedTestLib.zeroed(8);
        try (Spindle spindle = Spindle.builder().workers(1).ringCapacity(4).build()) {
            Task blocker = spindle.spawn(WAIT_GATE, Pointer.nativeValue(gate));
            while (spindle.stats().submitted() > 0 && spindle.submissions.size() > 0) Thread.onSpinWait();
            List<Task> accepted = new ArrayList<>();
            Optional<Task> t;
            long i = 0;
            while ((t = spindle.trySpawn(RETURN_ARG, i)).isPresent()) {
                accepted.add(t.get());
                i++;
            }
            assertEquals(4, accepted.size(), "the ring holds exactly its capacity while the worker is busy");
            open(gate);
            assertEquals(7, blocker.join());
            for (int k = 0; k < accepted.size(); k++) assertEquals(k, accepted.get(k).join());
        }
    }

    @Test
    void closeRunsEverythingAcceptedAndThenRejects() throws Exception {
        Memory gate = SchedTestLib.zeroed(8);
        Spindle spindle = Spindle.builder().workers(1).ringCapacity(1024).build();
        Task blocker = spindle.spawn(WAIT_GATE, Pointer.nativeValue(gate));
        List<Task> pending = new ArrayList<>();
        for (int i = 0; i < 500; i++) pending.add(spindle.spawn(RETURN_ARG, i));
        Thread closer = Thread.ofPlatform().start(spindle::close);
        Thread.sleep(50);
        assertTrue(closer.isAlive(), "close waits for the accepted tasks");
        open(gate);
        closer.join(30_000);
        assertFalse(closer.isAlive());
        assertTrue(spindle.isClosed());
        assertEquals(7, blocker.join(), "a handle joined after close gets its result");
        for (int i = 0; i < pending.size(); i++) assertEquals(i, pending.get(i).join());
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> spindle.spawn(RETURN_ARG, 1));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(RejectedExecutionException.class, () -> spindle.spawnAll(RETURN_ARG, new long[] {1}));
        assertThrows(RejectedExecutionException.class, () -> spindle.execute(RETURN_ARG, 1));
        spindle.close(); // idempotent
        assertEquals(501, spindle.stats().tasksRun());
    }

    @Test
    void aRunningTaskCannotSpawnOnceShutdownNowBegan() throws Exception {
        Memory flag = SchedTestLib.zeroed(8);
        Spindle spindle = Spindle.builder().workers(1).build();
        Task spawner = spindle.spawn(SchedTestLib.fn("spn_test_spawn_after_gate"), Pointer.nativeValue(flag));
        while (spindle.submissions.size() > 0) Thread.onSpinWait(); // the worker took it
        CompletableFuture<Long> count = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> count.complete(spindle.shutdownNow()));
        Pointer control = new Pointer(spindle.sched);
        while (control.getInt(Layout.SCHED_SHUTDOWN) != Layout.SHUTDOWN_CANCEL) Thread.onSpinWait();
        flag.setLong(0, 1);
        assertEquals(6, spawner.join(), "SPN_E_CLOSING: refused, not queued to be cancelled");
        assertEquals(0, count.get(30, TimeUnit.SECONDS), "nothing was cancelled");
    }

    @Test
    void shutdownNowCancelsWhatHasNotStarted() throws Exception {
        Memory gate = SchedTestLib.zeroed(8);
        Spindle spindle = Spindle.builder().workers(1).build();
        Task running = spindle.spawn(WAIT_GATE, Pointer.nativeValue(gate));
        while (spindle.submissions.size() > 0) Thread.onSpinWait(); // the worker took it
        List<Task> queued = new ArrayList<>();
        for (int i = 0; i < 100; i++) queued.add(spindle.spawn(RETURN_ARG, i));
        TaskGroup group = spindle.spawnAll(RETURN_ARG, new long[] {1, 2, 3});
        CompletableFuture<Long> cancelled = spindle.spawn(RETURN_ARG, 5).toCompletableFuture();
        CompletableFuture<Long> count = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> count.complete(spindle.shutdownNow()));
        // The gate opens only once the workers have been told to cancel (a sleep here would
        // let a slow shutdownNow thread see the queued tasks run normally).
        Pointer control = new Pointer(spindle.sched); // read through JNA: a fresh load every time
        while (control.getInt(Layout.SCHED_SHUTDOWN) != Layout.SHUTDOWN_CANCEL) Thread.onSpinWait();
        open(gate); // the running task finishes normally; the rest were cancelled
        assertEquals(104, count.get(30, TimeUnit.SECONDS), "100 singles + a group of 3 + 1 behind a future");
        assertEquals(7, running.join());
        for (Task t : queued) {
            assertThrows(CancellationException.class, t::join);
            assertTrue(t.isCancelled());
        }
        assertThrows(CancellationException.class, group::join);
        assertThrows(CancellationException.class, () -> cancelled.get(30, TimeUnit.SECONDS));
        assertTrue(cancelled.isCancelled() || cancelled.isCompletedExceptionally());
    }

    @Test
    void settingsAreValidatedWithClearMessages() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Spindle.builder().workers(0))
                .getMessage().contains("workers must be between 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Spindle.builder().ringCapacity(1000))
                .getMessage().contains("power of two"));
        assertThrows(IllegalArgumentException.class, () -> Spindle.builder().ringCapacity(1));
        assertThrows(IllegalArgumentException.class, () -> Spindle.builder().spinTime(Duration.ofMillis(-1)));
        assertThrows(IllegalArgumentException.class, () -> Spindle.builder().name(" "));
        assertThrows(IllegalArgumentException.class, () -> Spindle.builder().workerStackSize(1000));
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            NullPointerException npe = assertThrows(NullPointerException.class, () -> spindle.spawn(null, 0));
            assertTrue(npe.getMessage().contains("native function is null"));
            assertThrows(NullPointerException.class, () -> spindle.spawnAll(null, new long[] {1}));
            assertEquals(3, spindle.spawn(RETURN_ARG, 3).join(), "a rejected call left the runtime working");
        }
    }

    @Test
    void statsCountEveryTask() {
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            for (int i = 0; i < 1000; i++) spindle.execute(RETURN_ARG, i);
            spindle.spawnAll(RETURN_ARG, new long[1000]).join();
            spindle.close();
            SpindleStats stats = spindle.stats();
            assertEquals(2000, stats.tasksRun());
            assertEquals(2000, stats.submitted());
            assertEquals(2, stats.workers().size());
            assertTrue(stats.workers().stream().allMatch(w -> w.tid() > 0));
        }
    }

    /** Tools that list the process's threads (ps -L, top -H, gdb, perf) show each worker by its pool's name. */
    @Test
    void workersCarryThePoolsNameInTheKernel() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).name("names").build()) {
            assertEquals(List.of("names-w0", "names-w1"), workerNames(spindle));
        }
        try (Spindle spindle = Spindle.builder().workers(2).name("a-rather-long-pool-name").build()) {
            assertEquals(List.of("a-rather-lon-w0", "a-rather-lon-w1"), workerNames(spindle), "cut to 15 bytes, the number kept");
        }
    }

    private static List<String> workerNames(Spindle spindle) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!spindle.stats().workers().stream().allMatch(w -> w.tid() > 0)) { // a worker writes its tid as it starts
            assertTrue(System.nanoTime() < deadline, "workers did not start");
            Thread.sleep(1);
        }
        List<String> names = new ArrayList<>();
        for (var w : spindle.stats().workers()) {
            names.add(java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/task/" + w.tid() + "/comm")).strip());
        }
        return names;
    }
}
