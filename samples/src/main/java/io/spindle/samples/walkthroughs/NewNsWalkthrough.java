package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneException;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneProcess;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code new-ns}: a child cloned with {@code CLONE_NEWNS} makes its copy of the mount tree
 * private, mounts a tmpfs on an empty temporary directory and writes a file in it. The parent
 * finds no mount on that directory in {@code /proc/self/mountinfo}, and no file in it.
 */
public final class NewNsWalkthrough implements Walkthrough {
    static final CloneFlags FLAGS = CloneFlags.of(CloneFlag.NEWNS);
    static final String FILE_NAME = "written-by-the-child";

    // struct mount_report (walkthroughs.c): dir(1024b) | file(1024b) | step(4b) | error(4b) |
    // dev_before(8b) | dev_after(8b) | file_seen(4b) | pad(4b)
    private static final int PATH_MAX = 1024;
    private static final long DIR = 0, FILE = 1024, STEP = 2048, ERROR = 2052, DEV_BEFORE = 2056, DEV_AFTER = 2064,
            FILE_SEEN = 2072, REPORT_SIZE = 2080;
    private static final String[] STEPS = {"done", "making / private", "stat of the directory", "mounting the tmpfs",
            "creating the file"};

    /**
     * @param childStep  0 when the child did everything, else the step that failed ({@link #failedStep()})
     * @param childDevBefore st_dev of the directory in the child before its mount, and after:
     *                   a different device answers there once the tmpfs is mounted
     */
    public record Observations(Path dir, int childStep, int childErrno, long childDevBefore, long childDevAfter,
                               boolean childSawFile, boolean parentSeesMount, boolean parentSeesFile) {
        public boolean childMounted() {
            return childStep == 0 && childDevAfter != childDevBefore;
        }

        public String failedStep() {
            return childStep >= 0 && childStep < STEPS.length ? STEPS[childStep] : "step " + childStep;
        }

        public boolean holds() {
            return childMounted() && childSawFile && !parentSeesMount && !parentSeesFile;
        }
    }

    @Override
    public String name() {
        return "new-ns";
    }

    @Override
    public String summary() {
        return "CLONE_NEWNS: a child mounts a tmpfs that the parent cannot see";
    }

    @Override
    public boolean needsPrivilege() {
        return true;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.NEWNS);
    }

    /** @throws CloneException when the kernel refuses the clone (EPERM without CAP_SYS_ADMIN) */
    public Observations observe() throws IOException {
        SamplesNative.checkLayout(SamplesNative.Report.MOUNT, REPORT_SIZE);
        Path dir = Files.createTempDirectory("spindle-new-ns-");
        Path file = dir.resolve(FILE_NAME);
        try (SharedBlock report = SharedBlock.map(REPORT_SIZE)) {
            report.setString(DIR, PATH_MAX, dir.toString());
            report.setString(FILE, PATH_MAX, file.toString());
            CloneProcess child = CloneProcess.start(FLAGS, SamplesNative.function("sample_mount_tmpfs"), report.address());
            CloneProcess.ExitStatus status = child.join();
            if (!status.exited()) throw new IllegalStateException("the " + FLAGS + " child was " + status);
            boolean parentSeesMount = mountedAt(dir);
            boolean parentSeesFile = Files.exists(file);
            return new Observations(dir, report.getInt(STEP), report.getInt(ERROR), report.getLong(DEV_BEFORE),
                    report.getLong(DEV_AFTER), report.getInt(FILE_SEEN) != 0, parentSeesMount, parentSeesFile);
        } finally {
            Files.deleteIfExists(file); // only there if the mount leaked into our namespace
            Files.deleteIfExists(dir);
        }
    }

    /** True when /proc/self/mountinfo lists a mount whose mount point is {@code dir}. */
    static boolean mountedAt(Path dir) throws IOException {
        // Fields: mount id, parent id, major:minor, root, mount point, ... (octal escapes for blanks).
        String point = dir.toString().replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011")
                .replace("\n", "\\012");
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4 && f[4].equals(point)) return true;
        }
        return false;
    }

    @Override
    public int run(List<String> args, PrintStream out) throws IOException {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Optional<Observations> observed = Privileges.observeOrRefuse(out, FLAGS, this::observe);
        if (observed.isEmpty()) return NEEDS_PRIVILEGE;
        Observations o = observed.get();
        if (o.childStep() != 0) {
            out.println("  child (" + FLAGS + ") failed at " + o.failedStep() + " (errno " + o.childErrno() + ")");
        } else {
            out.println("  child (" + FLAGS + "): made / private, mounted a tmpfs on " + o.dir() + " (device "
                    + dev(o.childDevBefore()) + " -> " + dev(o.childDevAfter()) + "), wrote " + FILE_NAME
                    + " there; it sees the file: " + o.childSawFile());
        }
        out.println("  parent: a mount on " + o.dir() + " in /proc/self/mountinfo: " + o.parentSeesMount()
                + "; the child's file there: " + o.parentSeesFile());
        out.println("  why: the child's mounts live in its own copy of the mount namespace; / was made private first"
                + " so that nothing propagates back to a shared peer");
        out.println(o.holds() ? "  shown: the child's tmpfs and file are invisible to the parent" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }

    /** st_dev as major:minor (glibc's encoding). */
    static String dev(long dev) {
        long major = ((dev >>> 32) & 0xfffff000L) | ((dev >>> 8) & 0xfffL);
        long minor = ((dev >>> 12) & 0xffffff00L) | (dev & 0xffL);
        return major + ":" + minor;
    }
}
