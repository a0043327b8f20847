package io.spindle.scheduler.internal;

import com.sun.jna.Memory;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import io.spindle.runtime.NativeFunction;
import io.spindle.runtime.NativeThread;
import org.jctools.queues.MpmcArrayQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.function.IntFunction;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One sanity suite, run against the off-heap ring and against JCTools' MpmcArrayQueue (the
 * algorithm's original and our oracle): the same operation sequences must give the same
 * results; concurrent producers lose nothing, duplicate nothing, keep each producer's order.
 */
class RingSanityTest {
    /** What the suite needs of a queue of non-zero longs. */
    interface LongRing {
        boolean offer(long e);

        long poll(); // 0 when empty

        void free();
    }

    static final class OffHeap implements LongRing {
        final long address;
        final OffHeapRing ring;

        OffHeap(int capacity) {
            address = SchedNative.spn_ring_create(capacity);
            ring = new OffHeapRing(address);
        }

        public boolean offer(long e) {
            return ring.offer(e) == OffHeapRing.OFFERED;
        }

        public long poll() {
            return ring.poll();
        }

        public void free() {
            SchedNative.spn_ring_destroy(address);
        }

        @Override
        public String toString() {
            return "off-heap ring";
        }
    }

    static final class JcTools implements LongRing {
        final MpmcArrayQueue<Long> queue;

        JcTools(int capacity) {
            queue = new MpmcArrayQueue<>(capacity);
        }

        public boolean offer(long e) {
            return queue.offer(e);
        }

        public long poll() {
            Long e = queue.poll();
            return e == null ? 0 : e;
        }

        public void free() {}

        @Override
        public String toString() {
            return "JCTools MpmcArrayQueue";
        }
    }

    static Stream<IntFunction<LongRing>> rings() {
        return Stream.of(OffHeap::new, JcTools::new);
    }

    private final List<LongRing> made = new ArrayList<>();

    private LongRing make(IntFunction<LongRing> factory, int capacity) {
        LongRing r = factory.apply(capacity);
        made.add(r);
        return r;
    }

    @AfterEach
    void free() {
        made.forEach(LongRing::free);
    }

    @ParameterizedTest
    @MethodSource("rings")
    void fifoFullAndEmpty(IntFunction<LongRing> factory) {
        LongRing ring = make(factory, 8);
        assertEquals(0, ring.poll(), "empty at first");
        for (long i = 1; i <= 8; i++) assertTrue(ring.offer(i), "offer " + i);
        assertFalse(ring.offer(9), "full at capacity");
        for (long i = 1; i <= 8; i++) assertEquals(i, ring.poll());
        assertEquals(0, ring.poll(), "empty again");
        // Wrap around many laps.
        for (long i = 1; i <= 1000; i++) {
            assertTrue(ring.offer(i));
            assertEquals(i, ring.poll());
        }
    }

    @Test
    void sameOperationSequencesGiveTheSameResults() {
        for (int seed = 0; seed < 20; seed++) {
            Random random = new Random(seed);
            LongRing offHeap = make(OffHeap::new, 16);
            LongRing oracle = make(JcTools::new, 16);
            long next = 1;
            for (int op = 0; op < 10_000; op++) {
                // Bias towards offers or polls in phases, so both full and empty are visited.
                boolean offer = random.nextInt(100) < ((op / 500) % 2 == 0 ? 70 : 30);
                if (offer) {
                    assertEquals(oracle.offer(next), offHeap.offer(next), "seed " + seed + " op " + op);
                    next++;
                } else {
                    assertEquals(oracle.poll(), offHeap.poll(), "seed " + seed + " op " + op);
                }
            }
        }
    }

    @Test
    void closedRefusesOffersAndStillDrains() {
        OffHeap ring = (OffHeap) make(OffHeap::new, 4);
        assertEquals(OffHeapRing.OFFERED, ring.ring.offer(1));
        assertTrue(ring.ring.close());
        assertFalse(ring.ring.close(), "closing twice reports the first close only");
        assertEquals(OffHeapRing.CLOSED, ring.ring.offer(2));
        assertEquals(1, ring.poll(), "what was accepted before the close is still there");
        assertEquals(0, ring.poll());
        assertEquals(1, ring.ring.offered());
    }

    static final int PRODUCERS = 4;
    static final int PER_PRODUCER = 250_000;

    static long element(int producer, int seq) {
        return ((long) (producer + 1) << 40) | (seq + 1);
    }

    /** Every element once, each producer's elements in the order it offered them. */
    static void assertExactlyOnceInOrder(long[] taken, long count) {
        assertEquals((long) PRODUCERS * PER_PRODUCER, count, "elements taken");
        int[] nextSeq = new int[PRODUCERS];
        for (int i = 0; i < count; i++) {
            int producer = (int) (taken[i] >>> 40) - 1;
            int seq = (int) (taken[i] & 0xffffffffffL) - 1;
            assertTrue(producer >= 0 && producer < PRODUCERS, "unknown element " + taken[i]);
            assertEquals(nextSeq[producer], seq, "producer " + producer + ": lost, duplicated or reordered");
            nextSeq[producer]++;
        }
    }

    private static Thread[] startProducers(LongRing ring, CountDownLatch start) {
        Thread[] producers = new Thread[PRODUCERS];
        for (int p = 0; p < PRODUCERS; p++) {
            int producer = p;
            producers[p] = Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
                for (int seq = 0; seq < PER_PRODUCER; seq++) {
                    long e = element(producer, seq);
                    while (!ring.offer(e)) Thread.onSpinWait();
                }
            });
        }
        return producers;
    }

    @Test
    void fourJavaProducersAndACConsumerOnTheOffHeapRing() throws Exception {
        OffHeap ring = (OffHeap) make(OffHeap::new, 1024);
        long total = (long) PRODUCERS * PER_PRODUCER;
        Memory out = new Memory(8 * total);
        Memory args = new Memory(24);
        args.setLong(0, ring.address);
        args.setLong(8, Pointer.nativeValue(out));
        args.setLong(16, total);
        NativeFunction consume = NativeFunction.of(NativeLibrary.getInstance("spindle_scheduler_test"), "spn_test_ring_consume");
        CountDownLatch start = new CountDownLatch(1);
        Thread[] producers = startProducers(ring, start);
        NativeThread consumer = NativeThread.start(consume, Pointer.nativeValue(args));
        start.countDown();
        for (Thread p : producers) p.join();
        long taken = consumer.join();
        assertExactlyOnceInOrder(out.getLongArray(0, (int) taken), taken);
        assertEquals(0, ring.poll(), "nothing left over");
    }

    @Test
    void fourJavaProducersAndAJavaConsumerOnJcTools() throws Exception {
        LongRing ring = make(JcTools::new, 1024);
        long total = (long) PRODUCERS * PER_PRODUCER;
        long[] taken = new long[(int) total];
        CountDownLatch start = new CountDownLatch(1);
        Thread[] producers = startProducers(ring, start);
        start.countDown();
        int n = 0;
        long giveUp = System.nanoTime() + 60_000_000_000L;
        while (n < total && System.nanoTime() < giveUp) {
            long e = ring.poll();
            if (e != 0) taken[n++] = e;
        }
        for (Thread p : producers) p.join();
        assertExactlyOnceInOrder(taken, n);
    }
}
