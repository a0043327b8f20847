package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

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
