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
import java.time.Duration;
import java.util.List;

/**
 * {@code new-user}: a child cloned with {@code CLONE_NEWUSER} waits while the JVM writes its
 * uid and gid maps (uid 0 inside is the JVM's uid outside), then reports its ids and
 * capabilities: uid 0 with every capability, in its own user namespace. Outside it is the
 * JVM's user still, as its /proc entry shows the JVM, and its capabilities stop at its
 * namespace: {@code sethostname} on the JVM's UTS namespace, which it does not own, is
 * refused. Without the flag the child is the JVM's user with the JVM's capabilities. Needs
 * no privilege where the kernel lets users make user namespaces.
 */
public final class NewUserWalkthrough implements Walkthrough {
    static final CloneFlags FLAGS = CloneFlags.of(CloneFlag.NEWUSER);
    static final int CAP_SYS_ADMIN = 21;
    private static final int EPERM = 1;

    /**
     * @param uidInside    getuid() in the child
     * @param capEff       the child's effective capabilities, as it reads them
     * @param uidOutside   the child's uid as the JVM sees it (the owner of /proc/PID)
     * @param sethostname  0, or -errno of sethostname in the child (only tried with the flag)
     */
    public record Run(CloneFlags flags, long uidInside, long gidInside, long capEff, int uidOutside, long sethostname) {}

    public record Observations(int jvmUid, Run with, Run without) {
        public boolean holds() {
            return with.uidInside == 0 && with.gidInside == 0 && (with.capEff & (1L << CAP_SYS_ADMIN)) != 0
                    && with.uidOutside == jvmUid && with.sethostname == -EPERM
                    && without.uidInside == jvmUid && without.uidOutside == jvmUid;
        }
    }

    @Override
    public String name() {
        return "new-user";
    }

    @Override
    public String summary() {
        return "CLONE_NEWUSER: uid 0 with every capability inside, the same unprivileged user outside";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.NEWUSER);
    }

    /** @throws CloneException when the kernel refuses an unprivileged user namespace (EPERM) */
    public Observations observe() throws IOException, InterruptedException {
        int uid = (int) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        int gid = (int) Files.getAttribute(Path.of("/proc/self"), "unix:gid");
        return new Observations(uid, runChild(FLAGS, uid, gid), runChild(CloneFlags.none(), uid, gid));
    }

    private static Run runChild(CloneFlags flags, int uid, int gid) throws IOException, InterruptedException {
        try (FlagReport report = new FlagReport()) {
            report.value(8, flags.contains(CloneFlag.NEWUSER) ? 1 : 0);
            CloneProcess child = report.start(flags, "sample_newuser_child");
            int outside;
            try {
                if (flags.contains(CloneFlag.NEWUSER)) {
                    Path proc = Path.of("/proc/" + child.pid());
                    Files.writeString(proc.resolve("setgroups"), "deny"); // an unprivileged gid map needs it
                    Files.writeString(proc.resolve("uid_map"), "0 " + uid + " 1");
                    Files.writeString(proc.resolve("gid_map"), "0 " + gid + " 1");
                }
                report.go(1);
                long deadline = System.nanoTime() + FlagReport.CHILD_DEADLINE.toNanos();
                while (report.done() == 0) {
                    if (System.nanoTime() > deadline) throw new IllegalStateException("the " + flags + " child did not report");
                    Thread.sleep(Duration.ofMillis(1));
                }
                outside = (int) Files.getAttribute(Path.of("/proc/" + child.pid()), "unix:uid");
            } finally {
                report.go(2); // the child ends whatever happened here
            }
            FlagReport.expectSuccess(child, "sample_newuser_child");
            return new Run(flags, report.value(0), report.value(1), report.value(2), outside, report.value(3));
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) throws IOException, InterruptedException {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o;
        try {
            o = observe();
        } catch (CloneException e) {
            if (!e.isPermissionDenied()) throw e;
            out.println("  needs user namespaces for this user: the kernel refused " + FLAGS + " (EPERM; see"
                    + " /proc/sys/user/max_user_namespaces, kernel.unprivileged_userns_clone)");
            return NEEDS_PRIVILEGE;
        }
        out.println("  the JVM runs as uid " + o.jvmUid() + "; it maps the child's uid 0 to it");
        for (Run r : List.of(o.with(), o.without())) {
            out.printf("  child cloned with %-15s: uid %d, gid %d inside, CAP_SYS_ADMIN %s; uid %d seen from outside%s%n",
                    FlagReport.label(r.flags()), r.uidInside(), r.gidInside(), (r.capEff() & (1L << CAP_SYS_ADMIN)) != 0 ? "yes" : "no",
                    r.uidOutside(), r.flags().contains(CloneFlag.NEWUSER)
                            ? "; sethostname on the JVM's UTS namespace: " + (r.sethostname() == -EPERM ? "EPERM" : r.sethostname()) : "");
        }
        out.println("  why: a new user namespace gives its first process every capability, but only over what the"
                + " namespace owns; the kernel checks the host's resources against the real (mapped) uid");
        out.println(o.holds() ? "  shown: root inside, the JVM's user outside" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
