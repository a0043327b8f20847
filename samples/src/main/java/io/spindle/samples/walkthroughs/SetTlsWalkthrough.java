package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code settls}: whose thread-locals a child that shares the JVM's memory sees. The JVM's
 * thread marks its copy of a {@code __thread} variable; a {@code CLONE_VM} child reads it.
 * Spindle's {@code CloneProcess} gives a {@code CLONE_VM} child a TCB of its own and passes it
 * with {@code CLONE_SETTLS}, so the child reads its own fresh copy: 0. Spindle never clones
 * {@code CLONE_VM} without {@code CLONE_SETTLS}, so the other child is made by a few lines of C
 * with glibc's {@code clone()}: its thread pointer is still its creator's, and it reads the
 * creator's mark, as it would write the creator's {@code errno}.
 */
public final class SetTlsWalkthrough implements Walkthrough {
    static final CloneFlags WITH = CloneFlags.of(CloneFlag.VM); // CloneProcess adds SETTLS and a TCB
    static final long MARK = 0x5E7715L;

    public record Observations(long mark, long withSettls, long withoutSettls) {
        public boolean holds() {
            return withSettls == 0 && withoutSettls == mark;
        }
    }

    @Override
    public String name() {
        return "settls";
    }

    @Override
    public String summary() {
        return "CLONE_SETTLS: a CLONE_VM child with a TLS of its own; without it, its creator's thread-locals";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.SETTLS);
    }

    public Observations observe() {
        SamplesNative.sample_settls_mark(MARK); // this thread's copy
        try (FlagReport report = new FlagReport()) {
            report.run(WITH, "sample_settls_child");
            int err = SamplesNative.sample_settls_without(report.address());
            if (err != 0) throw new IllegalStateException("clone(CLONE_VM) without CLONE_SETTLS: errno " + err);
            return new Observations(MARK, report.value(0), report.value(1));
        } finally {
            SamplesNative.sample_settls_mark(0);
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.printf("  parent thread: its __thread mark = 0x%x%n", o.mark());
        out.printf("  child cloned with CLONE_VM|CLONE_SETTLS (its own TCB): reads 0x%x%n", o.withSettls());
        out.printf("  child cloned with CLONE_VM alone (raw clone in C):    reads 0x%x%n", o.withoutSettls());
        out.println("  why: thread-locals are found through the thread pointer (%fs on x86-64, TPIDR_EL0 on AArch64);"
                + " CLONE_SETTLS sets the child's, without it the child keeps its creator's and shares its TLS");
        out.println(o.holds() ? "  shown: a TLS of its own only with CLONE_SETTLS" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
