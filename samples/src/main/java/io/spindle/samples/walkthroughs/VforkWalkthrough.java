package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneProcess;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code vfork}: a child cloned with {@code CLONE_VM|CLONE_VFORK} (vfork's flags) sets its
 * done word and exits; the clone returns to the JVM only then, so the JVM finds the word set
 * at once. Without {@code CLONE_VFORK} the clone returns while the child runs: the child waits
 * for the JVM's go, and the JVM finds the word still clear, sets go, then joins. Order, not
 * time, is what is checked: the second child cannot end before the JVM has looked.
 */
public final class VforkWalkthrough implements Walkthrough {
    static final CloneFlags SUSPENDING = CloneFlags.of(CloneFlag.VM, CloneFlag.VFORK);
    static final CloneFlags RUNNING = CloneFlags.of(CloneFlag.VM);

    /** Whether the child was done when clone returned to the JVM. */
    public record Observations(boolean doneWhenVforkReturned, boolean doneWhenCloneReturned) {
        public boolean holds() {
            return doneWhenVforkReturned && !doneWhenCloneReturned;
        }
    }

    @Override
    public String name() {
        return "vfork";
    }

    @Override
    public String summary() {
        return "CLONE_VFORK: the parent is suspended until the child exits (or execs)";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.VFORK);
    }

    public Observations observe() {
        boolean suspended;
        try (FlagReport report = new FlagReport()) {
            CloneProcess child = report.start(SUSPENDING, "sample_vfork_child"); // value[0] = 0: no waiting
            suspended = report.done() == 1;
            FlagReport.expectSuccess(child, "sample_vfork_child");
        }
        boolean running;
        try (FlagReport report = new FlagReport()) {
            report.value(0, 1); // waits for go: it cannot finish before we look
            CloneProcess child = report.start(RUNNING, "sample_vfork_child");
            running = report.done() == 1;
            report.go(1);
            FlagReport.expectSuccess(child, "sample_vfork_child");
        }
        return new Observations(suspended, running);
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.println("  clone(" + SUSPENDING + ") returned: the child was " + (o.doneWhenVforkReturned() ? "already done" : "still running"));
        out.println("  clone(" + RUNNING + ") returned:       the child was " + (o.doneWhenCloneReturned() ? "already done" : "still running")
                + " (it waited for the parent's go)");
        out.println("  why: CLONE_VFORK suspends the calling thread until the child calls execve or exits, so that a"
                + " child borrowing the parent's memory (CLONE_VM) has it to itself until then");
        out.println(o.holds() ? "  shown: only with CLONE_VFORK did clone wait for the child" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
