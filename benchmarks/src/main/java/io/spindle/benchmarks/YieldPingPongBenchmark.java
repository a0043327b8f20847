package io.spindle.benchmarks;

import io.spindle.benchmarks.internal.BenchNative;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Spindle;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static io.spindle.benchmarks.TaskFunction.TIMEOUT;
import static io.spindle.benchmarks.TaskFunction.TIMEOUT_NANOS;

/**
 * A round trip between two threads of control that hand the CPU to each other,
 * {@value #ROUNDS} round trips per invocation: nanoseconds per round trip
 * ({@code @OperationsPerInvocation}). A round trip is A handing over to B and B handing back.
 * The alternatives, side by side:
 *
 * <ul>
 *   <li>{@code spindle}: two green threads on a Spindle with one worker, each yielding
 *       ({@code spn_yield}) after each of its turns (bench_green.c
 *       {@code bench_spn_yield_pingpong}, one native task that spawns both and joins them).
 *       A round trip is two yields.
 *   <li>{@code virtualThread}: two virtual threads handing a turn over with a volatile write
 *       and {@link LockSupport#unpark}, each waiting for its turn in {@link LockSupport#park}.
 *       This fork runs the virtual-thread scheduler with one carrier
 *       ({@code -Djdk.virtualThreadScheduler.parallelism=1}), like Spindle's one worker.
 *   <li>{@code pthread}: two pthreads handing a turn over on a futex word (bench_native.c
 *       {@code bench_futex_pingpong}: store + FUTEX_WAKE, FUTEX_WAIT until the word is ours);
 *       the kernel places them (not pinned), and the two creations per call are spread over
 *       the rounds.
 * </ul>
 * Every invocation checks that the turns strictly alternated (2 * {@value #ROUNDS}
 * hand-overs). Only the outer wait is bounded ({@link TaskFunction#TIMEOUT}); the hand-offs
 * are what is measured. When it expires the players are told to stop (the virtual threads by
 * a flag and an unpark, the pthreads by an abort value in the futex word), so a lost
 * wake-up fails the run instead of hanging it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(YieldPingPongBenchmark.ROUNDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g",
        "-Djdk.virtualThreadScheduler.parallelism=1"})
@State(Scope.Thread)
public class YieldPingPongBenchmark {
    public static final int ROUNDS = 100_000;
    private static final long HANDOFFS = 2L * ROUNDS;

    @Param({"spindle", "virtualThread", "pthread"})
    public String runtime;

    /** ROUNDS round trips; returns the hand-overs that went to the other player. */
    @FunctionalInterface
    interface Game {
        long run() throws Exception;
    }

    private Game game;
    private Spindle spindle;
    private Memory pthreadOut;

    @Setup
    public void setUp() throws Exception {
        game = switch (runtime) {
            case "spindle" -> {
                // One worker: both green threads on it, a yield goes to the other one.
                spindle = Spindle.builder().workers(1).name("bench-yield").build();
                Spindle s = spindle;
                NativeFunction fn = NativeFunction.of(BenchNative.LIBRARY, "bench_spn_yield_pingpong");
                yield () -> s.spawn(fn, ROUNDS).join(TIMEOUT);
            }
            case "virtualThread" -> YieldPingPongBenchmark::virtualThreadGame;
            case "pthread" -> {
                pthreadOut = new Memory(8);
                long out = Pointer.nativeValue(pthreadOut);
                ByteBuffer handoffs = pthreadOut.getByteBuffer(0, 8).order(ByteOrder.nativeOrder());
                yield () -> {
                    int err = BenchNative.bench_futex_pingpong(ROUNDS, out, TIMEOUT_NANOS);
                    if (err != 0) throw new IllegalStateException("futex ping-pong failed: errno " + err);
                    return handoffs.getLong(0);
                };
            }
            default -> throw new IllegalArgumentException("unknown runtime " + runtime);
        };
        check(game.run());
    }

    /** Two virtual threads, park/unpark. Shared state of one game. */
    private static final class VirtualGame {
        volatile int turn; // whose turn: 0 or 1
        volatile boolean aborted;
        final Thread[] players = new Thread[2];
        final long[] handoffs = new long[2]; // each player's own slot, read after the joins

        void play(int me) {
            int other = 1 - me;
            Thread next = players[other];
            long done = 0;
            for (int i = 0; i < ROUNDS; i++) {
                while (turn != me) {
                    if (aborted) {
                        handoffs[me] = done;
                        return;
                    }
                    LockSupport.park(); // might return spuriously: the loop rechecks
                }
                turn = other;
                LockSupport.unpark(next);
                done++;
            }
            handoffs[me] = done;
        }
    }

    private static long virtualThreadGame() throws InterruptedException {
        VirtualGame g = new VirtualGame();
        for (int me = 0; me < 2; me++) {
            int player = me;
            g.players[me] = Thread.ofVirtual().unstarted(() -> g.play(player));
        }
        g.players[0].start();
        g.players[1].start();
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        for (Thread t : g.players) {
            long left = Math.max(0, deadline - System.nanoTime());
            if (!t.join(Duration.ofNanos(left))) {
                g.aborted = true; // escape hatch: the players see it at their next wake-up
                for (Thread p : g.players) LockSupport.unpark(p);
                throw new IllegalStateException("virtual-thread ping-pong still running after " + TIMEOUT);
            }
        }
        return g.handoffs[0] + g.handoffs[1]; // the joins ordered the players' writes before these reads
    }

    private long check(long handoffs) {
        if (handoffs != HANDOFFS) {
            throw new IllegalStateException(runtime + ": " + handoffs + " alternating hand-overs ("
                    + BenchNative.describeGreenResult(handoffs) + "), expected " + HANDOFFS);
        }
        return handoffs;
    }

    @Benchmark
    public long roundTrips() throws Exception {
        return check(game.run());
    }

    @TearDown
    public void tearDown() throws Exception {
        if (spindle != null) TaskFunction.closeAndReport(spindle);
        if (pthreadOut != null) pthreadOut.close();
    }
}
