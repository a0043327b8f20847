package io.spindle.runtime;

import io.spindle.runtime.internal.Errno;

/**
 * The kernel refused a clone (or a wait) that Spindle's own checks let through: a resource
 * limit, a missing privilege, a context rule no flag check can see. The message names the
 * errno and, where one applies, the rule or the privilege.
 */
public class CloneException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    public CloneException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The errno value from the kernel. */
    public int errno() {
        return errno;
    }

    /** True for EPERM: a privilege is missing (see the message for which). */
    public boolean isPermissionDenied() {
        return errno == Errno.EPERM;
    }

    static CloneException of(String operation, CloneFlags flags, int errno) {
        StringBuilder message = new StringBuilder()
                .append(operation).append(" with ").append(flags).append(" failed: ").append(Errno.describe(errno));
        switch (errno) {
            case Errno.EPERM -> message.append(". ").append(missingPrivilege(flags));
            case Errno.EAGAIN -> message.append(". The thread or process limit is reached "
                    + "(RLIMIT_NPROC, /proc/sys/kernel/threads-max, or pids.max of the cgroup).");
            case Errno.ENOMEM -> message.append(". Out of memory (or forking into a dying pid namespace).");
            case Errno.ENOSPC, Errno.EUSERS -> message.append(". A namespace count limit is reached "
                    + "(/proc/sys/user/max_*_namespaces).");
            case Errno.EINVAL -> message.append(". The kernel rejected the combination for a reason "
                    + "validate() cannot see from the flags alone (e.g. CLONE_PARENT from a pid-namespace init, "
                    + "CLONE_THREAD after unshare(CLONE_NEWPID)).");
            default -> { }
        }
        return new CloneException(message.toString(), errno);
    }

    /** Which privilege the flags need, in words a user can act on. */
    static String missingPrivilege(CloneFlags flags) {
        StringBuilder needs = new StringBuilder();
        for (CloneFlag flag : flags.flags()) {
            if (flag.needsPrivilege()) {
                if (needs.length() > 0) needs.append(", ");
                needs.append(flag.cName());
            }
        }
        if (needs.length() > 0 && !flags.contains(CloneFlag.NEWUSER)) {
            return needs + " need" + (needs.indexOf(",") >= 0 ? "" : "s")
                    + " CAP_SYS_ADMIN in the caller's user namespace: run as root, or add CLONE_NEWUSER "
                    + "to get that capability inside a new user namespace.";
        }
        if (flags.contains(CloneFlag.NEWUSER)) {
            return "CLONE_NEWUSER was refused: unprivileged user namespaces are disabled here "
                    + "(kernel.unprivileged_userns_clone, an AppArmor/SELinux policy), or the caller is chrooted.";
        }
        return "A privilege is missing (e.g. CLONE_SETTLS with an address outside user space, or a seccomp/LSM policy).";
    }
}
