package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code parent}: a child of the JVM clones a grandchild, with {@code CLONE_PARENT} and
 * without. With it the grandchild's parent is the child's own parent, the JVM: the two have
 * the same PPID, and it is the JVM that reaps the grandchild. Without it the grandchild's
 * parent is the child. (The JVM does not clone with the flag itself: its child would be its
 * own parent's, a shell's or Maven's, which the JVM cannot wait for.)
 */
public final class ParentWalkthrough implements Walkthrough {
    static final CloneFlags FLAGS = CloneFlags.of(CloneFlag.PARENT);

    /**
     * @param childPid        the JVM's child, which clones
     * @param childParent     its getppid() (the JVM)
     * @param grandchildParent the grandchild's getppid()
     * @param reapedByJvm     whether the JVM reaped the grandchild (with the flag)
     */
    public record Run(CloneFlags flags, long childPid, long childParent, long grandchildPid, long grandchildParent,
                      boolean reapedByJvm) {}

    public record Observations(long jvmPid, Run with, Run without) {
        public boolean holds() {
            return with.childParent == jvmPid && with.grandchildParent == jvmPid && with.reapedByJvm
                    && without.childParent == jvmPid && without.grandchildParent == without.childPid;
        }
    }

    @Override
    public String name() {
        return "parent";
    }

    @Override
    public String summary() {
        return "CLONE_PARENT: a grandchild cloned with it has its cloner's parent (the same PPID)";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.PARENT);
    }

    public Observations observe() {
        return new Observations(ProcessHandle.current().pid(), runChild(FLAGS), runChild(CloneFlags.none()));
    }

    private static Run runChild(CloneFlags grandchildFlags) {
        try (FlagReport report = new FlagReport()) {
            report.value(8, grandchildFlags.mask());
            report.run(CloneFlags.none(), "sample_parent_child");
            boolean reaped = false;
            if (grandchildFlags.contains(CloneFlag.PARENT)) {
                int status = SamplesNative.sample_reap((int) report.value(4), (int) FlagReport.CHILD_DEADLINE.toMillis());
                if (status < 0) throw new IllegalStateException("the JVM could not reap its CLONE_PARENT grandchild: errno " + -status);
                reaped = true;
            }
            return new Run(grandchildFlags, report.value(0), report.value(1), report.value(3), report.value(2), reaped);
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.println("  the JVM is pid " + o.jvmPid() + "; its child clones a grandchild");
        for (Run r : List.of(o.with(), o.without())) {
            out.printf("  grandchild cloned with %-14s: child %d (getppid %d) -> grandchild %d, getppid %d%s%n", FlagReport.label(r.flags()),
                    r.childPid(), r.childParent(), r.grandchildPid(), r.grandchildParent(), r.reapedByJvm() ? ", reaped by the JVM" : "");
        }
        out.println("  why: CLONE_PARENT makes the new process a sibling of its cloner, not its child: its parent, who"
                + " gets its exit signal and must reap it, is the cloner's parent");
        out.println(o.holds() ? "  shown: the same PPID as the cloner only with CLONE_PARENT" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
