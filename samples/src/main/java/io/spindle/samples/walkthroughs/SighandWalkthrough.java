package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code sighand}: a child sets SIGURG to be ignored, blocks it in its own mask and sends it to
 * itself. Cloned with {@code CLONE_VM|CLONE_SIGHAND} (the kernel wants {@code CLONE_VM} with
 * it) the disposition is the JVM's too: one table of handlers. The mask and the pending signal
 * stay the child's: they belong to each thread, with or without the flag. Without
 * {@code CLONE_SIGHAND} the child changed a copy of the table. The JVM's disposition is put
 * back after each child.
 */
public final class SighandWalkthrough implements Walkthrough {
    static final CloneFlags SHARED = CloneFlags.of(CloneFlag.VM, CloneFlag.SIGHAND);
    static final CloneFlags COPIED = CloneFlags.of(CloneFlag.VM);

    /** What the child saw (its own pending SIGURG) and what the JVM's thread saw after it. */
    public record Run(CloneFlags flags, boolean pendingInChild, boolean ignoredInParent, boolean blockedInParent,
                      boolean pendingInParent) {}

    public record Observations(boolean ignoredBefore, Run shared, Run copied) {
        public boolean holds() {
            return !ignoredBefore && shared.ignoredInParent && !copied.ignoredInParent
                    && shared.pendingInChild && copied.pendingInChild
                    && !shared.blockedInParent && !shared.pendingInParent && !copied.blockedInParent && !copied.pendingInParent;
        }
    }

    @Override
    public String name() {
        return "sighand";
    }

    @Override
    public String summary() {
        return "CLONE_SIGHAND: a child's sigaction is the parent's; masks and pending signals stay apart";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.SIGHAND);
    }

    public Observations observe() {
        long[] before = new long[3];
        SamplesNative.sample_signal_view(before);
        return new Observations(before[0] != 0, runChild(SHARED), runChild(COPIED));
    }

    private static Run runChild(CloneFlags flags) {
        int err = SamplesNative.sample_signal_save();
        if (err != 0) throw new IllegalStateException("sigaction: errno " + err);
        try (FlagReport report = new FlagReport()) {
            // The view is taken on this thread, the one that cloned: a mask is per thread.
            report.run(flags, "sample_sighand_child");
            long[] view = new long[3];
            SamplesNative.sample_signal_view(view);
            return new Run(flags, report.value(0) != 0, view[0] != 0, view[1] != 0, view[2] != 0);
        } finally {
            SamplesNative.sample_signal_restore();
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.println("  each child: sigaction(SIGURG, SIG_IGN), blocks SIGURG, sends it to itself (it stays pending there)");
        for (Run r : List.of(o.shared(), o.copied())) {
            out.printf("  child cloned with %-23s -> parent: SIGURG %s; blocked in its mask: %s; pending: %s (child: pending %s)%n",
                    FlagReport.label(r.flags()), r.ignoredInParent() ? "ignored" : "not ignored", yes(r.blockedInParent()), yes(r.pendingInParent()),
                    yes(r.pendingInChild()));
        }
        out.println("  why: CLONE_SIGHAND shares the table of signal handlers; the mask and the pending set are each"
                + " thread's own, flag or not. The parent put its disposition back.");
        out.println(o.holds() ? "  shown: the disposition was shared only with CLONE_SIGHAND; the mask and pending signal never"
                : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }

    private static String yes(boolean b) {
        return b ? "yes" : "no";
    }
}
