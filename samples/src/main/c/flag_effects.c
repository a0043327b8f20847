/*
 * flag_effects.c: the native half of the flag walkthroughs (FlagWalkthroughs.java), one
 * experiment per clone flag, each run by Spindle's CloneProcess with the flag and without it.
 *
 * The sample_*_child functions run in the clone child; one made without CLONE_VM is a
 * one-thread copy of the JVM, so they keep to system calls and plain memory (no malloc, no
 * stdio). They report through a struct flag_report (flag_report.h) in a MAP_SHARED block.
 * Where a flag's effect lies between a child and a grandchild (CLONE_PARENT, CLONE_PTRACE,
 * CLONE_NEWCGROUP), the child clones the grandchild itself with the raw system call, without
 * CLONE_VM, which returns twice like fork(). The other functions are helpers the JVM calls
 * to look at itself and to undo what a child shared with it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flag_report.h"

#define SAMPLE_EXPORT __attribute__((visibility("default")))

/* How long a child waits for its parent's word before it gives up (a bug must not hang). */
#define WAIT_MS 10000

/* ---- words between a parent and a child (shared futexes: the block is MAP_SHARED) -------- */

static void set_word(int32_t *word, int32_t value)
{
    __atomic_store_n(word, value, __ATOMIC_RELEASE);
    syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Waits until *word >= target: 0, or ETIMEDOUT after WAIT_MS. */
static int wait_word(int32_t *word, int32_t target)
{
    for (int slept = 0; slept < WAIT_MS; slept += 10) {
        int32_t now = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (now >= target)
            return 0;
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        syscall(SYS_futex, word, FUTEX_WAIT, now, &ten_ms, NULL, 0);
    }
    return ETIMEDOUT;
}

/* clone without CLONE_VM and without a stack: the child returns here too, with 0, on a copy
 * of this stack, as from fork(). SIGCHLD is its exit signal. */
static pid_t clone_like_fork(uint64_t flags)
{
    return (pid_t) syscall(SYS_clone, (unsigned long) (flags | SIGCHLD), NULL, NULL, NULL, NULL);
}

/* For Java's side of a handshake (FlagReport.go). */
SAMPLE_EXPORT void sample_set_word(int32_t *word, int32_t value)
{
    set_word(word, value);
}

/* ---- reading /proc without stdio ------------------------------------------------------------ */

/* The file's first bytes, NUL-terminated: the length, or -errno. */
static ssize_t read_text(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
        n += (size_t) r;
    close(fd);
    buf[n] = 0;
    return (ssize_t) n;
}

/* The line of `text` that starts with `prefix`, or NULL. */
static const char *line_starting(const char *text, const char *prefix)
{
    size_t len = strlen(prefix);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        if (strncmp(line, prefix, len) == 0)
            return line;
    }
    return NULL;
}

/* The number after `field` ("TracerPid:") in /proc/self/status, in base 10 or 16; -1 if none. */
static int64_t status_number(const char *field, int base)
{
    char text[4096];
    if (read_text("/proc/self/status", text, sizeof text) < 0)
        return -1;
    const char *line = line_starting(text, field);
    if (!line)
        return -1;
    const char *p = line + strlen(field);
    while (*p == ' ' || *p == '\t')
        p++;
    int64_t n = 0;
    for (;; p++) {
        int digit = *p >= '0' && *p <= '9' ? *p - '0' : base == 16 && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
        if (digit < 0)
            return n;
        n = n * base + digit;
    }
}

/* ---- CLONE_SETTLS: whose thread-local storage a CLONE_VM child sees ---------------------- */

static __thread int64_t thread_mark;

/* Marks the calling thread's own copy of thread_mark. */
SAMPLE_EXPORT void sample_settls_mark(int64_t mark)
{
    thread_mark = mark;
}

/* Reads thread_mark into value[0]: in its own TLS (CloneProcess gives a CLONE_VM child a TCB
 * of its own, with CLONE_SETTLS), a fresh 0. */
SAMPLE_EXPORT intptr_t sample_settls_child(void *arg)
{
    ((struct flag_report *) arg)->value[0] = thread_mark;
    return 0;
}

static int read_mark_raw(void *arg)
{
    /* No CLONE_SETTLS: the thread pointer is the creator's, so this reads the creator's copy.
     * Nothing else here may touch libc state (errno included): it is the creator's. */
    ((struct flag_report *) arg)->value[1] = thread_mark;
    return 0;
}

/* The same read in a child cloned with CLONE_VM and without CLONE_SETTLS, which Spindle never
 * makes (CloneProcess adds CLONE_SETTLS to CLONE_VM): value[1], the caller's own mark. 0, or
 * an errno. */
SAMPLE_EXPORT int sample_settls_without(struct flag_report *r)
{
    size_t size = 64 * 1024;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return errno;
    pid_t pid = clone(read_mark_raw, stack + size, CLONE_VM | SIGCHLD, r);
    int err = pid < 0 ? errno : 0;
    int status;
    if (!err && waitpid(pid, &status, __WALL) != pid)
        err = errno;
    munmap(stack, size);
    return err;
}

/* ---- CLONE_FS: cwd and umask ------------------------------------------------------------- */

/* Moves to text and sets umask value[0]: the parent's too, with CLONE_FS. */
SAMPLE_EXPORT intptr_t sample_fs_child(void *arg)
{
    struct flag_report *r = arg;
    r->value[1] = chdir(r->text) == 0 ? 0 : -errno;
    umask((mode_t) r->value[0]);
    return 0;
}

/* The JVM puts its own cwd and umask back (a CLONE_FS child changed them for every thread). */
SAMPLE_EXPORT int sample_fs_restore(const char *cwd, int mask)
{
    umask((mode_t) mask);
    return chdir(cwd) == 0 ? 0 : errno;
}

/* ---- CLONE_FILES: the descriptor table ---------------------------------------------------- */

/* Opens a memfd named text (its fd in value[1]) and closes the parent's value[0]. */
SAMPLE_EXPORT intptr_t sample_files_child(void *arg)
{
    struct flag_report *r = arg;
    int fd = memfd_create(r->text, MFD_CLOEXEC);
    r->value[1] = fd >= 0 ? fd : -errno;
    r->value[2] = close((int) r->value[0]) == 0 ? 0 : -errno;
    return 0;
}

/* A memfd of this name (so /proc/self/fd tells it from any other descriptor), or -errno. */
SAMPLE_EXPORT int sample_memfd(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

SAMPLE_EXPORT int sample_close(int fd)
{
    return close(fd) == 0 ? 0 : errno;
}

/* ---- CLONE_SIGHAND: dispositions shared, masks and pending signals not --------------------- */

/* The signal of the experiment: one HotSpot leaves alone, ignored by default. */
#define SHOWN_SIGNAL SIGURG

/* Ignores SIGURG, blocks it in its own mask and sends it to itself: value[0] = pending here. */
SAMPLE_EXPORT intptr_t sample_sighand_child(void *arg)
{
    struct flag_report *r = arg;
    struct sigaction ignore = {.sa_handler = SIG_IGN};
    sigaction(SHOWN_SIGNAL, &ignore, NULL);
    sigset_t one, pending;
    sigemptyset(&one);
    sigaddset(&one, SHOWN_SIGNAL);
    sigprocmask(SIG_BLOCK, &one, NULL);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SHOWN_SIGNAL); /* blocked: it stays pending */
    sigpending(&pending);
    r->value[0] = sigismember(&pending, SHOWN_SIGNAL);
    return 0;
}

static struct sigaction saved_disposition;

/* What the calling thread sees: out[0] ignored, out[1] blocked here, out[2] pending here. */
SAMPLE_EXPORT void sample_signal_view(int64_t *out)
{
    struct sigaction now;
    sigaction(SHOWN_SIGNAL, NULL, &now);
    sigset_t mask, pending;
    pthread_sigmask(SIG_BLOCK, NULL, &mask);
    sigpending(&pending);
    out[0] = now.sa_handler == SIG_IGN;
    out[1] = sigismember(&mask, SHOWN_SIGNAL);
    out[2] = sigismember(&pending, SHOWN_SIGNAL);
}

SAMPLE_EXPORT int sample_signal_save(void)
{
    return sigaction(SHOWN_SIGNAL, NULL, &saved_disposition) == 0 ? 0 : errno;
}

SAMPLE_EXPORT int sample_signal_restore(void)
{
    return sigaction(SHOWN_SIGNAL, &saved_disposition, NULL) == 0 ? 0 : errno;
}

/* ---- CLONE_SYSVSEM and CLONE_NEWIPC: a System V semaphore -------------------------------- */

/* A private set of one semaphore at 0: its id, or -errno. */
SAMPLE_EXPORT int sample_sem_create(void)
{
    int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    return id >= 0 ? id : -errno;
}

SAMPLE_EXPORT int sample_sem_value(int id)
{
    int v = semctl(id, 0, GETVAL);
    return v >= 0 ? v : -errno;
}

SAMPLE_EXPORT int sample_sem_remove(int id)
{
    return semctl(id, 0, IPC_RMID) == 0 ? 0 : errno;
}

/* Raises semaphore value[0] by one with SEM_UNDO, then exits: the undo is applied when the
 * last task sharing its undo list exits (the JVM's too, with CLONE_SYSVSEM). */
SAMPLE_EXPORT intptr_t sample_sysvsem_child(void *arg)
{
    struct flag_report *r = arg;
    struct sembuf up = {.sem_num = 0, .sem_op = 1, .sem_flg = SEM_UNDO};
    r->value[1] = semop((int) r->value[0], &up, 1) == 0 ? 0 : -errno;
    r->value[2] = semctl((int) r->value[0], 0, GETVAL);
    return 0;
}

/* Looks for the parent's semaphore value[0]: value[1] = its value, or -EINVAL in a new IPC
 * namespace, where the parent's ids mean nothing. */
SAMPLE_EXPORT intptr_t sample_newipc_child(void *arg)
{
    struct flag_report *r = arg;
    int v = semctl((int) r->value[0], 0, GETVAL);
    r->value[1] = v >= 0 ? v : -errno;
    return 0;
}

/* ---- CLONE_PARENT: a grandchild of the JVM cloned as its child ---------------------------- */

/* value[0] this child's pid, value[1] its parent; clones a grandchild with flags value[8],
 * which reports its parent (value[2]) and pid (value[3]). value[4] = the grandchild's pid as
 * clone returned it. Without CLONE_PARENT the grandchild is ours to reap; with it, it is our
 * parent's (the JVM's), so we only wait for its report. */
SAMPLE_EXPORT intptr_t sample_parent_child(void *arg)
{
    struct flag_report *r = arg;
    r->value[0] = getpid();
    r->value[1] = getppid();
    uint64_t flags = (uint64_t) r->value[8];
    pid_t grandchild = clone_like_fork(flags);
    if (grandchild == 0) {
        r->value[2] = getppid();
        r->value[3] = getpid();
        set_word(&r->done, 1);
        _exit(0);
    }
    if (grandchild < 0)
        return 100 + errno;
    r->value[4] = grandchild;
    if (flags & CLONE_PARENT)
        return wait_word(&r->done, 1) == 0 ? 0 : 99;
    int status;
    return waitpid(grandchild, &status, __WALL) == grandchild ? 0 : 98;
}

/* Reaps a child of the JVM that no CloneProcess knows (CLONE_PARENT's grandchild): its wait
 * status, or -errno (-ETIMEDOUT after timeout_ms). */
SAMPLE_EXPORT int sample_reap(int pid, int timeout_ms)
{
    int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        return -errno;
    struct pollfd ready = {.fd = pidfd, .events = POLLIN};
    int n = poll(&ready, 1, timeout_ms);
    close(pidfd);
    if (n <= 0)
        return n == 0 ? -ETIMEDOUT : -errno;
    int status;
    return waitpid(pid, &status, __WALL) == pid ? status : -errno;
}

/* ---- CLONE_VFORK: the parent waits ------------------------------------------------------- */

/* value[0] = 1: first waits for go (a parent that clone did not suspend sets it). Then done. */
SAMPLE_EXPORT intptr_t sample_vfork_child(void *arg)
{
    struct flag_report *r = arg;
    if (r->value[0] && wait_word(&r->go, 1) != 0)
        return 99;
    set_word(&r->done, 1);
    return 0;
}

/* ---- CLONE_PTRACE and CLONE_UNTRACED: tracing handed on, or not -------------------------- */

/*
 * This child becomes a tracer. For each of four cases i it forks a tracee, which stops for
 * it (PTRACE_TRACEME), gets ptrace options value[12 + i] set on it, and then clones a
 * grandchild with flags value[8 + i]. The grandchild reports its TracerPid in value[i]: ours
 * if the tracing was handed on, 0 if not. value[4] = our pid. Every stop is resumed (event
 * and initial SIGSTOP stops with no signal), so nothing stays stopped.
 */
SAMPLE_EXPORT intptr_t sample_ptrace_child(void *arg)
{
    struct flag_report *r = arg;
    r->value[4] = getpid();
    for (int i = 0; i < 4; i++) {
        r->value[i] = -1;
        pid_t tracee = clone_like_fork(0);
        if (tracee < 0)
            return 100 + errno;
        if (tracee == 0) {
            if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
                _exit(2);
            kill(getpid(), SIGSTOP); /* the tracer sets its options now */
            pid_t grandchild = clone_like_fork((uint64_t) r->value[8 + i]);
            if (grandchild == 0) {
                r->value[i] = status_number("TracerPid:", 10);
                _exit(0);
            }
            int status;
            waitpid(grandchild, &status, __WALL);
            _exit(grandchild < 0 ? 3 : 0);
        }
        int status;
        if (waitpid(tracee, &status, __WALL) != tracee || !WIFSTOPPED(status))
            return 97;
        if (r->value[12 + i] && ptrace(PTRACE_SETOPTIONS, tracee, NULL, (void *) (intptr_t) r->value[12 + i]) != 0)
            return 96;
        ptrace(PTRACE_CONT, tracee, NULL, NULL);
        for (;;) {
            pid_t who = waitpid(-1, &status, __WALL);
            if (who < 0)
                return errno == ECHILD ? 0 : 95;
            if (WIFSTOPPED(status)) {
                int sig = WSTOPSIG(status);
                ptrace(PTRACE_CONT, who, NULL, (void *) (intptr_t) (sig == SIGSTOP || sig == SIGTRAP ? 0 : sig));
            } else if (who == tracee) {
                break;
            }
        }
    }
    return 0;
}

/* ---- CLONE_IO: the I/O context, seen through the I/O priority it holds -------------------- */

#define IOPRIO_WHO_PROCESS 1

/* The calling thread's I/O priority (class << 13 | level), or -errno. */
SAMPLE_EXPORT int sample_ioprio_get(void)
{
    int prio = (int) syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
    return prio >= 0 ? prio : -errno;
}

SAMPLE_EXPORT int sample_ioprio_set(int prio)
{
    return syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) == 0 ? 0 : errno;
}

/* Sets its own I/O priority to value[0]: value[1] = the result, value[2] = what it reads back. */
SAMPLE_EXPORT intptr_t sample_io_child(void *arg)
{
    struct flag_report *r = arg;
    r->value[1] = sample_ioprio_set((int) r->value[0]);
    r->value[2] = sample_ioprio_get();
    return 0;
}

/* ---- CLONE_NEWUSER: uid 0 inside, nobody special outside ---------------------------------- */

/* Waits for its maps (go = 1), then reports uid, gid and CapEff (value[0..2]); with value[8],
 * also tries sethostname, which needs CAP_SYS_ADMIN over the JVM's UTS namespace (value[3]).
 * done = 1, then it stays until go = 2 so that the parent can look at it from outside. */
SAMPLE_EXPORT intptr_t sample_newuser_child(void *arg)
{
    struct flag_report *r = arg;
    if (wait_word(&r->go, 1) != 0)
        return 99;
    r->value[0] = getuid();
    r->value[1] = getgid();
    r->value[2] = status_number("CapEff:", 16);
    if (r->value[8])
        r->value[3] = sethostname("spindle-newuser", 15) == 0 ? 0 : -errno;
    set_word(&r->done, 1);
    return wait_word(&r->go, 2) == 0 ? 0 : 98;
}

/* ---- CLONE_NEWCGROUP: the cgroup root ----------------------------------------------------- */

/* Moves itself into the cgroup whose cgroup.procs is text, then clones a grandchild with flags
 * value[8], which copies its /proc/self/cgroup line that starts with text2 into text.
 * value[0] = 0 or -errno of the move. */
SAMPLE_EXPORT intptr_t sample_newcgroup_child(void *arg)
{
    struct flag_report *r = arg;
    char pid_text[16];
    int pid = getpid(), n = 0;
    for (int rest = pid; rest; rest /= 10)
        n++;
    for (int i = n - 1, rest = pid; i >= 0; i--, rest /= 10)
        pid_text[i] = (char) ('0' + rest % 10);
    int fd = open(r->text, O_WRONLY | O_CLOEXEC);
    int moved = fd >= 0 && write(fd, pid_text, (size_t) n) == n;
    r->value[0] = moved ? 0 : -errno;
    if (fd >= 0)
        close(fd);
    if (!moved)
        return 0;
    pid_t grandchild = clone_like_fork((uint64_t) r->value[8]);
    if (grandchild == 0) {
        char text[4096];
        const char *line = read_text("/proc/self/cgroup", text, sizeof text) > 0 ? line_starting(text, r->text2) : NULL;
        size_t len = line ? strcspn(line, "\n") : 0;
        if (len >= sizeof r->text)
            len = sizeof r->text - 1;
        memcpy(r->text, line ? line : "", len);
        r->text[len] = 0;
        _exit(line ? 0 : 1);
    }
    if (grandchild < 0)
        return 100 + errno;
    int status;
    if (waitpid(grandchild, &status, __WALL) != grandchild)
        return 98;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 97;
}
