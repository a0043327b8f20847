package io.spindle.samples;

import java.io.PrintStream;
import java.time.Duration;

/**
 * A workload command: the same work done several ways, checked against the sequential run,
 * and timed. The tour calls {@link #measure} with a small size; the command line runs it with
 * the size the user gives.
 */
public interface Workload extends Command {
    /** What {@code run} returns when this machine lacks what the workload needs (said clearly). */
    int UNAVAILABLE = 3;

    /** A size that runs in a few seconds at most on a small machine (the tour's). */
    long tourSize();

    /** Why this workload cannot run on this machine (a library missing, say), or null if it can. */
    default String unavailable() {
        return null;
    }

    /**
     * Does the work at {@code size} (the workload's own unit: rows, n, ints, bytes, buffers)
     * on Spindle, on the alternatives (virtual threads, and for some a ForkJoinPool) calling
     * the same native code, and sequentially; checks that every way's result equals the
     * sequential one (throws IllegalStateException naming the difference if not); prints
     * progress to {@code out}.
     */
    Timing measure(long size, PrintStream out) throws Exception;

    /** How long each way took, for the same checked result; forkJoinPool is null if that way was not measured. */
    record Timing(String workload, String size, Duration spindle, Duration forkJoinPool, Duration virtualThreads,
                  Duration sequential) {
        /** A workload measured on Spindle, virtual threads and sequentially. */
        public Timing(String workload, String size, Duration spindle, Duration virtualThreads, Duration sequential) {
            this(workload, size, spindle, null, virtualThreads, sequential);
        }
    }
}
