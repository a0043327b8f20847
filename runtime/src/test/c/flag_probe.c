/*
 * flag_probe.c: asks the running kernel what legacy clone(2) says to a flag mask (test only).
 *
 * CloneFlagsKernelDifferentialTest compares CloneFlags.validate() with the kernel's answer for
 * hundreds of masks. Some masks, if they succeed, do things no JVM should see done to it
 * (CLONE_THREAD into the JVM's thread group, CLONE_PARENT making siblings, CLONE_VFORK stopping
 * the caller, new namespaces), so the clone is never made by the JVM. Three processes:
 *
 *   JVM thread ── _Fork ──▶ reaper ── _Fork ──▶ caller ── clone(mask) ──▶ grandchild
 *                           (subreaper)         exits with errno          returns 0 at once
 *
 * The caller makes the clone and reports errno (0 on success) as its exit status. The reaper is
 * a child subreaper, so it ends up the parent of everything the caller made (a CLONE_PARENT
 * child is its child directly; anything else still alive is reparented to it when the caller
 * exits); it reaps
 * them all and relays the caller's status. The JVM thread only forks and waits for the reaper,
 * its own child, so nothing is left behind in the JVM.
 *
 * Both forked processes are copies of a multi-threaded JVM: they use async-signal-safe calls
 * only (_Fork, not fork, so no atfork handler of the JVM runs) and end with _exit. An alarm in
 * each is a watchdog, so a probe that hangs fails the test instead of hanging the build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Results of spn_test_probe_clone_errno that are not an errno: the probe itself failed. */
#define SPN_PROBE_BAD_MASK        (-1) /* bits outside 0xffffff00: not flags, refused unasked */
#define SPN_PROBE_FORK_FAILED     (-2) /* the JVM thread could not fork the reaper */
#define SPN_PROBE_WAIT_FAILED     (-3) /* waitpid on the reaper failed */
#define SPN_PROBE_REAPER_KILLED   (-4) /* the reaper died of a signal (its watchdog: a hang) */
#define SPN_PROBE_CALLER_KILLED   (-5) /* the caller died of a signal */
#define SPN_PROBE_CALLER_NO_FORK  (-6) /* the reaper could not fork the caller */
#define SPN_PROBE_NO_SUBREAPER    (-7) /* prctl(PR_SET_CHILD_SUBREAPER) failed */

/* Exit statuses of the reaper beyond any errno (errno values end at 133 on Linux). */
#define EXIT_CALLER_KILLED  250
#define EXIT_CALLER_NO_FORK 251
#define EXIT_NO_SUBREAPER   252

#define WATCHDOG_SECONDS 20

/*
 * The grandchild's stack and the words the kernel may write. Static, so they exist at the same
 * address in the caller's copy of the JVM's memory, and a CLONE_VM grandchild shares them.
 */
static char probe_stack[64 * 1024] __attribute__((aligned(16)));
static int probe_ptid;
static int probe_ctid;
/* CLONE_SETTLS only range-checks the address (x86-64: below the user limit); nothing reads it. */
static char probe_tls[256] __attribute__((aligned(64)));

/*
 * The grandchild: returns at once, and glibc's clone wrapper then calls SYS_exit. It must not
 * touch TLS (with CLONE_SETTLS its %fs points at probe_tls, not a TCB), hence no stack
 * protector (the canary lives in the TCB) and no errno.
 */
__attribute__((no_stack_protector, noinline))
static int probe_grandchild(void *arg)
{
    return 0;
}

/* Default action for the watchdog, and SIGCHLD not ignored (or waitpid would see no children). */
static void reset_signals(void)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL };
    sigset_t unblock;

    sigemptyset(&dfl.sa_mask);
    sigaction(SIGALRM, &dfl, NULL);
    sigaction(SIGCHLD, &dfl, NULL);
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGALRM);
    sigaddset(&unblock, SIGCHLD);
    sigprocmask(SIG_UNBLOCK, &unblock, NULL);
}

/* In the caller: one clone with the mask; returns its errno, 0 when the kernel accepted it. */
static int caller_clone(unsigned long flags)
{
    /* The kernel ignores the exit signal with CLONE_THREAD (and takes the parent's with
     * CLONE_PARENT); otherwise SIGCHLD makes the grandchild an ordinary child to reap. */
    unsigned long signal_byte = (flags & CLONE_THREAD) ? 0 : SIGCHLD;
    /* glibc's prototype takes an int; the kernel reads the low 32 bits, so bit 31 (CLONE_IO)
     * goes through the sign bit unchanged. */
    int pid = clone(probe_grandchild, probe_stack + sizeof probe_stack,
                    (int) (uint32_t) (flags | signal_byte), NULL,
                    &probe_ptid, probe_tls, &probe_ctid);
    if (pid == -1) {
        return errno;
    }
    /* Our own child (not a thread, not a sibling): wait so it is gone before we report. */
    if ((flags & (CLONE_THREAD | CLONE_PARENT)) == 0) {
        while (waitpid(pid, NULL, __WALL) == -1 && errno == EINTR) {
        }
    }
    return 0;
}

/* In the reaper: fork the caller, wait for it, reap whatever it left, relay its status. */
static int reaper_run(unsigned long flags)
{
    int status = 0;
    pid_t caller;

    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        return EXIT_NO_SUBREAPER;
    }
    caller = _Fork();
    if (caller == 0) {
        reset_signals();
        alarm(WATCHDOG_SECONDS);
        _exit(caller_clone(flags));
    }
    if (caller < 0) {
        return EXIT_CALLER_NO_FORK;
    }
    while (waitpid(caller, &status, 0) == -1 && errno == EINTR) {
    }
    /* Orphans of the caller come to us (we are the subreaper); take them all, any kind. */
    for (;;) {
        if (waitpid(-1, NULL, __WALL) == -1 && errno != EINTR) {
            break; /* ECHILD: none left */
        }
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return EXIT_CALLER_KILLED;
}

/*
 * Asks the kernel about legacy clone(flags | exit signal) and returns the errno it answered
 * (0 when it made the child), or a negative SPN_PROBE_* code when the probe itself failed.
 * flags must lie within 0xffffff00: the exit-signal byte is chosen here.
 */
int spn_test_probe_clone_errno(int64_t flags)
{
    pid_t reaper;
    int status;

    if ((flags & ~(int64_t) 0xffffff00) != 0) {
        return SPN_PROBE_BAD_MASK;
    }
    reaper = _Fork();
    if (reaper == 0) {
        reset_signals();
        alarm(WATCHDOG_SECONDS);
        _exit(reaper_run((unsigned long) flags));
    }
    if (reaper < 0) {
        return SPN_PROBE_FORK_FAILED;
    }
    while (waitpid(reaper, &status, 0) == -1) {
        if (errno != EINTR) {
            return SPN_PROBE_WAIT_FAILED;
        }
    }
    if (!WIFEXITED(status)) {
        return SPN_PROBE_REAPER_KILLED;
    }
    switch (WEXITSTATUS(status)) {
    case EXIT_CALLER_KILLED:
        return SPN_PROBE_CALLER_KILLED;
    case EXIT_CALLER_NO_FORK:
        return SPN_PROBE_CALLER_NO_FORK;
    case EXIT_NO_SUBREAPER:
        return SPN_PROBE_NO_SUBREAPER;
    default:
        return WEXITSTATUS(status);
    }
}

/* The effective uid of the JVM, so the test can tell whether namespace flags may need EPERM. */
int spn_test_probe_euid(void)
{
    return (int) geteuid();
}
