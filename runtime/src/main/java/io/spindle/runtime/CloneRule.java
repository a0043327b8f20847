package io.spindle.runtime;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * A combination of clone flags that the legacy {@code clone(2)} system call refuses with
 * {@code EINVAL} whatever the state of the caller: Spindle refuses it in Java first
 * ({@link CloneFlags#validate()}), so an impossible combination never reaches the kernel.
 *
 * <p>Where each check lives (Linux 6.x): {@link #PIDFD_WITH_PARENT_SETTID} in
 * {@code kernel_clone()} and {@link #NEWIPC_WITH_SYSVSEM} in {@code copy_namespaces()}
 * ({@code kernel/nsproxy.c}); the other seven at the top of {@code copy_process()}
 * ({@code kernel/fork.c}), before anything is allocated. {@code CloneFlagsKernelDifferentialTest} asks the running kernel
 * about hundreds of masks and fails if this list and the kernel disagree.
 *
 * <p>Rules that {@code validate()} cannot see, because they depend on the caller rather than on
 * the mask (the code that calls clone must expect these errors):
 * <ul>
 *   <li>{@code CLONE_PARENT} from the init of a pid namespace (global or container init) is
 *       {@code EINVAL}: its siblings would have no reaper.</li>
 *   <li>{@code CLONE_THREAD} after {@code unshare(CLONE_NEWPID)} is {@code EINVAL}: the
 *       caller's pid namespace differs from the one its children would be born in, and a thread
 *       group cannot straddle two.</li>
 *   <li>{@code CLONE_VM} without {@code CLONE_VFORK} after {@code unshare(CLONE_NEWTIME)} is
 *       {@code EINVAL}: a child sharing the caller's memory cannot see other clocks.</li>
 *   <li>{@code CLONE_NEWNS}, {@code NEWUTS}, {@code NEWIPC}, {@code NEWNET}, {@code NEWPID},
 *       {@code NEWCGROUP} without {@code CAP_SYS_ADMIN} are {@code EPERM}, unless
 *       {@code CLONE_NEWUSER} is given too (see {@link CloneFlag#needsPrivilege()});
 *       {@code CLONE_NEWUSER} from inside a chroot is {@code EPERM}, past the nesting limit of
 *       32 user namespaces {@code EUSERS}.</li>
 *   <li>{@code CLONE_NEWIPC|CLONE_SYSVSEM} is {@code EPERM}, not {@code EINVAL}, for an
 *       unprivileged caller: {@code copy_namespaces()} checks the capability before the
 *       combination. The rule stays in this list because with the capability (or with
 *       {@code CLONE_NEWUSER}) the answer is always {@code EINVAL}.</li>
 *   <li>{@code CLONE_SETTLS} with a tls address outside the user address space is
 *       {@code EPERM} on x86-64; resource limits give {@code EAGAIN}, a dying pid namespace
 *       {@code ENOMEM}. A resource error found first can also hide {@link #NEWIPC_WITH_SYSVSEM},
 *       which the kernel checks late.</li>
 * </ul>
 *
 * <p>What legacy clone does not refuse: the exit-signal byte (any value is taken), bits above
 * 31 (dropped unread), {@code CLONE_DETACHED} alone (ignored). Older kernels refused more:
 * {@code CLONE_PIDFD|CLONE_THREAD} before 6.9, and early 3.x kernels refused
 * {@code CLONE_NEWPID} or {@code CLONE_NEWUSER} with {@code CLONE_PARENT} (the clone(2) manual
 * page still says so). Neither is a rule here: the differential test shows the kernels we
 * support accept both.
 */
public enum CloneRule {
    THREAD_NEEDS_SIGHAND(EnumSet.of(CloneFlag.THREAD), EnumSet.of(CloneFlag.SIGHAND),
            "CLONE_THREAD requires CLONE_SIGHAND: the threads of one process share one table of"
                    + " signal handlers"),
    SIGHAND_NEEDS_VM(EnumSet.of(CloneFlag.SIGHAND), EnumSet.of(CloneFlag.VM),
            "CLONE_SIGHAND requires CLONE_VM: handlers are addresses, meaningful only in a shared"
                    + " address space"),
    NEWNS_WITH_FS(EnumSet.of(CloneFlag.NEWNS, CloneFlag.FS), EnumSet.noneOf(CloneFlag.class),
            "CLONE_NEWNS cannot be combined with CLONE_FS: a shared root and working directory"
                    + " cannot point into two mount namespaces"),
    NEWUSER_WITH_FS(EnumSet.of(CloneFlag.NEWUSER, CloneFlag.FS), EnumSet.noneOf(CloneFlag.class),
            "CLONE_NEWUSER cannot be combined with CLONE_FS: a root directory shared across user"
                    + " namespaces would let the new namespace escape a chroot"),
    THREAD_WITH_NEWUSER(EnumSet.of(CloneFlag.THREAD, CloneFlag.NEWUSER), EnumSet.noneOf(CloneFlag.class),
            "CLONE_THREAD cannot be combined with CLONE_NEWUSER: one thread group cannot live in"
                    + " two user namespaces"),
    THREAD_WITH_NEWPID(EnumSet.of(CloneFlag.THREAD, CloneFlag.NEWPID), EnumSet.noneOf(CloneFlag.class),
            "CLONE_THREAD cannot be combined with CLONE_NEWPID: one thread group cannot live in"
                    + " two pid namespaces"),
    NEWIPC_WITH_SYSVSEM(EnumSet.of(CloneFlag.NEWIPC, CloneFlag.SYSVSEM), EnumSet.noneOf(CloneFlag.class),
            "CLONE_NEWIPC cannot be combined with CLONE_SYSVSEM: semaphore undo values cannot be"
                    + " shared with a namespace whose semaphores the child can no longer reach"),
    PIDFD_WITH_DETACHED(EnumSet.of(CloneFlag.PIDFD, CloneFlag.DETACHED), EnumSet.noneOf(CloneFlag.class),
            "CLONE_PIDFD cannot be combined with CLONE_DETACHED: the kernel keeps that old bit"
                    + " unused beside CLONE_PIDFD so it can give it a new meaning later"),
    PIDFD_WITH_PARENT_SETTID(EnumSet.of(CloneFlag.PIDFD, CloneFlag.PARENT_SETTID),
            EnumSet.noneOf(CloneFlag.class),
            "CLONE_PIDFD cannot be combined with CLONE_PARENT_SETTID: legacy clone returns the"
                    + " pidfd and the tid through the same ptid pointer");

    /** {@code EINVAL} on Linux (every architecture). */
    public static final int EINVAL = 22;

    private final Set<CloneFlag> required;
    private final Set<CloneFlag> missing;
    private final long requiredMask;
    private final long missingMask;
    private final String description;

    CloneRule(Set<CloneFlag> required, Set<CloneFlag> missing, String description) {
        this.required = Collections.unmodifiableSet(required);
        this.missing = Collections.unmodifiableSet(missing);
        this.requiredMask = maskOf(required);
        this.missingMask = maskOf(missing);
        this.description = description;
    }

    private static long maskOf(Set<CloneFlag> flags) {
        long m = 0;
        for (CloneFlag f : flags) {
            m |= f.value();
        }
        return m;
    }

    /**
     * True when {@code mask} breaks this rule: it has all of {@link #present()} and none of
     * {@link #absent()}. Bits that are not flags (the exit-signal byte, bits above 31) are
     * ignored, as the kernel ignores them.
     */
    public boolean violatedBy(long mask) {
        return (mask & requiredMask) == requiredMask && (mask & missingMask) == 0;
    }

    /** The flags whose presence, all together, breaks the rule. */
    public Set<CloneFlag> present() {
        return required;
    }

    /** The flags whose absence breaks the rule (empty for the "cannot be combined" rules). */
    public Set<CloneFlag> absent() {
        return missing;
    }

    /** Names the flags and the kernel's reason, e.g. "CLONE_THREAD requires CLONE_SIGHAND: ...". */
    public String description() {
        return description;
    }

    /** The errno the kernel returns when the rule is broken: {@value #EINVAL} ({@code EINVAL}). */
    public int errno() {
        return EINVAL;
    }

    /** The short form used in messages, e.g. "CLONE_THREAD requires CLONE_SIGHAND (kernel: EINVAL)". */
    String summary() {
        int colon = description.indexOf(':');
        return description.substring(0, colon) + " (kernel: EINVAL)";
    }
}
