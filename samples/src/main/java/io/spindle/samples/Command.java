package io.spindle.samples;

import java.io.PrintStream;
import java.util.List;

/** One command of the samples tool: a walkthrough, a workload, or the tour. */
public interface Command {
    /** The word that selects it: {@code thread-like}, {@code mandelbrot}, ... */
    String name();

    /** One line for the usage message. */
    String summary();

    /**
     * Runs it, printing what happens and why to {@code out}. Returns the process exit code:
     * 0 when it showed what it claims, non-zero otherwise (e.g. a missing privilege, said
     * clearly). Bad arguments throw {@link UsageException}.
     */
    int run(List<String> args, PrintStream out) throws Exception;
}
