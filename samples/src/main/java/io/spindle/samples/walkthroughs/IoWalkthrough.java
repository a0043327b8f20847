package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code io}: the I/O context, which holds the I/O priority the block layer schedules by. The
 * JVM's thread sets its own priority (best effort, level 4: that also gives it an I/O context
 * to share), then a child sets its priority to best effort, level 7. Cloned with
 * {@code CLONE_IO} the child shares the thread's context, so the thread's priority is now 7;
 * without it the child's context is a copy. The thread's priority is put back.
 */
public final class IoWalkthrough implements Walkthrough {
    static final CloneFlags SHARED = CloneFlags.of(CloneFlag.IO);
    static final int BEST_EFFORT = 2 << 13;
    static final int PARENT_PRIORITY = BEST_EFFORT | 4, CHILD_PRIORITY = BEST_EFFORT | 7;

    /** The child's own priority after it set it, and the parent thread's after the child. */
    public record Run(CloneFlags flags, long inChild, int inParent) {}

    public record Observations(Run shared, Run copied) {
        public boolean holds() {
            return shared.inChild == CHILD_PRIORITY && copied.inChild == CHILD_PRIORITY
                    && shared.inParent == CHILD_PRIORITY && copied.inParent == PARENT_PRIORITY;
        }
    }

    @Override
    public String name() {
        return "io";
    }

    @Override
    public String summary() {
        return "CLONE_IO: a child's I/O priority (in the shared I/O context) becomes the parent's";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.IO);
    }

    public Observations observe() {
        return new Observations(runChild(SHARED), runChild(CloneFlags.none()));
    }

    private static Run runChild(CloneFlags flags) {
        int saved = SamplesNative.sample_ioprio_get();
        if (saved < 0) throw new IllegalStateException("ioprio_get: errno " + -saved);
        try (FlagReport report = new FlagReport()) {
            int err = SamplesNative.sample_ioprio_set(PARENT_PRIORITY);
            if (err != 0) throw new IllegalStateException("ioprio_set: errno " + err);
            report.value(0, CHILD_PRIORITY);
            report.run(flags, "sample_io_child"); // cloned from this thread: its I/O context
            if (report.value(1) != 0) throw new IllegalStateException("the child's ioprio_set: errno " + report.value(1));
            return new Run(flags, report.value(2), SamplesNative.sample_ioprio_get());
        } finally {
            SamplesNative.sample_ioprio_set(saved);
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.println("  parent thread: ioprio_set(best effort, 4); each child: ioprio_set(best effort, 7)");
        for (Run r : List.of(o.shared(), o.copied())) {
            out.printf("  child cloned with %-10s -> the child's priority %s, the parent's %s%n", FlagReport.label(r.flags()), name(r.inChild()), name(r.inParent()));
        }
        out.println("  why: the I/O priority lives in the I/O context; CLONE_IO shares the context (one I/O stream to"
                + " the scheduler), without it the child gets a copy of the priority and a context of its own");
        out.println(o.holds() ? "  shown: the child's priority was the parent's only with CLONE_IO" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }

    static String name(long prio) {
        if (prio < 0) return "errno " + -prio;
        String[] classes = {"none", "real time", "best effort", "idle"};
        int c = (int) (prio >> 13);
        return (c < classes.length ? classes[c] : "class " + c) + ", " + (prio & 0x1fff);
    }
}
