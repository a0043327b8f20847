package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code ptrace}: {@code CLONE_PTRACE} and {@code CLONE_UNTRACED} under a real tracer. A child
 * of the JVM becomes a tracer; a tracee of it (PTRACE_TRACEME) clones a grandchild four ways,
 * and the grandchild reads its own {@code TracerPid}:
 * <ul>
 *   <li>no flag: not traced; tracing is not inherited;
 *   <li>{@code CLONE_PTRACE}: traced by the same tracer, from its first instruction;
 *   <li>no flag, but the tracer set {@code PTRACE_O_TRACEFORK}: traced, the tracer asked for it;
 *   <li>{@code CLONE_UNTRACED} with that option: not traced; the tracer cannot force it.
 * </ul>
 * No privilege is needed: a process may always trace its own child that asks for it.
 */
public final class PtraceWalkthrough implements Walkthrough {
    static final long PTRACE_O_TRACEFORK = 0x2;

    /** One way of cloning the grandchild: its flags, the tracer's options on its cloner. */
    public record Way(String name, CloneFlags flags, long tracerOptions, boolean expectTraced) {}

    static final List<Way> WAYS = List.of(
            new Way("no flag", CloneFlags.none(), 0, false),
            new Way("CLONE_PTRACE", CloneFlags.of(CloneFlag.PTRACE), 0, true),
            new Way("no flag, PTRACE_O_TRACEFORK", CloneFlags.none(), PTRACE_O_TRACEFORK, true),
            new Way("CLONE_UNTRACED, PTRACE_O_TRACEFORK", CloneFlags.of(CloneFlag.UNTRACED), PTRACE_O_TRACEFORK, false));

    /** @param tracerPids each way's grandchild's TracerPid (0: not traced), in the order of {@link #WAYS} */
    public record Observations(long tracerPid, List<Long> tracerPids) {
        public boolean holds() {
            for (int i = 0; i < WAYS.size(); i++) {
                if (tracerPids.get(i) != (WAYS.get(i).expectTraced() ? tracerPid : 0)) return false;
            }
            return tracerPid > 0;
        }
    }

    @Override
    public String name() {
        return "ptrace";
    }

    @Override
    public String summary() {
        return "CLONE_PTRACE and CLONE_UNTRACED: whether a traced process's child is traced too";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.PTRACE, CloneFlag.UNTRACED);
    }

    public Observations observe() {
        try (FlagReport report = new FlagReport()) {
            for (int i = 0; i < WAYS.size(); i++) {
                report.value(8 + i, WAYS.get(i).flags().mask());
                report.value(12 + i, WAYS.get(i).tracerOptions());
            }
            report.run(CloneFlags.none(), "sample_ptrace_child");
            List<Long> pids = new java.util.ArrayList<>();
            for (int i = 0; i < WAYS.size(); i++) pids.add(report.value(i));
            return new Observations(report.value(4), List.copyOf(pids));
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.println("  tracer: pid " + o.tracerPid() + " (a child of the JVM); its tracee clones a grandchild:");
        for (int i = 0; i < WAYS.size(); i++) {
            long pid = o.tracerPids().get(i);
            out.printf("    %-36s -> the grandchild's TracerPid is %d (%s)%n", WAYS.get(i).name(), pid, pid == 0 ? "not traced" : "traced");
        }
        out.println("  why: a tracee's children are traced only if asked: by the cloner (CLONE_PTRACE) or by the tracer"
                + " (PTRACE_O_TRACEFORK and friends); CLONE_UNTRACED refuses the tracer's asking, as kernel threads do");
        out.println(o.holds() ? "  shown: traced with CLONE_PTRACE or the option, and not with CLONE_UNTRACED" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
