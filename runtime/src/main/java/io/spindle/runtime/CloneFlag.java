package io.spindle.runtime;

import java.util.Locale;
import java.util.Optional;

/**
 * One bit of the {@code flags} argument of the legacy {@code clone(2)} system call, as the
 * x86-64 kernel defines it in {@code include/uapi/linux/sched.h}.
 *
 * <p>The 24 constants are every bit of the low 32 that is not the exit-signal byte
 * ({@code CSIGNAL}, {@code 0xff}): legacy clone reads only those 32 bits, so flags that live
 * above them ({@code CLONE_CLEAR_SIGHAND}, {@code CLONE_INTO_CGROUP}) exist only for
 * {@code clone3} and are not modelled here. {@code CLONE_NEWTIME} ({@code 0x80}) is left out on
 * purpose too: its value lies inside the exit-signal byte, so legacy clone reads it as part of
 * the signal number and can never ask for a new time namespace (only {@code clone3} and
 * {@code unshare} can).
 *
 * <p>Two bits were reused: {@code 0x1000} was {@code CLONE_PID} until Linux 2.5.16 and is
 * {@link #PIDFD} since 5.2; {@code 0x2000000} was {@code CLONE_STOPPED} until 2.6.38 and is
 * {@link #NEWCGROUP} since 4.6. {@link #sinceKernel()} gives the version of the current meaning.
 * The versions are the clone(2) manual page's; where the flag table we started from disagrees
 * (it gives 2.6.19 for NEWPID and 2.4.24 for NEWNET) the manual page is right: both came in 2.6.24.
 *
 * <p>Which combinations the kernel refuses is {@link CloneRule}'s business; a whole mask is a
 * {@link CloneFlags}.
 */
public enum CloneFlag {
    VM(0x100L, "2.0", "POSIX threads, vfork()",
            "Shares the caller's whole address space (the same page tables); without it the child"
                    + " gets a copy-on-write copy, as with fork."),
    FS(0x200L, "2.0", "POSIX threads",
            "Shares the filesystem context (root directory, working directory and umask), so a"
                    + " chdir, chroot or umask by either side is seen by the other."),
    FILES(0x400L, "2.0", "POSIX threads",
            "Shares one file-descriptor table, so a descriptor opened, closed or dup'ed by either"
                    + " side is so for both; without it the child gets a copy of the table."),
    SIGHAND(0x800L, "2.0", "POSIX threads",
            "Shares the table of signal dispositions (handlers), while the signal mask and the"
                    + " pending signals stay private to each side."),
    PIDFD(0x1000L, "5.2", "Process supervisors (systemd) and pidfd-based process APIs",
            "Hands the caller a pid file descriptor for the child (legacy clone writes it through"
                    + " the parent-tid pointer) that can be polled and signalled without pid-reuse races."),
    PTRACE(0x2000L, "2.2", "Debuggers",
            "If the caller is being traced, the child is traced by the same tracer from its first"
                    + " instruction."),
    VFORK(0x4000L, "2.2", "vfork() emulation (glibc's posix_spawn)",
            "Suspends the caller until the child calls execve or exits, as vfork does, so the"
                    + " child may borrow the caller's memory meanwhile."),
    PARENT(0x8000L, "2.3.12", "Spawners that must not become the parent (one-step daemonising)",
            "Makes the child the caller's sibling: its parent, who is told of its exit, is the"
                    + " caller's own parent."),
    THREAD(0x10000L, "2.4.0", "NPTL",
            "Puts the child in the caller's thread group: the same process id, no exit signal to"
                    + " anyone, and it is reaped by the kernel rather than waited for."),
    NEWNS(0x20000L, "2.4.19", "Containers",
            "Gives the child a private copy of the caller's mount namespace, so later mounts and"
                    + " unmounts stay on their own side."),
    SYSVSEM(0x40000L, "2.5.10", "NPTL",
            "Shares the list of System V semaphore undo adjustments, applied only when the last"
                    + " process sharing it exits."),
    SETTLS(0x80000L, "2.5.32", "NPTL",
            "Sets the child's thread pointer (the %fs base on x86-64) to the tls argument, so it"
                    + " starts with its own thread-local storage."),
    PARENT_SETTID(0x100000L, "2.5.49", "NPTL",
            "Writes the child's thread id to the ptid word in the caller's memory before clone"
                    + " returns, so the id is known before the child can run."),
    CHILD_CLEARTID(0x200000L, "2.5.49", "NPTL (pthread_join)",
            "When the child exits, stores 0 to the ctid word and wakes one futex waiter on it:"
                    + " the event pthread_join waits for."),
    DETACHED(0x400000L, "2.5.32", "Nothing current (a 2.5-era threading bit, kept but ignored)",
            "Obsolete: once meant \"no exit signal\"; the kernel ignores it now, except that it"
                    + " refuses it together with CLONE_PIDFD."),
    UNTRACED(0x800000L, "2.5.46", "Kernel threads",
            "Keeps a tracer from forcing CLONE_PTRACE on the child, so it is never attached"
                    + " automatically."),
    CHILD_SETTID(0x1000000L, "2.5.49", "glibc fork() (sets the child's cached tid)",
            "Writes the child's thread id to the ctid word in the child's own memory before the"
                    + " child runs, but not necessarily before clone returns in the caller."),
    NEWCGROUP(0x2000000L, "4.6", "Containers",
            "Gives the child a new cgroup namespace rooted at its current cgroup, so the paths"
                    + " above it are hidden."),
    NEWUTS(0x4000000L, "2.6.19", "Containers",
            "Gives the child its own UTS namespace: a hostname and NIS domain name it can change"
                    + " alone."),
    NEWIPC(0x8000000L, "2.6.19", "Containers",
            "Gives the child its own IPC namespace: System V IPC objects and POSIX message queues"
                    + " that no one outside can see."),
    NEWUSER(0x10000000L, "2.6.23", "Containers (unprivileged ones too)",
            "Gives the child a new user namespace, where it holds every capability over the"
                    + " namespace's own resources while its ids map to the caller's outside."),
    NEWPID(0x20000000L, "2.6.24", "Containers",
            "Gives the child a new pid namespace in which it is pid 1, the init that reaps the"
                    + " namespace's orphans."),
    NEWNET(0x40000000L, "2.6.24", "Containers",
            "Gives the child its own network namespace: interfaces, routes, firewall rules and"
                    + " ports of its own, starting with only a loopback device."),
    IO(0x80000000L, "2.6.25", "I/O helper processes that should count as one I/O stream",
            "Shares the I/O context, so the I/O scheduler treats the two sides' disk requests as"
                    + " one stream with one priority.");

    private static final String PREFIX = "CLONE_";

    private final long value;
    private final String sinceKernel;
    private final String usedBy;
    private final String effect;

    CloneFlag(long value, String sinceKernel, String usedBy, String effect) {
        this.value = value;
        this.sinceKernel = sinceKernel;
        this.usedBy = usedBy;
        this.effect = effect;
    }

    /** The bit, as the kernel's {@code CLONE_*} macro (unsigned; {@link #IO} is bit 31). */
    public long value() {
        return value;
    }

    /** The C macro name, e.g. {@code "CLONE_VM"}. */
    public String cName() {
        return PREFIX + name();
    }

    /** What the flag shares with, or isolates from, the caller: one sentence. */
    public String effect() {
        return effect;
    }

    /** True for the flags that ask for a new namespace ({@code CLONE_NEW*}). */
    public boolean isNamespace() {
        return name().startsWith("NEW");
    }

    /**
     * True for the namespace flags that need {@code CAP_SYS_ADMIN} in the caller's user
     * namespace. Combined with {@link #NEWUSER} they don't, because the kernel creates the user
     * namespace first and checks the others against it, where the child holds every capability;
     * NEWUSER itself needs none (since Linux 3.8).
     */
    public boolean needsPrivilege() {
        return isNamespace() && this != NEWUSER;
    }

    /** The first Linux version in which the bit has its current meaning, e.g. {@code "2.6.19"}. */
    public String sinceKernel() {
        return sinceKernel;
    }

    /** Who sets this flag in practice. */
    public String usedBy() {
        return usedBy;
    }

    /**
     * The flag named {@code name}: the C name ({@code "CLONE_VM"}) or the short one
     * ({@code "VM"}), in any case, surrounding blanks ignored. Empty when there is none.
     */
    public static Optional<CloneFlag> byName(String name) {
        if (name == null) {
            return Optional.empty();
        }
        String n = name.strip().toUpperCase(Locale.ROOT);
        if (n.startsWith(PREFIX)) {
            n = n.substring(PREFIX.length());
        }
        for (CloneFlag f : values()) {
            if (f.name().equals(n)) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }
}
