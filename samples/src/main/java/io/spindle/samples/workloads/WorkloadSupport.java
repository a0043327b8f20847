package io.spindle.samples.workloads;

import io.spindle.samples.UsageException;
import io.spindle.samples.Workload;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.SpindleStats;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * What the workload commands share: the command line ({@code NAME [size] [--out FILE]}),
 * the equality checks, timing, forking a virtual thread, and the table of timings.
 */
final class WorkloadSupport {
    static final String CHECKED = "checked: identical to the sequential native run";

    private WorkloadSupport() {}

    // ---- the command line ----------------------------------------------------------------------

    /** A parsed command line: the size (or the default) and the options given. */
    record Args(long size, boolean sizeGiven, Map<String, String> options) {
        Path path(String option) {
            String value = options.get(option);
            return value == null ? null : Path.of(value);
        }
    }

    /**
     * {@code [size] [--option VALUE]...}: at most one size, options only from {@code allowed}
     * (each taking a value). Sizes take k/M/G suffixes (powers of 1024) and underscores.
     */
    static Args parse(List<String> args, String sizeName, long defaultSize, long min, long max, Set<String> allowed) {
        Long size = null;
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.startsWith("--")) {
                if (!allowed.contains(a)) {
                    throw new UsageException("unknown option '" + a + "'" + (allowed.isEmpty() ? "" : " (known: " + String.join(", ", allowed) + ")"));
                }
                if (i + 1 >= args.size()) throw new UsageException(a + " needs a value");
                if (options.put(a, args.get(++i)) != null) throw new UsageException(a + " given twice");
            } else {
                if (size != null) throw new UsageException("one " + sizeName + " only, got '" + size + "' and '" + a + "'");
                size = parseSize(a, sizeName, min, max);
            }
        }
        return new Args(size == null ? defaultSize : size, size != null, options);
    }

    /** A file that {@code option} may create or overwrite: its folder exists and it is not a folder. */
    static Path requireWritable(String option, Path file) {
        if (file == null) return null;
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) throw new UsageException(option + ": no such folder: " + parent);
        if (Files.isDirectory(file)) throw new UsageException(option + ": " + file + " is a folder, not a file");
        return file;
    }

    /** A whole number from {@code min} to {@code max}, with an optional k, M or G (x1024) suffix. */
    static long parseSize(String text, String what, long min, long max) {
        String t = text.trim().replace("_", "");
        long unit = 1;
        if (!t.isEmpty()) {
            switch (Character.toLowerCase(t.charAt(t.length() - 1))) {
                case 'k' -> unit = 1L << 10;
                case 'm' -> unit = 1L << 20;
                case 'g' -> unit = 1L << 30;
                default -> unit = 1;
            }
            if (unit != 1) t = t.substring(0, t.length() - 1);
        }
        long value;
        try {
            value = Math.multiplyExact(Long.parseLong(t), unit);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new UsageException(what + " must be a whole number (k, M, G suffixes allowed), not '" + text + "'");
        }
        if (value < min || value > max) {
            throw new UsageException(what + " must be between " + human(min) + " and " + human(max) + ", was " + human(value));
        }
        return value;
    }

    private static String human(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }

    // ---- the checks ----------------------------------------------------------------------------

    /**
     * Throws if {@code firstDifference} (a byte offset from sample_first_difference, -1 when
     * equal) says that {@code way}'s result differs from the sequential one.
     */
    static void requireSameBytes(String workload, String way, long firstDifference, long elementBytes, String element) {
        if (firstDifference >= 0) {
            throw new IllegalStateException(workload + ": " + way + " differs from the sequential native run at "
                    + element + " " + firstDifference / elementBytes);
        }
    }

    /** Throws naming the first index at which {@code actual} ({@code way}'s) differs from {@code expected} ({@code reference}'s). */
    static void requireEqual(String workload, String way, String reference, long[] expected, long[] actual, String element) {
        if (expected.length != actual.length) {
            throw new IllegalStateException(workload + ": " + way + " has " + actual.length + " " + element
                    + "s, " + reference + " " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                throw new IllegalStateException(workload + ": " + way + " differs from " + reference + " at "
                        + element + " " + i + ": " + actual[i] + " instead of " + expected[i]);
            }
        }
    }

    // ---- timing and forking ----------------------------------------------------------------------

    /**
     * Each way runs this many times and the best time counts: the first round still pays for
     * compiling the Java side's hot paths (Spindle's submission loop, JNA's stubs), and this
     * 2-core machine is shared with whatever else runs.
     */
    static final int ROUNDS = 3;

    /** {@link #timed(PrintStream, String, ThrowingRunnable, ThrowingRunnable)} with nothing to reset. */
    static Duration timed(PrintStream out, String line, ThrowingRunnable work) throws Exception {
        return timed(out, line, null, work);
    }

    /**
     * Runs {@code work} {@link #ROUNDS} times, {@code reset} (untimed, may be null) before
     * each; prints {@code line} and every round's time (when out is not null); returns the best.
     */
    static Duration timed(PrintStream out, String line, ThrowingRunnable reset, ThrowingRunnable work) throws Exception {
        if (out != null) {
            out.print("  " + line + " ...");
            out.flush();
        }
        Duration best = null;
        for (int round = 0; round < ROUNDS; round++) {
            if (reset != null) reset.run();
            long start = System.nanoTime();
            work.run();
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            if (best == null || took.compareTo(best) < 0) best = took;
            if (out != null) {
                out.print((round == 0 ? " " : ", ") + millis(took));
                out.flush();
            }
        }
        if (out != null) out.println(ROUNDS > 1 ? " (best " + millis(best) + ")" : "");
        return best;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    /** Starts {@code work} on a new virtual thread; {@link Forked#join} returns its value or rethrows its failure. */
    static <T> Forked<T> fork(Callable<T> work) {
        FutureTask<T> task = new FutureTask<>(work);
        Thread.ofVirtual().start(task);
        return new Forked<>(task);
    }

    record Forked<T>(FutureTask<T> task) {
        T join() throws Exception {
            try {
                return task.get();
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof Exception ex) throw ex;
                if (cause instanceof Error err) throw err;
                throw e;
            }
        }
    }

    /** A Spindle with a worker per processor, named after the workload. */
    static Spindle openSpindle(String workload) {
        return Spindle.builder().name("samples-" + workload).build();
    }

    // ---- the report ----------------------------------------------------------------------------

    static String millis(Duration d) {
        return String.format(Locale.ROOT, "%.1f ms", d.toNanos() / 1e6);
    }

    /** One line of a workload's table: a way of doing the work and its best time. */
    record Way(String label, Duration time) {}

    /** The table of a workload whose alternatives call its C code through JNA. */
    static void printTable(PrintStream out, Workload.Timing t, int workers) {
        printTable(out, t, List.of(
                new Way("Spindle (" + workers + " workers, green threads)", t.spindle()),
                new Way("virtual threads + JNA", t.virtualThreads()),
                new Way("sequential native (one JNA call)", t.sequential())));
    }

    /** Every way's time, each with its speed-up over the sequential run, then the check line. */
    static void printTable(PrintStream out, Workload.Timing t, List<Way> ways) {
        out.println();
        out.printf(Locale.ROOT, "%s, %s (the best of %d rounds each):%n", t.workload(), t.size(), ROUNDS);
        out.printf(Locale.ROOT, "  %-34s %12s %10s%n", "way", "time", "speed-up");
        for (Way w : ways) {
            double speedUp = w.time().toNanos() == 0 ? 0 : (double) t.sequential().toNanos() / w.time().toNanos();
            out.printf(Locale.ROOT, "  %-34s %12s %9.2fx%n", w.label(), millis(w.time()), speedUp);
        }
        out.println(CHECKED);
    }

    /** "tasks run per worker: 812, 790; 3 stolen; 4 green stacks" (counts since the runtime started, warm-up included). */
    static String workerLine(Spindle spindle) {
        SpindleStats stats = spindle.stats();
        StringBuilder b = new StringBuilder("Spindle's tasks run per worker (warm-up included): ");
        for (int i = 0; i < stats.workers().size(); i++) b.append(i == 0 ? "" : ", ").append(count(stats.workers().get(i).tasksRun()));
        return b.append("; ").append(count(stats.steals())).append(" stolen; ").append(count(stats.stacks()))
                .append(" green stacks in use or cached").toString();
    }

    static int workers() {
        return Runtime.getRuntime().availableProcessors();
    }

    static String count(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }
}
