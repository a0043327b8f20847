package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code files}: the JVM opens a memfd; a child opens a memfd of its own and closes the JVM's.
 * Cloned with {@code CLONE_FILES} the two share one descriptor table, so afterwards the JVM
 * has the child's descriptor and has lost its own; without it, the child worked on a copy and
 * the JVM's table is as it was. Each memfd has a name of its own, so {@code /proc/self/fd}
 * tells them from any other descriptor that lands on the same number.
 */
public final class FilesWalkthrough implements Walkthrough {
    static final CloneFlags SHARED = CloneFlags.of(CloneFlag.FILES);
    static final CloneFlags COPIED = CloneFlags.none();

    /**
     * @param childFd         the descriptor the child opened
     * @param childFdInParent whether the JVM had it afterwards
     * @param parentFdKept    whether the JVM still had its own after the child closed it
     */
    public record Run(CloneFlags flags, int parentFd, int childFd, boolean childFdInParent, boolean parentFdKept) {}

    public record Observations(Run shared, Run copied) {
        public boolean holds() {
            return shared.childFdInParent && !shared.parentFdKept && !copied.childFdInParent && copied.parentFdKept;
        }
    }

    @Override
    public String name() {
        return "files";
    }

    @Override
    public String summary() {
        return "CLONE_FILES: a child's open and close change the parent's descriptor table";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.FILES);
    }

    public Observations observe() throws IOException {
        return new Observations(runChild(SHARED, "shared"), runChild(COPIED, "copied"));
    }

    private static Run runChild(CloneFlags flags, String how) throws IOException {
        String parentName = "spindle-files-parent-" + how, childName = "spindle-files-child-" + how;
        int parentFd = SamplesNative.sample_memfd(parentName);
        if (parentFd < 0) throw new IllegalStateException("memfd_create: errno " + -parentFd);
        int childFd = -1;
        try (FlagReport report = new FlagReport()) {
            report.value(0, parentFd).text(childName);
            report.run(flags, "sample_files_child");
            childFd = (int) report.value(1);
            if (childFd < 0) throw new IllegalStateException("the child's memfd_create: errno " + -childFd);
            return new Run(flags, parentFd, childFd, holds(childFd, childName), holds(parentFd, parentName));
        } finally {
            // Whatever of the two the JVM's table has now is the JVM's to close.
            if (holds(parentFd, parentName)) SamplesNative.sample_close(parentFd);
            if (childFd >= 0 && holds(childFd, childName)) SamplesNative.sample_close(childFd);
        }
    }

    /** Whether this process's descriptor fd is the memfd of that name. */
    static boolean holds(int fd, String memfdName) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString().equals("/memfd:" + memfdName + " (deleted)");
        } catch (IOException closed) {
            return false;
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) throws IOException {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        for (Run r : List.of(o.shared(), o.copied())) {
            out.printf("  child cloned with %-13s opened fd %d and closed the parent's fd %d -> the parent %s fd %d and %s fd %d%n",
                    FlagReport.label(r.flags()), r.childFd(), r.parentFd(), r.childFdInParent() ? "has" : "has no", r.childFd(),
                    r.parentFdKept() ? "still has" : "lost", r.parentFd());
        }
        out.println("  why: CLONE_FILES shares one descriptor table, as threads share it; without it the child has a"
                + " copy, in which its open and close stay.");
        out.println(o.holds() ? "  shown: the child's open and close were the parent's only with CLONE_FILES" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
