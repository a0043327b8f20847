package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.runtime.NativeFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.*;

/** Nothing accepted is lost, nothing runs twice: counted, slot by slot. */
class SpindleConcurrencyTest {
    static final int PRODUCERS = 4;
    static final int PER_PRODUCER = 250_000;
    static final NativeFunction INCREMENT = SchedTestLib.fn("spn_test_increment");

    enum Mode { EXECUTE, SPAWN_JOIN, SPAWN_ALL }

    /** Slots that are not exactly 1, as "index=value" (at most 10), or "" if all are 1. */
    static String wrongSlots(Memory slots, int count) {
        StringBuilder wrong = new StringBuilder();
        int found = 0;
        for (int i = 0; i < count && found < 10; i++) {
            int v = slots.getInt(4L * i);
            if (v != 1) {
                wrong.append(i).append('=').append(v).append(' ');
                found++;
            }
        }
        return wrong.toString();
    }

    @ParameterizedTest(name = "{0}, ring {1}, gc {2}")
    @CsvSource({
            "EXECUTE, 16384, false",
            "EXECUTE, 2, false",
            "EXECUTE, 16384, true",
            "SPAWN_JOIN, 16384, false",
            "SPAWN_JOIN, 4, true",
            "SPAWN_ALL, 16384, false",
            "SPAWN_ALL, 2, true"})
    void fourProducersQuarterMillionTasksEachEverySlotExactlyOnce(Mode mode, int ring, boolean gc) throws Exception {
        int total = PRODUCERS * PER_PRODUCER;
        Memory slots = SchedTestLib.zeroed(4L * total);
        long base = Pointer.nativeValue(slots);
        AtomicBoolean stopGc = new AtomicBoolean();
        Thread gcThread = null;
        if (gc) {
            // A full GC every few milliseconds: safepoints that stop the producers anywhere,
            // mid-offer too. Back to back they would leave one CPU to the collector alone.
            gcThread = Thread.ofPlatform().daemon().start(() -> {
                while (!stopGc.get()) {
                    System.gc();
                    LockSupport.parkNanos(2_000_000);
                }
            });
        }
        Spindle spindle = Spindle.builder().workers(2).ringCapacity(ring).build();
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> producers = new ArrayList<>();
            List<Throwable> failures = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                int first = p * PER_PRODUCER;
                producers.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                        produce(spindle, mode, base, first);
                    } catch (Throwable t) {
                        synchronized (failures) {
                            failures.add(t);
                        }
                    }
                }));
            }
            start.countDown();
            for (Thread t : producers) t.join();
            assertEquals(List.of(), failures);
        } finally {
            spindle.close(); // runs everything accepted
            stopGc.set(true);
            if (gcThread != null) gcThread.join();
        }
        assertEquals("", wrongSlots(slots, total), "slots not exactly 1 (lost or run twice)");
        assertEquals(total, spindle.stats().tasksRun());
    }

    private static void produce(Spindle spindle, Mode mode, long base, int first) {
        switch (mode) {
            case EXECUTE -> {
                for (int i = 0; i < PER_PRODUCER; i++) spindle.execute(INCREMENT, base + 4L * (first + i));
            }
            case SPAWN_JOIN -> {
                List<Task> tasks = new ArrayList<>(1024);
                for (int i = 0; i < PER_PRODUCER; i++) {
                    tasks.add(spindle.spawn(INCREMENT, base + 4L * (first + i)));
                    if (tasks.size() == 1024) {
                        for (Task t : tasks) assertEquals(0, t.join());
                        tasks.clear();
                    }
                }
                for (Task t : tasks) assertEquals(0, t.join());
            }
            case SPAWN_ALL -> {
                int batch = 10_000;
                for (int i = 0; i < PER_PRODUCER; i += batch) {
                    long[] args = new long[batch];
                    for (int k = 0; k < batch; k++) args[k] = base + 4L * (first + i + k);
                    assertEquals(batch, spindle.spawnAll(INCREMENT, args).join().length);
                }
            }
        }
    }

    /**
     * With no spin window every worker parks the moment the ring is empty, so the park and
     * wake-up races run on nearly every task. A lost wake-up leaves a task in the ring with
     * every worker asleep: the bounded join then fails the test instead of hanging it.
     */
    /**
     * The same for green threads: with no spin window, fork-join tasks whose joins park and
     * are readied by other workers' completions (each a targeted wake of the owner), while
     * the workers park, are claimed, watch and are poked as the load comes and goes. A lost
     * wake-up leaves a green thread parked for ever: the bounded join fails the test.
     */
    @ParameterizedTest(name = "{0} workers")
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, 8})
    void noWakeUpIsLostForGreenThreadsThatParkAndAreReadied(int workers) throws Exception {
        try (Spindle spindle = Spindle.builder().workers(workers).spinTime(java.time.Duration.ZERO).build()) {
            NativeFunction fib = SchedTestLib.fn("spn_test_fib");
            long arg = GreenThreadTest.fibArg(9, 2); // fib(9) = 34, a spawn per call above 2: short, so workers park often
            List<Thread> submitters = new ArrayList<>();
            List<Throwable> failures = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                submitters.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < 5_000; i++) {
                            assertEquals(34, spindle.spawn(fib, arg).join(java.time.Duration.ofSeconds(10)));
                        }
                    } catch (Throwable t) {
                        synchronized (failures) {
                            failures.add(t);
                        }
                    }
                }));
            }
            for (Thread t : submitters) t.join();
            assertEquals(List.of(), failures, "a task was not done within 10 s: lost wake-up. Stats: " + spindle.stats());
            SpindleStats stats = spindle.stats();
            System.out.println(workers + " workers, green threads parking: " + stats);
            assertTrue(stats.parks() > 100, "the workers parked and were woken, again and again: " + stats);
        }
    }

    @Test
    void noWakeUpIsLostWhenWorkersParkAfterEveryTask() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(2).spinTime(java.time.Duration.ZERO).build()) {
            List<Thread> submitters = new ArrayList<>();
            List<Throwable> failures = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                submitters.add(Thread.ofPlatform().start(() -> {
                    try {
                        for (int i = 0; i < 20_000; i++) {
                            assertEquals(i, spindle.spawn(SpindleTest.RETURN_ARG, i).join(java.time.Duration.ofSeconds(10)));
                            if (i % 1000 == 0) spindle.spawnAll(SpindleTest.RETURN_ARG, new long[64]).join(java.time.Duration.ofSeconds(10));
                        }
                    } catch (Throwable t) {
                        synchronized (failures) {
                            failures.add(t);
                        }
                    }
                }));
            }
            for (Thread t : submitters) t.join();
            assertEquals(List.of(), failures, "a task was not run within 10 s: lost wake-up. Stats: " + spindle.stats());
            assertTrue(spindle.stats().parks() > 1000, "the workers did park between tasks: " + spindle.stats());
        }
    }

    @Test
    void manyPlatformThreadsJoiningTheSameAndDifferentTasks() throws Exception {
        Memory gate = SchedTestLib.zeroed(8);
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            for (int round = 0; round < 20; round++) {
                gate.setInt(0, 0);
                Task shared = spindle.spawn(SpindleTest.WAIT_GATE, Pointer.nativeValue(gate));
                List<Thread> joiners = new ArrayList<>();
                long[] seen = new long[32];
                for (int j = 0; j < 32; j++) {
                    int k = j;
                    joiners.add(Thread.ofPlatform().start(() -> {
                        long own = spindle.spawn(SpindleTest.RETURN_ARG, k).join();
                        seen[k] = shared.join() + own;
                    }));
                }
                Thread.sleep(round % 2 == 0 ? 0 : 5); // sometimes they are asleep in the futex
                SpindleTest.open(gate);
                for (Thread t : joiners) t.join(30_000);
                for (int j = 0; j < 32; j++) assertEquals(7 + j, seen[j], "round " + round + " joiner " + j);
            }
        }
    }
}
