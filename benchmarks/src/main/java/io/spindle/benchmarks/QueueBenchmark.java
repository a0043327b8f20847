package io.spindle.benchmarks;

import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.internal.OffHeapRing;
import io.spindle.scheduler.internal.SchedNative;
import org.jctools.queues.MpmcArrayQueue;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Group;
import org.openjdk.jmh.annotations.GroupThreads;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The queues themselves, from Java threads, in the JCTools benchmarks' shape: producers
 * offer and consumers poll as fast as they can, never blocking; a full queue or an empty one
 * counts as a failed operation ({@link AuxCounters}), the successful ones are the score.
 * Throughput per group, 1 producer / 1 consumer and 2 / 2:
 *
 * <ul>
 *   <li>{@code spindleRing}: Spindle's submission ring (JCTools' MpmcArrayQueue algorithm on
 *       native memory through VarHandles), both sides in Java here;
 *   <li>{@code jctools}: JCTools' {@code MpmcArrayQueue} itself, the original;
 *   <li>{@code arrayBlockingQueue}: the JDK's lock-based queue, with offer/poll (no waiting).
 * </ul>
 * Capacity 1024 for all. The score counts calls, failed ones included (as JCTools' own
 * throughput benchmarks do); {@code offersMade}/{@code pollsMade} count the successful ones
 * and {@code offersFailed}/{@code pollsFailed} the rest. The answer check, once per trial
 * before measuring: the queue takes exactly its capacity, gives it back in order, and is
 * empty again.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class QueueBenchmark {
    static final int CAPACITY = 1024;

    /** The queue under test, shared by the group. Elements are non-zero longs. */
    @State(Scope.Group)
    public static class Queue {
        @Param({"spindleRing", "jctools", "arrayBlockingQueue"})
        public String queue;

        interface LongQueue {
            boolean offer(long e);

            long poll(); // 0 when empty
        }

        LongQueue q;
        private long ring;

        @Setup(Level.Trial)
        public void setUp() {
            q = switch (queue) {
                case "spindleRing" -> {
                    Spindle.loadNativeLibrary();
                    ring = SchedNative.spn_ring_create(CAPACITY);
                    OffHeapRing r = new OffHeapRing(ring);
                    yield new LongQueue() {
                        public boolean offer(long e) {
                            return r.offer(e) == OffHeapRing.OFFERED;
                        }

                        public long poll() {
                            return r.poll();
                        }
                    };
                }
                case "jctools" -> {
                    MpmcArrayQueue<Long> m = new MpmcArrayQueue<>(CAPACITY);
                    yield new LongQueue() {
                        public boolean offer(long e) {
                            return m.offer(e);
                        }

                        public long poll() {
                            Long e = m.poll();
                            return e == null ? 0 : e;
                        }
                    };
                }
                case "arrayBlockingQueue" -> {
                    ArrayBlockingQueue<Long> a = new ArrayBlockingQueue<>(CAPACITY);
                    yield new LongQueue() {
                        public boolean offer(long e) {
                            return a.offer(e);
                        }

                        public long poll() {
                            Long e = a.poll();
                            return e == null ? 0 : e;
                        }
                    };
                }
                default -> throw new IllegalArgumentException("unknown queue " + queue);
            };
            for (long e = 1; e <= CAPACITY; e++) {
                if (!q.offer(e)) throw new IllegalStateException(queue + " refused element " + e + " below capacity");
            }
            if (q.offer(CAPACITY + 1)) throw new IllegalStateException(queue + " took more than its capacity");
            for (long e = 1; e <= CAPACITY; e++) {
                long got = q.poll();
                if (got != e) throw new IllegalStateException(queue + " gave " + got + ", expected " + e);
            }
            if (q.poll() != 0) throw new IllegalStateException(queue + " not empty after giving everything back");
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            if (ring != 0) SchedNative.spn_ring_destroy(ring);
        }
    }

    /** Per thread: what it did, reported beside the score. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Counts {
        public long offersMade;
        public long offersFailed;
        public long pollsMade;
        public long pollsFailed;
        long next = 1;

        @Setup(Level.Iteration)
        public void reset() {
            offersMade = offersFailed = pollsMade = pollsFailed = 0;
        }
    }

    private static boolean offer(Queue queue, Counts c) {
        if (queue.q.offer(c.next)) {
            c.next++;
            c.offersMade++;
            return true;
        }
        c.offersFailed++;
        return false;
    }

    private static long poll(Queue queue, Counts c) {
        long e = queue.q.poll();
        if (e == 0) c.pollsFailed++;
        else c.pollsMade++;
        return e;
    }

    @Benchmark
    @Group("oneToOne")
    @GroupThreads(1)
    public boolean offer1(Queue queue, Counts counts) {
        return offer(queue, counts);
    }

    @Benchmark
    @Group("oneToOne")
    @GroupThreads(1)
    public long poll1(Queue queue, Counts counts) {
        return poll(queue, counts);
    }

    @Benchmark
    @Group("twoToTwo")
    @GroupThreads(2)
    public boolean offer2(Queue queue, Counts counts) {
        return offer(queue, counts);
    }

    @Benchmark
    @Group("twoToTwo")
    @GroupThreads(2)
    public long poll2(Queue queue, Counts counts) {
        return poll(queue, counts);
    }
}
