package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code sysvsem}: the JVM makes a System V semaphore at 0; a child raises it to 1 with
 * {@code SEM_UNDO} and exits. The kernel applies a task's undo values when the last task that
 * shares its undo list exits. Cloned with {@code CLONE_SYSVSEM} the child shares the JVM's
 * list, which lives on, so the semaphore stays at 1; without it the child's own list goes
 * with it, and the semaphore is back at 0.
 */
public final class SysvSemWalkthrough implements Walkthrough {
    static final CloneFlags SHARED = CloneFlags.of(CloneFlag.SYSVSEM);
    static final CloneFlags COPIED = CloneFlags.none();

    /** The semaphore in the child after its semop, and in the JVM after the child exited. */
    public record Run(CloneFlags flags, long inChild, int afterExit) {}

    public record Observations(Run shared, Run copied) {
        public boolean holds() {
            return shared.inChild == 1 && shared.afterExit == 1 && copied.inChild == 1 && copied.afterExit == 0;
        }
    }

    @Override
    public String name() {
        return "sysvsem";
    }

    @Override
    public String summary() {
        return "CLONE_SYSVSEM: a child's semaphore undo is kept while the parent lives; without it, undone at its exit";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.SYSVSEM);
    }

    public Observations observe() {
        return new Observations(runChild(SHARED), runChild(COPIED));
    }

    private static Run runChild(CloneFlags flags) {
        int id = SamplesNative.sample_sem_create();
        if (id < 0) throw new IllegalStateException("semget: errno " + -id);
        try (FlagReport report = new FlagReport()) {
            report.value(0, id);
            report.run(flags, "sample_sysvsem_child");
            if (report.value(1) != 0) throw new IllegalStateException("the child's semop: errno " + -report.value(1));
            return new Run(flags, report.value(2), SamplesNative.sample_sem_value(id));
        } finally {
            SamplesNative.sample_sem_remove(id);
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.println("  parent: a semaphore at 0; each child: semop(+1, SEM_UNDO), then exit");
        for (Run r : List.of(o.shared(), o.copied())) {
            out.printf("  child cloned with %-15s -> %d in the child, %d after it exited%n", FlagReport.label(r.flags()), r.inChild(), r.afterExit());
        }
        out.println("  why: undo values are applied when the last task sharing the undo list exits; with CLONE_SYSVSEM"
                + " that list is the JVM's (as its threads share it), so the +1 stays until the JVM ends.");
        out.println(o.holds() ? "  shown: the undo waited for the parent only with CLONE_SYSVSEM" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
