package io.spindle.scheduler;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A process can always exit, and no runtime call deadlocks from a completion stage. Every
 * scenario runs in a child JVM with a deadline: on the code before the fix each of them hung.
 */
class ShutdownTest {
    static final long DEADLINE_SECONDS = 90;

    /** With a task that never returns, every way out ends the JVM, and says what it left. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"exit", "close", "shutdownNow", "returnFromMain"})
    @Timeout(180)
    void theJvmExitsWhileATaskRunsForever(String how) throws Exception {
        ChildJvm.Result r = ChildJvm.run(Scenario.class, DEADLINE_SECONDS, how);
        assertTrue(r.finished(), r.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.output().contains("RUNNING"), r.toString());
        assertTrue(r.output().contains("still run") && r.output().contains("spn_test_spin_until"),
                "stderr names the task left running: " + r);
        if (how.equals("close")) assertTrue(r.output().contains("CLOSE false"), r.toString());
        if (how.equals("shutdownNow")) assertTrue(r.output().contains("SHUTDOWN_NOW returned"), r.toString());
    }

    @Test
    @Timeout(180)
    void sigtermEndsTheJvmWhileATaskRunsForever() throws Exception {
        ChildJvm.Result r = ChildJvm.run(Scenario.class, DEADLINE_SECONDS, p -> {
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                // Wait for the child to say its task runs, then SIGTERM it (Process.destroy).
                while (System.nanoTime() < deadline && p.isAlive()) {
                    if (ScenarioFiles.ready(p.pid())) break;
                    Thread.sleep(10);
                }
                p.destroy();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "sigterm");
        assertTrue(r.finished(), r.toString());
        assertEquals(143, r.exitCode(), "128 + SIGTERM after the hooks ran: " + r);
        assertTrue(r.output().contains("still run"), r.toString());
    }

    /** A task that outlives close(timeout) still ends, its join works, and the memory goes then. */
    @Test
    @Timeout(180)
    void aTaskLeftRunningByCloseEndsLaterAndIsJoinable() throws Exception {
        ChildJvm.Result r = ChildJvm.run(Scenario.class, DEADLINE_SECONDS, "late");
        assertTrue(r.finished(), r.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.output().contains("LATE close=false joined=7 terminated=true"), r.toString());
    }

    @Test
    @Timeout(180)
    void closeFromACompletionStage() throws Exception {
        ChildJvm.Result r = ChildJvm.run(Scenario.class, DEADLINE_SECONDS, "closeInStage");
        assertTrue(r.finished(), r.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.output().contains("STAGE closed=true"), r.toString());
    }

    @Test
    @Timeout(300)
    void stagesThatCallTheRuntimeWhileItCloses() throws Exception {
        ChildJvm.Result r = ChildJvm.run(Scenario.class, 240, "stagesDuringClose");
        assertTrue(r.finished(), r.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.output().contains("STAGES 3 rounds"), r.toString());
    }

    /** Where the child says it is ready (for the SIGTERM test): a file named after its pid. */
    static final class ScenarioFiles {
        static java.nio.file.Path path(long pid) {
            return java.nio.file.Path.of(System.getProperty("java.io.tmpdir"), "spindle-shutdown-test-" + pid);
        }

        static boolean ready(long pid) {
            return java.nio.file.Files.exists(path(pid));
        }
    }

    /** The child JVM. */
    public static final class Scenario {
        public static void main(String[] args) throws Exception {
            switch (args[0]) {
                case "stagesDuringClose" -> stagesDuringClose();
                case "closeInStage" -> closeInStage();
                case "late" -> late();
                default -> runForever(args[0]);
            }
        }

        static void runForever(String how) throws Exception {
            Memory never = SchedTestLib.zeroed(8); // nobody sets it: the task spins for ever
            Spindle spindle = Spindle.builder().workers(2).terminationTimeout(Duration.ofMillis(300)).build();
            spindle.execute(GreenThreadTest.fn("spn_test_spin_until"), Pointer.nativeValue(never));
            while (spindle.stats().stacks() == 0) Thread.sleep(1);
            System.out.println("RUNNING");
            System.out.flush();
            switch (how) {
                case "exit" -> System.exit(0);
                case "close" -> System.out.println("CLOSE " + spindle.close(Duration.ofMillis(300)));
                case "shutdownNow" -> {
                    spindle.shutdownNow();
                    System.out.println("SHUTDOWN_NOW returned");
                }
                case "returnFromMain" -> {}
                case "sigterm" -> {
                    java.nio.file.Path ready = ScenarioFiles.path(ProcessHandle.current().pid());
                    java.nio.file.Files.writeString(ready, "ready");
                    ready.toFile().deleteOnExit();
                    Thread.sleep(TimeUnit.MINUTES.toMillis(5)); // SIGTERM comes meanwhile
                }
                default -> throw new IllegalArgumentException(how);
            }
        }

        static void late() throws Exception {
            Memory gate = SchedTestLib.zeroed(8);
            Spindle spindle = Spindle.builder().workers(1).build();
            Task t = spindle.spawn(SpindleTest.WAIT_GATE, gate);
            while (spindle.stats().stacks() == 0) Thread.sleep(1);
            boolean closed = spindle.close(Duration.ofMillis(200));
            SpindleTest.open(gate);
            long joined = t.join();
            boolean terminated = spindle.awaitTermination(Duration.ofSeconds(60));
            System.out.println("LATE close=" + closed + " joined=" + joined + " terminated=" + terminated);
        }

        static void closeInStage() throws Exception {
            Memory gate = SchedTestLib.zeroed(8);
            Spindle spindle = Spindle.builder().workers(1).build();
            Task t = spindle.spawn(SpindleTest.WAIT_GATE, gate);
            CountDownLatch staged = new CountDownLatch(1);
            boolean[] closed = new boolean[1];
            t.toCompletableFuture().thenRun(() -> {
                closed[0] = spindle.close(Duration.ofSeconds(60));
                staged.countDown();
            });
            SpindleTest.open(gate);
            if (!staged.await(60, TimeUnit.SECONDS)) throw new AssertionError("the stage never finished");
            System.out.println("STAGE closed=" + closed[0]);
        }

        /** 20,000 futures whose stages call stats(), isDone() and join() while close() runs. */
        static void stagesDuringClose() throws Exception {
            int rounds = 3, futures = 20_000;
            for (int round = 0; round < rounds; round++) {
                Spindle spindle = Spindle.builder().workers(2).build();
                AtomicInteger staged = new AtomicInteger();
                List<CompletableFuture<?>> all = new ArrayList<>();
                for (int i = 0; i < futures; i++) {
                    Task t = spindle.spawn(SpindleTest.RETURN_ARG, i);
                    all.add(t.toCompletableFuture().thenRun(() -> {
                        spindle.stats();
                        t.isDone();
                        t.join();
                        staged.incrementAndGet();
                    }));
                }
                // close() from two threads while the stages run and call into the runtime.
                Thread other = Thread.ofPlatform().start(spindle::close);
                if (!spindle.close(Duration.ofSeconds(60))) throw new AssertionError("close timed out");
                other.join();
                CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
                if (staged.get() != futures) throw new AssertionError(staged.get() + " of " + futures + " stages ran");
            }
            System.out.println("STAGES " + rounds + " rounds");
        }
    }
}
