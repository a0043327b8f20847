package io.spindle.runtime;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.*;

class NativeThreadTest {

    @Test
    void returnsTheFunctionsResult() {
        assertEquals(123456789L, NativeThread.start(TestLib.fn("spn_test_return_arg"), 123456789L).join());
        assertEquals(-1L, NativeThread.start(TestLib.fn("spn_test_return_arg"), -1L).join(), "intptr_t is signed");
    }

    @Test
    void nullFunctionIsRejectedBeforeAnythingStarts() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> NativeThread.start(null, 0));
        assertTrue(e.getMessage().contains("native function is null"), e.getMessage());
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> NativeFunction.ofAddress(0, "nothing"));
        assertTrue(zero.getMessage().contains("address 0"), zero.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TestLib.fn("no_such_symbol_anywhere"));
    }

    @Test
    void stackSizesAreValidated() {
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> NativeThread.builder().stackSize(4096));
        assertTrue(small.getMessage().contains("below the minimum"), small.getMessage());
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> NativeThread.builder().stackSize(GuardedStack.MIN_SIZE + 100));
        assertTrue(odd.getMessage().contains("multiple of the page size"), odd.getMessage());
        // The minimum itself works, for a function that needs little stack.
        assertEquals(3, NativeThread.builder().stackSize(GuardedStack.MIN_SIZE)
                .start(TestLib.fn("spn_test_return_arg"), 3).join());
    }

    @Test
    void joinTwiceAndJoinAfterExitGiveTheSameResult() throws Exception {
        NativeThread t = NativeThread.start(TestLib.fn("spn_test_return_arg"), 42);
        while (t.isAlive()) Thread.onSpinWait();
        assertEquals(42, t.join(), "join after the thread already exited");
        assertEquals(42, t.join(), "second join");
        assertEquals(42, t.join(Duration.ZERO), "timed join after exit");
    }

    @Test
    void timedJoinOnALongRunnerTimesOutAndStaysJoinable() throws Exception {
        Memory gate = TestLib.word();
        NativeThread t = NativeThread.start(TestLib.fn("spn_test_wait_gate"), Pointer.nativeValue(gate));
        assertThrows(TimeoutException.class, () -> t.join(Duration.ofMillis(50)));
        assertThrows(TimeoutException.class, () -> t.join(Duration.ZERO));
        assertTrue(t.isAlive());
        assertThrows(IllegalArgumentException.class, () -> t.join(Duration.ofMillis(-1)));
        TestLib.Direct.INSTANCE.spn_test_open_gate(gate);
        assertEquals(7, t.join(Duration.ofSeconds(30)));
    }

    @Test
    void threeJavaThreadsJoiningOneRawThreadAllReturn() throws Exception {
        // Repeated: the kernel wakes one joiner; the others must be woken by it.
        for (int round = 0; round < 200; round++) {
            Memory gate = TestLib.word();
            NativeThread t = NativeThread.start(TestLib.fn("spn_test_wait_gate"), Pointer.nativeValue(gate));
            CountDownLatch started = new CountDownLatch(3);
            List<CompletableFuture<Long>> joins = new ArrayList<>();
            for (int j = 0; j < 3; j++) {
                joins.add(CompletableFuture.supplyAsync(() -> {
                    started.countDown();
                    return t.join();
                }, runnable -> Thread.ofPlatform().start(runnable)));
            }
            started.await();
            if (round % 2 == 0) Thread.sleep(1); // sometimes all three are asleep in the futex
            TestLib.Direct.INSTANCE.spn_test_open_gate(gate);
            for (CompletableFuture<Long> join : joins) {
                assertEquals(7L, join.get(30, TimeUnit.SECONDS), "round " + round);
            }
        }
    }

    @Test
    void twoHundredLiveRawThreadsAtOnce() {
        int n = 200;
        Memory gate = TestLib.word();
        List<NativeThread> threads = new ArrayList<>();
        Set<Integer> tids = new HashSet<>();
        for (int i = 0; i < n; i++) {
            NativeThread t = NativeThread.start(TestLib.fn("spn_test_wait_gate"), Pointer.nativeValue(gate));
            threads.add(t);
            tids.add(t.tid());
        }
        assertEquals(n, tids.size(), "200 distinct tids");
        assertTrue(threads.stream().allMatch(NativeThread::isAlive), "all 200 are waiting at the gate");
        TestLib.Direct.INSTANCE.spn_test_open_gate(gate);
        for (NativeThread t : threads) assertEquals(7, t.join());
    }

    @Test
    void tidIsSetTheMomentStartReturnsEvenForThreadsThatExitAtOnce() {
        NativeFunction exitAtOnce = TestLib.fn("spn_test_exit_at_once");
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 5000; i++) {
            NativeThread t = NativeThread.start(exitAtOnce, 0);
            assertTrue(t.tid() > 0, "tid at spawn " + i + " was " + t.tid());
            seen.add(t.tid());
            t.join();
        }
        assertTrue(seen.size() > 1, "tids come from the kernel, not a constant");
    }

    @Test
    void uncachedThreadsWorkToo() {
        NativeThread.Builder uncached = NativeThread.builder().cached(false);
        for (int i = 0; i < 100; i++) {
            assertEquals(i, uncached.start(TestLib.fn("spn_test_return_arg"), i).join());
        }
    }
}
