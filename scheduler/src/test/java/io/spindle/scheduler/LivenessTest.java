package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.scheduler.internal.Layout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static io.spindle.scheduler.internal.Memory.INTS;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 10's liveness and misuse defects that can be shown inside one JVM: a slow producer,
 * wake-ups that reach one worker, a parent's only child, a full ring, misused handles,
 * interrupts and cancelled batches. Each test failed on the code before the fix.
 */
class LivenessTest {
    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // turns a hang into a failure
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("never happened: " + what);
            Thread.sleep(1);
        }
    }

    static int parked(Spindle spindle) {
        return (int) INTS.getVolatile(spindle.control, Layout.SCHED_NPARKED);
    }

    /**
     * A producer stopped between claiming a ring slot and publishing it (descheduled, or at a
     * safepoint) must not hold up the workers: a green thread already running goes on, the
     * worker sleeps instead of spinning on the slot, and the stalled task runs once published.
     */
    @Test
    @Timeout(120)
    void aProducerStalledMidOfferHoldsUpNobody() throws Exception {
        Memory flag = SchedTestLib.zeroed(8);
        Memory ran = SchedTestLib.zeroed(8);
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            Task yielding = spindle.spawn(GreenThreadTest.fn("spn_test_gate"), flag); // yields until the flag
            await("the yielding task started", () -> spindle.stats().stacks() > 0);
            long stalled = spindle.submissions.claim(); // ...and the producer stops here
            assertTrue(stalled >= 0);
            flag.setLong(0, 1);
            // The worker visits the ring every 64 yields; it must not wait there for the slot.
            assertEquals(42, yielding.join(Duration.ofSeconds(20)), "the green thread went on during the stall");
            await("the worker sleeps during the stall", () -> parked(spindle) == 1);
            int index = spindle.pool.tryAcquire();
            spindle.prepare(index, GreenThreadTest.fn("spn_test_set_flag").address(), Pointer.nativeValue(ran), 0, 0,
                    Layout.REF_RUN);
            spindle.submissions.publish(stalled, spindle.pool.address(index)); // the producer resumes
            spindle.signalWork();
            await("the stalled task ran", () -> ran.getLong(0) != 0);
        }
    }

    /**
     * A green thread readied by the end of the task it joined wakes its own worker, and no
     * other for it: eight workers, six of them asleep and idle. At most one of those six is
     * woken, and only to take over the watcher's role if the joiner's worker had it (sched.c,
     * THE WATCHER); before the fix all of them were, every time.
     */
    @Test
    @Timeout(120)
    void aReadiedGreenThreadWakesOnlyItsOwnWorker() throws Exception {
        int workers = 8, rounds = 20;
        try (Spindle spindle = Spindle.builder().workers(workers).build()) {
            long othersWoken = 0;
            for (int round = 0; round < rounds; round++) {
                Memory gate = SchedTestLib.zeroed(8);
                Task blocker = spindle.spawn(SpindleTest.WAIT_GATE, gate); // blocks its worker's thread
                Memory target = SchedTestLib.zeroed(8);
                target.setLong(0, blocker.nativeHandle());
                Task joiner = spindle.spawn(GreenThreadTest.fn("spn_test_join_on_worker"), target);
                // Everyone but the blocked worker asleep: the joiner's worker too, its green thread parked.
                long[] before = quiescent(spindle, workers - 1);
                SpindleTest.open(gate);
                int joinerWorker = (int) joiner.join(Duration.ofSeconds(30));
                assertEquals(7, blocker.join(Duration.ofSeconds(30)));
                long[] after = quiescent(spindle, workers);
                long others = 0;
                for (int w = 0; w < workers; w++) if (w != joinerWorker) others += after[w] - before[w];
                assertTrue(others <= 1, "round " + round + ": " + others + " idle workers woken");
                othersWoken += others;
            }
            System.out.println("idle workers woken (watcher hand-overs) in " + rounds + " rounds: " + othersWoken);
        }
    }

    /**
     * The workers' wake-up counts once {@code asleep} of them sleep and the counts stand
     * still: a worker woken for the submissions of the round before may still be on its way
     * out of the kernel, counted as parked, its wake-up not yet counted.
     */
    static long[] quiescent(Spindle spindle, int asleep) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long[] last = wakeups(spindle);
        while (true) {
            Thread.sleep(20);
            long[] now = wakeups(spindle);
            if (parked(spindle) == asleep && java.util.Arrays.equals(last, now)) return now;
            if (System.nanoTime() > deadline) fail("the workers never settled with " + asleep + " asleep");
            last = now;
        }
    }

    static long[] wakeups(Spindle spindle) {
        List<SpindleStats.Worker> list = spindle.stats().workers();
        long[] w = new long[list.size()];
        for (int i = 0; i < w.length; i++) w[i] = list.get(i).wakeups();
        return w;
    }

    /** "Spawn one child, compute, join": the sleeping worker is woken and takes the child. */
    @Test
    @Timeout(120)
    void aParentsOnlyChildIsStolenByAnIdleWorker() throws Exception {
        // Spin time 0: an idle worker parks at once, so only a wake-up can bring it back.
        try (Spindle spindle = Spindle.builder().workers(2).spinTime(Duration.ZERO).build()) {
            int rounds = 5, stolen = 0;
            for (int i = 0; i < rounds; i++) {
                Memory onlyChild = SchedTestLib.zeroed(16); // struct only_child {go, ms}
                onlyChild.setLong(8, 50);
                Task parent = spindle.spawn(GreenThreadTest.fn("spn_test_spawn_one_compute_join"), onlyChild);
                await("the other worker asleep, the parent running", () -> parked(spindle) == 1 && spindle.stats().stacks() > 0);
                onlyChild.setLong(0, 1); // now spawn
                long r = parent.join();
                assertTrue(r >= 0, "spawn or join failed: " + r);
                stolen += (int) r;
            }
            System.out.println("only children stolen: " + stolen + " of " + rounds + "; " + spindle.stats());
            assertTrue(stolen > 0, "the parked worker was never woken for the child: 0 of " + rounds + " stolen");
        }
    }

    /**
     * A producer that finds the ring full sleeps until a worker makes room (no timed
     * back-off: it does not wake while it waits), and is woken when a worker does; a
     * platform thread sleeps in the kernel, a virtual thread parks. Then many tasks through a
     * ring of two.
     */
    @Test
    @Timeout(120)
    void aProducerAtAFullRingSleepsUntilAWorkerMakesRoom() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(1).ringCapacity(2).build()) {
            for (boolean virtual : new boolean[] {false, true}) {
                Memory gate = SchedTestLib.zeroed(8);
                Task blocker = spindle.spawn(SpindleTest.WAIT_GATE, gate);
                await("the worker took the blocker", () -> spindle.submissions.size() == 0 && spindle.stats().stacks() > 0);
                List<Task> queued = new ArrayList<>();
                for (int i = 0; i < 2; i++) queued.add(spindle.spawn(SpindleTest.RETURN_ARG, i));
                AtomicReference<Task> late = new AtomicReference<>();
                String name = virtual ? "bp-virtual" : "bp-platform";
                Thread producer = (virtual ? Thread.ofVirtual() : Thread.ofPlatform()).name(name)
                        .start(() -> late.set(spindle.spawn(SpindleTest.RETURN_ARG, 99)));
                await("the producer waits for room", () -> (int) INTS.getVolatile(spindle.control, Layout.SCHED_SPACE_WAITERS) == 1);
                if (virtual) {
                    await("parked, untimed", () -> producer.getState() == Thread.State.WAITING);
                } else {
                    // Asleep in the kernel, and it stays asleep: a timed back-off would wake again and again.
                    int tid = SchedTestLib.tidOf(name);
                    long before = SchedTestLib.voluntarySwitches(tid);
                    Thread.sleep(300);
                    assertEquals(before, SchedTestLib.voluntarySwitches(tid), "the waiting producer woke while the ring stayed full");
                    assertEquals('S', SchedTestLib.threadState(tid));
                }
                SpindleTest.open(gate);
                producer.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(producer.isAlive(), "the producer was never woken");
                assertEquals(99, late.get().join());
                assertEquals(7, blocker.join());
                for (int i = 0; i < 2; i++) assertEquals(i, queued.get(i).join());
            }

            int producers = 2, each = 20_000;
            Memory slots = SchedTestLib.zeroed(4L * producers * each);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < producers; p++) {
                long first = Pointer.nativeValue(slots) + 4L * p * each;
                Thread.Builder kind = p == 0 ? Thread.ofPlatform() : Thread.ofVirtual();
                threads.add(kind.start(() -> {
                    for (int i = 0; i < each; i++) spindle.execute(SpindleConcurrencyTest.INCREMENT, first + 4L * i);
                }));
            }
            for (Thread t : threads) t.join();
            spindle.close();
            assertEquals("", SpindleConcurrencyTest.wrongSlots(slots, producers * each), "every task ran exactly once");
        }
    }

    /** spn_join twice, spn_detach twice and friends: SPN_E_INVALID, never another task's descriptor. */
    @Test
    void misusedNativeHandlesAreRefused() {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            for (int i = 0; i < 200; i++) {
                assertEquals(0, spindle.spawn(GreenThreadTest.fn("spn_test_handle_misuse"), 0).join(),
                        "the number of the check in spn_test_handle_misuse that failed");
            }
        }
    }

    @Test
    void aNativeHandleIsAdoptedOnceAndJoinedOnce() {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            long handle = spindle.spawn(GreenThreadTest.fn("spn_test_spawn_for_java"), 20).join();
            Task adopted = spindle.adopt(handle);
            IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> spindle.adopt(handle));
            assertTrue(twice.getMessage().contains("adopted already"), twice.getMessage());
            assertEquals(6765, adopted.join());
            assertThrows(IllegalArgumentException.class, () -> spindle.adopt(handle), "given back by the join");
            assertThrows(IllegalArgumentException.class, () -> spindle.adopt(12345L), "not a handle");
            // A Java Task's own handle cannot be adopted a second time either.
            Task own = spindle.spawn(SpindleTest.RETURN_ARG, 3);
            assertThrows(IllegalArgumentException.class, () -> spindle.adopt(own.nativeHandle()));
            assertEquals(3, own.join());
        }
    }

    @Test
    @Timeout(60)
    void joinInterruptiblyGivesUpOnAnInterruptAndJoinKeepsIt() throws Exception {
        Memory gate = SchedTestLib.zeroed(8);
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            Task t = spindle.spawn(SpindleTest.WAIT_GATE, gate);
            for (Thread.Builder kind : List.of(Thread.ofPlatform(), Thread.ofVirtual())) {
                AtomicReference<Throwable> thrown = new AtomicReference<>();
                Thread joiner = kind.start(() -> {
                    try {
                        t.joinInterruptibly();
                    } catch (Throwable e) {
                        thrown.set(e);
                    }
                });
                await("the joiner waits", () -> joiner.getState() == Thread.State.WAITING);
                joiner.interrupt();
                joiner.join(TimeUnit.SECONDS.toMillis(30));
                assertFalse(joiner.isAlive());
                assertInstanceOf(InterruptedException.class, thrown.get(), kind + " joiner");
            }
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> t.joinInterruptibly(Duration.ofSeconds(1)), "interrupted before");
            assertThrows(TimeoutException.class, () -> t.joinInterruptibly(Duration.ofMillis(20)));
            // join() does not give up: the interrupt stays set for the caller.
            Thread.currentThread().interrupt();
            Thread opener = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ignored) {
                }
                SpindleTest.open(gate);
            });
            assertEquals(7, t.join());
            assertTrue(Thread.interrupted(), "join kept the interrupt");
            opener.join();
            assertEquals(7, t.joinInterruptibly(), "still joinable after the interrupted joins");
        }
    }
}
