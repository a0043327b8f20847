package io.spindle.samples;

import io.spindle.runtime.CloneFlag;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code tour}: a short narrated run of every walkthrough and workload (a minute or less),
 * then a table of the workloads' times against the alternatives and one of every clone flag
 * the walkthroughs start from: shown, or needing a privilege. Walkthroughs that need
 * a privilege this process lacks are skipped with the reason; any claim that does not hold
 * makes the tour exit 1.
 */
public final class Tour implements Command {
    @Override
    public String name() {
        return "tour";
    }

    @Override
    public String summary() {
        return "every walkthrough and workload in a minute, with a table of the times";
    }

    @Override
    public int run(List<String> args, PrintStream out) throws Exception {
        if (!args.isEmpty()) throw new UsageException("tour takes no arguments");
        long start = System.nanoTime();
        out.println("Spindle tour: raw clone(2) threads and green threads inside this JVM (pid "
                + ProcessHandle.current().pid() + ", Java " + Runtime.version() + ", "
                + Runtime.getRuntime().availableProcessors() + " CPUs)");
        boolean privileged = isRoot();
        List<Command> commands = new ArrayList<>(Main.commands().values());
        List<String> failed = new ArrayList<>();

        section(out, "1. What clone's flags do, one at a time");
        Command flags = commands.stream().filter(c -> c.name().equals("flags")).findFirst().orElseThrow();
        out.println("$ flags CLONE_THREAD|CLONE_VM     (a combination the kernel refuses)");
        flags.run(List.of("CLONE_THREAD|CLONE_VM"), out);
        Map<CloneFlag, String> flagShown = new EnumMap<>(CloneFlag.class);
        for (Command c : commands) {
            if (!(c instanceof Walkthrough w)) continue;
            out.println();
            out.println("$ " + w.name() + "     (" + w.summary() + ")");
            String outcome;
            if (w.needsPrivilege() && !privileged) {
                out.println("  skipped: needs CAP_SYS_ADMIN (run as root to see it)");
                outcome = "needs privilege (" + w.name() + ")";
            } else {
                int code;
                try {
                    code = w.run(List.of(), out);
                } catch (Exception e) {
                    out.println("  FAILED: " + e);
                    code = 1;
                }
                if (code == Walkthrough.NEEDS_PRIVILEGE) out.println("  skipped: a privilege is missing (see above)");
                else if (code != 0) failed.add(w.name());
                outcome = code == 0 ? "shown by " + w.name() : code == Walkthrough.NEEDS_PRIVILEGE
                        ? "needs privilege (" + w.name() + ")" : "NOT shown: " + w.name() + " failed";
            }
            for (CloneFlag f : w.flagsShown()) flagShown.merge(f, outcome, (a, b) -> a.startsWith("shown") ? a : b);
        }

        section(out, "2. Real workloads: Spindle vs virtual threads (and a ForkJoinPool) calling C vs one thread");
        List<Workload.Timing> timings = new ArrayList<>();
        for (Command c : commands) {
            if (!(c instanceof Workload w)) continue;
            out.println("$ " + w.name() + " " + w.tourSize() + "     (" + w.summary() + ")");
            if (w.unavailable() != null) {
                out.println("  skipped: " + w.unavailable());
                continue;
            }
            try {
                timings.add(w.measure(w.tourSize(), out));
            } catch (IllegalStateException wrong) {
                out.println("  FAILED: " + wrong.getMessage());
                failed.add(w.name());
            }
        }

        section(out, "3. The workloads' times (checked: every result identical to the sequential native run)");
        String columns = "%-11s %-22s %10s %10s %16s %11s %13s %14s%n";
        out.printf(columns, "workload", "size", "Spindle", "FJP + FFM", "virtual threads", "sequential", "VT / Spindle", "FJP / Spindle");
        for (Workload.Timing t : timings) {
            out.printf(columns, t.workload(), t.size(), ms(t.spindle()), ms(t.forkJoinPool()), ms(t.virtualThreads()),
                    ms(t.sequential()), ratio(t.virtualThreads(), t.spindle()), ratio(t.forkJoinPool(), t.spindle()));
        }

        section(out, "4. Every flag of clone(2)'s table in the tutorial Spindle started from, and CLONE_NEWCGROUP");
        for (CloneFlag f : SEED_FLAGS) {
            out.printf("  %-22s %s%n", "CLONE_" + f.name(), flagShown.getOrDefault(f, "NOT shown: no walkthrough"));
        }
        out.printf("%nThe tour took %.1f s.%s%n", (System.nanoTime() - start) / 1e9,
                failed.isEmpty() ? "" : " Claims that did not hold: " + failed);
        return failed.isEmpty() ? 0 : 1;
    }

    /** The flags of the clone(2) table in the tutorial Spindle started from, in its order, then CLONE_NEWCGROUP. */
    public static final List<CloneFlag> SEED_FLAGS = List.of(CloneFlag.FILES, CloneFlag.FS, CloneFlag.SIGHAND, CloneFlag.VM,
            CloneFlag.THREAD, CloneFlag.SYSVSEM, CloneFlag.SETTLS, CloneFlag.PARENT_SETTID, CloneFlag.CHILD_SETTID,
            CloneFlag.CHILD_CLEARTID, CloneFlag.NEWNS, CloneFlag.NEWIPC, CloneFlag.NEWNET, CloneFlag.NEWPID, CloneFlag.NEWUSER,
            CloneFlag.NEWUTS, CloneFlag.PARENT, CloneFlag.VFORK, CloneFlag.PTRACE, CloneFlag.UNTRACED, CloneFlag.IO,
            CloneFlag.NEWCGROUP);

    private static void section(PrintStream out, String title) {
        out.println();
        out.println("== " + title + " " + "=".repeat(Math.max(0, 90 - title.length())));
    }

    /** The time, or "-" for a way that was not measured. */
    private static String ms(Duration d) {
        return d == null ? "-" : String.format(Locale.ROOT, "%.1f ms", d.toNanos() / 1e6);
    }

    private static String ratio(Duration other, Duration spindle) {
        return other == null ? "-" : String.format(Locale.ROOT, "%.1fx", (double) other.toNanos() / Math.max(1, spindle.toNanos()));
    }

    /** Effective uid 0: what the namespace walkthroughs need (CAP_SYS_ADMIN). */
    static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0");
            }
        } catch (java.io.IOException e) {
            return false;
        }
        return false;
    }
}
