package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneException;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;
import java.util.Optional;

/**
 * {@code new-ipc}: the JVM makes a System V semaphore and a child looks it up by its id.
 * Cloned with {@code CLONE_NEWIPC} the child is in a new IPC namespace, whose ids are its own:
 * the JVM's id means nothing there (EINVAL). Without the flag it finds the semaphore.
 */
public final class NewIpcWalkthrough implements Walkthrough {
    static final CloneFlags FLAGS = CloneFlags.of(CloneFlag.NEWIPC);
    private static final int EINVAL = 22;

    /** semctl(GETVAL) on the JVM's id in a child cloned with and without the flag: a value, or -errno. */
    public record Observations(int semaphoreId, long withFlag, long withoutFlag) {
        public boolean holds() {
            return withFlag == -EINVAL && withoutFlag == 0;
        }
    }

    @Override
    public String name() {
        return "new-ipc";
    }

    @Override
    public String summary() {
        return "CLONE_NEWIPC: a semaphore of the parent's is not there for the child";
    }

    @Override
    public boolean needsPrivilege() {
        return true;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.NEWIPC);
    }

    /** @throws CloneException when the kernel refuses the clone (EPERM without CAP_SYS_ADMIN) */
    public Observations observe() {
        int id = SamplesNative.sample_sem_create();
        if (id < 0) throw new IllegalStateException("semget: errno " + -id);
        try {
            return new Observations(id, lookUp(FLAGS, id), lookUp(CloneFlags.none(), id));
        } finally {
            SamplesNative.sample_sem_remove(id);
        }
    }

    private static long lookUp(CloneFlags flags, int id) {
        try (FlagReport report = new FlagReport()) {
            report.value(0, id);
            report.run(flags, "sample_newipc_child");
            return report.value(1);
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Optional<Observations> observed = Privileges.observeOrRefuse(out, FLAGS, this::observe);
        if (observed.isEmpty()) return NEEDS_PRIVILEGE;
        Observations o = observed.get();
        out.println("  parent: semget(IPC_PRIVATE) -> semaphore id " + o.semaphoreId());
        out.println("  child cloned with " + FLAGS + ": semctl(" + o.semaphoreId() + ", GETVAL) -> " + result(o.withFlag()));
        out.println("  child cloned without it:     semctl(" + o.semaphoreId() + ", GETVAL) -> " + result(o.withoutFlag()));
        out.println("  why: System V ids live in an IPC namespace; a new one starts empty, so the parent's semaphores,"
                + " queues and shared memory are not reachable from it (nor its from the parent's)");
        out.println(o.holds() ? "  shown: the parent's semaphore was missing only in the new IPC namespace" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }

    private static String result(long r) {
        return r >= 0 ? "value " + r : r == -EINVAL ? "EINVAL (no such id here)" : "errno " + -r;
    }
}
