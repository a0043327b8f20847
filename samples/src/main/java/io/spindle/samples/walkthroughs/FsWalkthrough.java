package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneRule;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code fs}: a child calls {@code chdir("/")} and {@code umask(077)}. Cloned with
 * {@code CLONE_FS} it shares the JVM's filesystem information (cwd, root, umask), so the JVM
 * finds itself in {@code /} with umask 077 afterwards (and puts both back); without it the
 * child changed its own copy. Also shown: the kernel's rule that {@code CLONE_FS} cannot go
 * with {@code CLONE_NEWNS} (a new mount namespace needs a root and cwd of its own).
 */
public final class FsWalkthrough implements Walkthrough {
    static final CloneFlags SHARED = CloneFlags.of(CloneFlag.FS);
    static final CloneFlags COPIED = CloneFlags.none();
    static final String CHILD_DIRECTORY = "/";
    static final int CHILD_UMASK = 0077;

    /** The JVM's cwd and umask after a child changed its own. */
    public record Run(CloneFlags flags, Path cwdAfter, int umaskAfter) {}

    public record Observations(Path cwd, int umask, Run shared, Run copied, CloneRule newNsRule) {
        public boolean holds() {
            boolean alreadyThere = cwd.equals(Path.of(CHILD_DIRECTORY)) || umask == CHILD_UMASK;
            return !alreadyThere && shared.cwdAfter.equals(Path.of(CHILD_DIRECTORY)) && shared.umaskAfter == CHILD_UMASK
                    && copied.cwdAfter.equals(cwd) && copied.umaskAfter == umask && newNsRule != null;
        }
    }

    @Override
    public String name() {
        return "fs";
    }

    @Override
    public String summary() {
        return "CLONE_FS: a child's chdir and umask become the parent's; without it, its own";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.FS);
    }

    public Observations observe() throws IOException {
        Path cwd = cwd();
        int umask = umask();
        Run shared = runChild(SHARED, cwd, umask);
        Run copied = runChild(COPIED, cwd, umask);
        CloneRule rule = SHARED.with(CloneFlag.NEWNS).violations().stream().findFirst().orElse(null);
        return new Observations(cwd, umask, shared, copied, rule);
    }

    private static Run runChild(CloneFlags flags, Path cwd, int umask) throws IOException {
        try (FlagReport report = new FlagReport()) {
            report.value(0, CHILD_UMASK).text(CHILD_DIRECTORY);
            try {
                report.run(flags, "sample_fs_child");
                if (report.value(1) != 0) throw new IllegalStateException("the child's chdir failed: " + report.value(1));
                return new Run(flags, cwd(), umask());
            } finally {
                // A CLONE_FS child moved every thread of the JVM: put the cwd and umask back.
                int err = SamplesNative.sample_fs_restore(cwd.toString(), umask);
                if (err != 0) throw new IllegalStateException("could not return to " + cwd + ": errno " + err);
            }
        }
    }

    /** The process's cwd as the kernel has it (the JVM's user.dir is only what it was at start). */
    static Path cwd() throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/self/cwd"));
    }

    static int umask() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Umask:")) return Integer.parseInt(line.substring(6).trim(), 8);
        }
        throw new IOException("no Umask line in /proc/self/status (a kernel before 4.7)");
    }

    @Override
    public int run(List<String> args, PrintStream out) throws IOException {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.printf("  parent: cwd %s, umask %03o; each child calls chdir(\"%s\") and umask(%03o)%n",
                o.cwd(), o.umask(), CHILD_DIRECTORY, CHILD_UMASK);
        for (Run r : List.of(o.shared(), o.copied())) {
            out.printf("  child cloned with %-10s -> the parent's cwd is %s, umask %03o%n", FlagReport.label(r.flags()), r.cwdAfter(), r.umaskAfter());
        }
        out.println("  why: CLONE_FS shares one fs_struct (root, cwd, umask) between the two, as threads share it;"
                + " without it the child has a copy. The parent put its own back.");
        out.println("  and: " + CloneFlags.of(CloneFlag.FS, CloneFlag.NEWNS) + " is refused: "
                + (o.newNsRule() == null ? "(no rule found)" : o.newNsRule().description()));
        out.println(o.holds() ? "  shown: the child's chdir and umask were the parent's only with CLONE_FS" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
