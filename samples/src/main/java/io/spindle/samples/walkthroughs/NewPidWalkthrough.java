package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneException;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneProcess;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;
import java.util.Optional;

/**
 * {@code new-pid}: a child cloned with {@code CLONE_NEWPID} calls {@code getpid()} and gets 1:
 * it is the first process, the init, of a new pid namespace. The parent knows it by an ordinary
 * pid of its own namespace, and the child's {@code getppid()} is 0: its parent lives outside.
 */
public final class NewPidWalkthrough implements Walkthrough {
    static final CloneFlags FLAGS = CloneFlags.of(CloneFlag.NEWPID);

    // struct pid_report (walkthroughs.c): pid(4b) | ppid(4b)
    private static final long PID = 0, PPID = 4, REPORT_SIZE = 8;

    /**
     * @param pidOutside the child's pid as the parent knows it (clone's return value)
     * @param pidInside  getpid() in the child
     * @param ppidInside getppid() in the child
     */
    public record Observations(long parentPid, int pidOutside, int pidInside, int ppidInside) {
        public boolean holds() {
            return pidInside == 1 && pidOutside > 1 && ppidInside == 0;
        }
    }

    @Override
    public String name() {
        return "new-pid";
    }

    @Override
    public String summary() {
        return "CLONE_NEWPID: the child is pid 1 in its namespace, an ordinary pid in ours";
    }

    @Override
    public boolean needsPrivilege() {
        return true;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.NEWPID);
    }

    /** @throws CloneException when the kernel refuses the clone (EPERM without CAP_SYS_ADMIN) */
    public Observations observe() {
        SamplesNative.checkLayout(SamplesNative.Report.PID, REPORT_SIZE);
        try (SharedBlock report = SharedBlock.map(REPORT_SIZE)) {
            CloneProcess child = CloneProcess.start(FLAGS, SamplesNative.function("sample_pid_inside"), report.address());
            CloneProcess.ExitStatus status = child.join();
            if (!status.exited()) throw new IllegalStateException("the " + FLAGS + " child was " + status);
            return new Observations(ProcessHandle.current().pid(), child.pid(), report.getInt(PID), report.getInt(PPID));
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Optional<Observations> observed = Privileges.observeOrRefuse(out, FLAGS, this::observe);
        if (observed.isEmpty()) return NEEDS_PRIVILEGE;
        Observations o = observed.get();
        out.println("  parent (pid " + o.parentPid() + "): clone(" + FLAGS + ") returned pid " + o.pidOutside());
        out.println("  child: getpid() = " + o.pidInside() + ", getppid() = " + o.ppidInside());
        out.println("  why: the child is the first process of a new pid namespace, its init; one process has a pid"
                + " in each namespace it is seen from, and its parent has none in the new one (hence 0)");
        out.println(o.holds() ? "  shown: pid 1 inside, pid " + o.pidOutside() + " outside" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
