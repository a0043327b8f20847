package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.runtime.NativeFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.junit.jupiter.api.Assertions.*;

class VirtualThreadJoinTest {

    @Test
    @Timeout(120)
    void tenThousandVirtualThreadsJoinAtOnce() throws Exception {
        Memory gate = SchedTestLib.zeroed(8);
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            Task shared = spindle.spawn(SpindleTest.WAIT_GATE, Pointer.nativeValue(gate));
            AtomicLong sum = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 10_000; i++) {
                long k = i;
                threads.add(Thread.ofVirtual().start(() -> {
                    Task own = spindle.spawn(SpindleTest.RETURN_ARG, k);
                    sum.addAndGet(own.join() + shared.join()); // the shared one blocks them all at once
                }));
            }
            Thread.sleep(100);
            assertTrue(threads.stream().filter(Thread::isAlive).count() > 0, "virtual threads are waiting on the gate");
            SpindleTest.open(gate);
            for (Thread t : threads) assertTrue(t.join(java.time.Duration.ofSeconds(60)));
            assertEquals(10_000L * 9_999 / 2 + 7L * 10_000, sum.get());
        }
    }

    /**
     * A virtual-thread joiner registers with the completion poller, and often sees the task end
     * before it parks; the worker still queues the completion, and the descriptor is recycled
     * before the poller gets to it. That late completion must not take the registration of the
     * descriptor's next joiner with it. The joins are untimed (a timed one would hide a lost
     * wake-up: it re-checks the state when its time is up); a joiner still parked long after
     * every task has ended lost its wake-up, and is unparked by hand so the runtime can close.
     */
    @Test
    @Timeout(300)
    void virtualThreadJoinsSurviveLateCompletionsOfRecycledDescriptors() throws Exception {
        int threads = 2_000, rounds = 500;
        NativeFunction work = SchedTestLib.fn("spn_test_work_1us");
        try (Spindle spindle = Spindle.builder().workers(2).build()) {
            AtomicLong joined = new AtomicLong();
            List<Thread> joiners = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                joiners.add(Thread.ofVirtual().start(() -> {
                    for (int i = 0; i < rounds; i++) {
                        spindle.spawn(work, i).join();
                        joined.incrementAndGet();
                    }
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (Thread t : joiners) t.join(java.time.Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
            long stuck = joiners.stream().filter(Thread::isAlive).count();
            for (Thread t : joiners) {
                while (t.isAlive()) { // its task ended long ago: a park that nobody will end
                    LockSupport.unpark(t);
                    t.join(java.time.Duration.ofMillis(10));
                }
            }
            assertEquals(0, stuck, "joiners that missed their task's end");
            assertEquals((long) threads * rounds, joined.get());
        }
    }

    /**
     * Forked JVM whose virtual-thread scheduler has one carrier. A virtual thread joins a task
     * that waits for a gate; a second virtual thread opens the gate. If the join blocked in
     * native code it would pin the only carrier, the second thread would never run: deadlock.
     */
    @Test
    @Timeout(120)
    void aVirtualThreadJoinDoesNotPinItsCarrier() throws Exception {
        List<String> command = List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED",
                "-Djdk.virtualThreadScheduler.parallelism=1",
                "-Djdk.virtualThreadScheduler.maxPoolSize=1",
                "-cp", System.getProperty("java.class.path"),
                OneCarrierJoin.class.getName());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        boolean finished = p.waitFor(60, TimeUnit.SECONDS);
        if (!finished) p.destroyForcibly();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(finished, "deadlock: the joining virtual thread pinned the only carrier. Output: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("JOINED 7"), out);
    }

    /** Main of the forked JVM above. */
    public static final class OneCarrierJoin {
        public static void main(String[] args) throws Exception {
            Memory gate = SchedTestLib.zeroed(8);
            try (Spindle spindle = Spindle.builder().workers(1).build()) {
                Task t = spindle.spawn(SpindleTest.WAIT_GATE, Pointer.nativeValue(gate));
                long[] result = new long[1];
                Thread joiner = Thread.ofVirtual().start(() -> result[0] = t.join());
                Thread.sleep(50); // the joiner is parked on the task now
                Thread opener = Thread.ofVirtual().start(() -> SpindleTest.open(gate));
                opener.join();
                joiner.join();
                System.out.println("JOINED " + result[0]);
            }
        }
    }
}
