package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneException;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneProcess;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code new-uts}: the tutorial's Example 3. A child cloned with {@code CLONE_NEWUTS} sets its
 * hostname and reads it back; the parent's hostname, read from
 * {@code /proc/sys/kernel/hostname} before and after, does not change.
 */
public final class NewUtsWalkthrough implements Walkthrough {
    static final CloneFlags FLAGS = CloneFlags.of(CloneFlag.NEWUTS);
    static final String CHILD_HOSTNAME = "spindle-uts-child";
    private static final Path HOSTNAME = Path.of("/proc/sys/kernel/hostname");

    // struct uts_report (walkthroughs.c): wanted(65b) | seen_before(65b) | seen_after(65b) | pad(1b) | error(4b)
    private static final int HOST_MAX = 65;
    private static final long WANTED = 0, SEEN_BEFORE = 65, SEEN_AFTER = 130, ERROR = 196, REPORT_SIZE = 200;

    /**
     * @param childBefore the hostname the child inherited (the parent's, in a copied namespace)
     * @param childAfter  what the child read back after sethostname
     * @param error       sethostname's errno in the child, 0 when it worked
     */
    public record Observations(String parentBefore, String childBefore, String childWanted, String childAfter,
                               String parentAfter, int error) {
        public boolean holds() {
            return error == 0 && childAfter.equals(childWanted) && parentAfter.equals(parentBefore)
                    && !parentBefore.equals(childWanted);
        }
    }

    @Override
    public String name() {
        return "new-uts";
    }

    @Override
    public String summary() {
        return "CLONE_NEWUTS: a child sets its own hostname; the parent's does not change";
    }

    @Override
    public boolean needsPrivilege() {
        return true;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.NEWUTS);
    }

    /** @throws CloneException when the kernel refuses the clone (EPERM without CAP_SYS_ADMIN) */
    public Observations observe() {
        SamplesNative.checkLayout(SamplesNative.Report.UTS, REPORT_SIZE);
        String before = hostname();
        try (SharedBlock report = SharedBlock.map(REPORT_SIZE)) {
            report.setString(WANTED, HOST_MAX, CHILD_HOSTNAME);
            CloneProcess child = CloneProcess.start(FLAGS, SamplesNative.function("sample_set_hostname"), report.address());
            CloneProcess.ExitStatus status = child.join();
            if (!status.exited()) throw new IllegalStateException("the " + FLAGS + " child was " + status);
            return new Observations(before, report.getString(SEEN_BEFORE, HOST_MAX), CHILD_HOSTNAME,
                    report.getString(SEEN_AFTER, HOST_MAX), hostname(), report.getInt(ERROR));
        }
    }

    static String hostname() {
        try {
            return Files.readString(HOSTNAME).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Optional<Observations> observed = Privileges.observeOrRefuse(out, FLAGS, this::observe);
        if (observed.isEmpty()) return NEEDS_PRIVILEGE;
        Observations o = observed.get();
        out.println("  parent hostname before: '" + o.parentBefore() + "'");
        out.println("  child (" + FLAGS + "): inherited '" + o.childBefore() + "', sethostname('" + o.childWanted()
                + "'), reads back '" + o.childAfter() + "'" + (o.error() != 0 ? " (sethostname errno " + o.error() + ")" : ""));
        out.println("  parent hostname after:  '" + o.parentAfter() + "'");
        out.println("  why: the child got a copy of the UTS namespace (hostname, NIS domain); it changed its copy");
        out.println(o.holds() ? "  shown: the child has its own hostname, the parent's is unchanged"
                : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
