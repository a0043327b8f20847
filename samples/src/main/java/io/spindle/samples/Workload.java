package io.spindle.samples;

import java.io.PrintStream;
import java.time.Duration;

/**
 * A workload command: the same work done three ways, checked against the sequential native
 * run, and timed. The tour calls {@link #measure} with a small size; the command line runs
 * it with the size the user gives.
 */
public interface Workload extends Command {
    /** A size that runs in a few seconds at most on a small machine (the tour's). */
    long tourSize();

    /**
     * Does the work at {@code size} (the workload's own unit: rows, n, ints, bytes) on Spindle,
     * on virtual threads calling the native code through JNA, and sequentially in native code;
     * checks that Spindle's and the virtual threads' results equal the sequential one (throws
     * IllegalStateException naming the difference if not); prints progress to {@code out}.
     */
    Timing measure(long size, PrintStream out) throws Exception;

    /** How long each way took, for the same checked result. */
    record Timing(String workload, String size, Duration spindle, Duration virtualThreads, Duration sequential) {}
}
