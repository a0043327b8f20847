/*
 * isolated.c: an isolated pool, whose workers run in a child process.
 *
 * The JVM makes a shared region (region.c), puts the scheduler in it (sched.c allocates
 * from the region when it has one), and starts the child with clone(2) and the namespace
 * flags: new PID, mount, IPC, UTS and network namespaces, and a user namespace when it is
 * not root. The child closes every descriptor but the region's, and executes spindle-host,
 * a program of a few lines that loads this library again and calls spn_isolated_child_main:
 * so the child holds nothing of the JVM, only the region, this library and the task
 * libraries. There it maps the region at the JVM's address (pointers in it mean the same on
 * both sides), loads the task libraries, moves into an empty root, forbids new privileges,
 * installs a system-call filter, and runs the ordinary worker loop on pthreads. Submission,
 * joins and batches are the in-process protocol, on shared futexes.
 *
 * When the child dies, the JVM (Java's supervisor) reaps it, reads what its fatal-signal
 * handler wrote (struct spn_isolated_crash), ends every task the child had taken as
 * crashed (spn_isolated_recover, sched.c), and starts another child on the same region.
 */
#define _GNU_SOURCE
#include "spindle_sched.h"
#include "region.h"
#include "worker.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int spn_sched_create_isolated(struct spn_region *region, int nworkers, int64_t ring_capacity, int64_t spin_ns,
                              int64_t green_stack_size, struct spn_sched **out);
int64_t spn_isolated_recover(struct spn_sched *s, int64_t crash_number);
int spn_isolated_overdue(struct spn_sched *s, int64_t deadline_ns);
int64_t spn_isolated_fail_queued(struct spn_sched *s, int64_t crash_number);
SPN_EXPORT void spn_fiber_use_tcb_layout(const int64_t *layout);
extern __thread struct spn_worker *spn_current_worker;

#define HOST_FD 3 /* where the child finds the region's memfd */

static struct spn_isolation *isolation_of(struct spn_region *r)
{
    return (struct spn_isolation *) r->isolation;
}

static void copy_text(char *to, size_t size, const char *from)
{
    size_t n = strnlen(from, size - 1);
    memcpy(to, from, n);
    to[n] = 0;
}

/* ================================ the JVM's side ================================ */

/* out: the region, the scheduler in it, the memfd. */
SPN_EXPORT int spn_isolated_create(int64_t region_bytes, int nworkers, int64_t ring_capacity, int64_t spin_ns,
                                   int64_t green_stack_size, int64_t worker_stack_size, int64_t deadline_ns,
                                   const int64_t *tcb_layout, int seccomp, int64_t *out)
{
    struct spn_region *r;
    int fd;
    int err = spn_region_create((size_t) region_bytes, &fd, &r);
    if (err)
        return err;
    struct spn_isolation *iso = spn_region_alloc(r, sizeof *iso);
    if (!iso) {
        spn_region_destroy(r, fd);
        return ENOMEM;
    }
    memset(iso, 0, sizeof *iso);
    memcpy(iso->tcb_layout, tcb_layout, sizeof iso->tcb_layout);
    iso->seccomp = seccomp;
    iso->green_stack_size = green_stack_size;
    iso->worker_stack_size = worker_stack_size;
    iso->guard_budget = spn_default_guard_budget();
    r->isolation = (int64_t) iso;
    struct spn_sched *s;
    err = spn_sched_create_isolated(r, nworkers, ring_capacity, spin_ns, green_stack_size, &s);
    if (err) {
        spn_region_destroy(r, fd);
        return err;
    }
    if (deadline_ns > 0)
        s->isolated |= SPN_ISOLATED_DEADLINE;
    r->sched = (int64_t) s;
    out[0] = (int64_t) r;
    out[1] = (int64_t) s;
    out[2] = fd;
    return 0;
}

SPN_EXPORT void spn_isolated_destroy(struct spn_region *r, int fd)
{
    spn_region_destroy(r, fd); /* the scheduler, rings and batches are in it */
}

/* A task library the child loads before it runs anything (in the order added). */
SPN_EXPORT int spn_isolated_add_library(struct spn_region *r, const char *path)
{
    struct spn_isolation *iso = isolation_of(r);
    if (iso->library_count >= SPN_ISOLATED_MAX_LIBRARIES || strlen(path) >= SPN_ISOLATED_PATH_MAX)
        return EINVAL;
    copy_text(iso->libraries[iso->library_count].path, SPN_ISOLATED_PATH_MAX, path);
    iso->library_count++;
    return 0;
}

/* System calls (this architecture's numbers) the child's filter allows beyond its own list. */
SPN_EXPORT int spn_isolated_allow_calls(struct spn_region *r, const int32_t *calls, int count)
{
    struct spn_isolation *iso = isolation_of(r);
    if (count < 0 || count > SPN_ISOLATED_MAX_ALLOWED)
        return EINVAL;
    memcpy(iso->allowed, calls, (size_t) count * sizeof *calls);
    iso->allowed_count = count;
    return 0;
}

/* The address in the child of code at jvm_address in the JVM: the same offset in the same
 * file, which the child has loaded too. 0 if the code is in no library the child has. */
SPN_EXPORT int64_t spn_isolated_child_address(struct spn_region *r, int64_t jvm_address)
{
    Dl_info info;
    if (!dladdr((void *) jvm_address, &info) || !info.dli_fname)
        return 0;
    char here[PATH_MAX];
    if (!realpath(info.dli_fname, here))
        return 0;
    struct spn_isolation *iso = isolation_of(r);
    for (int i = 0; i < iso->loaded_count; i++) {
        struct spn_isolated_library *l = &iso->loaded[i];
        if (strcmp(here, l->path) == 0)
            return (int64_t) (l->child_base + ((uint64_t) jvm_address - (uint64_t) info.dli_fbase));
    }
    return 0;
}

/* What the child's clone does before it becomes spindle-host. No malloc, no locks, no
 * stdio: it is a copy of the multi-threaded JVM until execve. */
struct child_start {
    const char *host;
    char *const *argv;
    int region_fd;
    int user_namespace;
    uid_t uid;
    gid_t gid;
    int error_pipe; /* the write end: an errno and the step's name if a step fails */
};

static void child_fail(struct child_start *c, int err, const char *step)
{
    char message[96];
    size_t n = strnlen(step, sizeof message - 8);
    memcpy(message, &err, sizeof err);
    memcpy(message + sizeof err, step, n);
    ssize_t ignored = write(c->error_pipe, message, sizeof err + n);
    (void) ignored;
    _exit(127);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    ssize_t n = write(fd, text, strlen(text));
    int err = n < 0 ? errno : 0;
    close(fd);
    return err;
}

static void format_id_map(char *out, unsigned id)
{
    /* "0 <id> 1": root in the new namespace is this user outside it. */
    char digits[16];
    int n = 0;
    do {
        digits[n++] = (char) ('0' + id % 10);
        id /= 10;
    } while (id);
    out[0] = '0';
    out[1] = ' ';
    int at = 2;
    while (n)
        out[at++] = digits[--n];
    out[at++] = ' ';
    out[at++] = '1';
    out[at] = 0;
}

static int child_entry(void *p)
{
    struct child_start *c = p;
    /* Born with the asynchronous signals blocked (spn_isolated_start): give every signal its
     * default action before letting any in, so that none runs one of the JVM's handlers in
     * this copy of its memory, which is not a JVM. spindle-host then starts with an empty
     * mask, as a fresh program does. */
    for (int sig = 1; sig < _NSIG; sig++) {
        struct sigaction now;
        if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &now) == 0 && now.sa_handler != SIG_DFL) {
            struct sigaction dfl = {.sa_handler = SIG_DFL};
            sigaction(sig, &dfl, NULL);
        }
    }
    /* The child dies with the JVM. (A JVM that died between the clone and this call would
     * go unnoticed: getppid() is 0 for pid 1 of a new PID namespace, so the usual check
     * cannot be made. The JVM would have to die in those microseconds.) */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        child_fail(c, errno, "prctl(PR_SET_PDEATHSIG)");
    if (c->user_namespace) {
        char map[48];
        int err = write_file("/proc/self/setgroups", "deny");
        format_id_map(map, c->uid);
        if (!err)
            err = write_file("/proc/self/uid_map", map);
        format_id_map(map, c->gid);
        if (!err)
            err = write_file("/proc/self/gid_map", map);
        if (err)
            child_fail(c, err, "the user namespace's id maps");
    }
    /* Every child of the pool lays its libraries out alike, so that a function's address
     * the JVM translated for one child (tasks queued across a restart) holds for the next. */
    if (personality(ADDR_NO_RANDOMIZE) == -1)
        child_fail(c, errno, "personality(ADDR_NO_RANDOMIZE)");
    /* Mounts made from now on stay in this namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        child_fail(c, errno, "mount(/, MS_REC | MS_PRIVATE)");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        child_fail(c, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
    /* Nothing of the JVM's files and sockets: the region at HOST_FD, the error pipe (closed
     * by execve), and stdout and stderr for what task code prints. */
    if (dup2(c->region_fd, HOST_FD) != HOST_FD)
        child_fail(c, errno, "dup2 of the region");
    int pipe_fd = c->error_pipe;
    if (pipe_fd != HOST_FD + 1) {
        if (dup3(pipe_fd, HOST_FD + 1, O_CLOEXEC) != HOST_FD + 1)
            child_fail(c, errno, "dup3 of the error pipe");
        c->error_pipe = HOST_FD + 1;
    }
    if (syscall(SYS_close_range, HOST_FD + 2, ~0U, 0) != 0)
        child_fail(c, errno, "close_range");
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0 && devnull != STDIN_FILENO) {
        dup2(devnull, STDIN_FILENO);
        close(devnull);
    }
    char *const env[] = {NULL};
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(c->host, c->argv, env);
    child_fail(c, errno, "execve of spindle-host");
    return 127;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Starts a child on the region and waits until its workers run (or it failed, or
 * timeout_ns passed). out: pid, pidfd. On failure, message says which step failed. */
SPN_EXPORT int spn_isolated_start(struct spn_region *r, int region_fd, const char *host, const char *library,
                                  int64_t timeout_ns, int32_t *out, char *message, int message_size)
{
    struct spn_isolation *iso = isolation_of(r);
    __atomic_store_n(&iso->ready, 0, __ATOMIC_SEQ_CST);
    iso->error = 0;
    iso->message[0] = 0;
    memset(&iso->crash, 0, sizeof iso->crash);
    char fd_text[16], address[32], size[32];
    snprintf(fd_text, sizeof fd_text, "%d", HOST_FD);
    snprintf(address, sizeof address, "%llu", (unsigned long long) r->address);
    snprintf(size, sizeof size, "%llu", (unsigned long long) r->size);
    char *argv[] = {(char *) "spindle-host", (char *) library, fd_text, address, size, NULL};
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0)
        return errno;
    struct child_start c = {host, argv, region_fd, geteuid() != 0, geteuid(), getegid(), pipe_fds[1]};
    int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET
                | (c.user_namespace ? CLONE_NEWUSER : 0) | CLONE_PIDFD | SIGCHLD;
    size_t stack_size = 64 * 1024;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int err = errno;
        close(pipe_fds[0]);
        close(pipe_fds[1]);
        return err;
    }
    int pidfd = -1;
    /* Asynchronous signals blocked until the child has reset its handlers; synchronous
     * faults never (a fault with its signal blocked kills the process without a word). */
    sigset_t async, old_mask;
    sigfillset(&async);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&async, faults[i]);
    pthread_sigmask(SIG_BLOCK, &async, &old_mask);
    pid_t pid = clone(child_entry, stack + stack_size, flags, &c, &pidfd);
    int err = pid < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    munmap(stack, stack_size);
    close(pipe_fds[1]);
    if (err) {
        close(pipe_fds[0]);
        snprintf(message, (size_t) message_size, "clone with new PID, mount, IPC, UTS, network%s namespaces: %s",
                 c.user_namespace ? " and user" : "", strerror(err));
        return err;
    }
    /* Did a step before execve fail? The pipe closes at execve (O_CLOEXEC) or exit. */
    char report[96];
    ssize_t n = read(pipe_fds[0], report, sizeof report - 1);
    close(pipe_fds[0]);
    if (n >= (ssize_t) sizeof(int)) {
        memcpy(&err, report, sizeof err);
        report[n] = 0;
        snprintf(message, (size_t) message_size, "the isolated child's %s failed: %s", report + sizeof(int), strerror(err));
        waitpid(pid, NULL, __WALL);
        close(pidfd);
        return err ? err : EPROTO;
    }
    /* Wait for the child's workers, or its death. */
    int64_t deadline = now_ns() + timeout_ns;
    for (;;) {
        int ready = __atomic_load_n(&iso->ready, __ATOMIC_ACQUIRE);
        if (ready == 1)
            break;
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        int64_t left = deadline - now_ns();
        if (ready < 0 || left <= 0 || poll(&pfd, 1, 0) > 0) {
            syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
            int status = 0;
            waitpid(pid, &status, __WALL);
            close(pidfd);
            if (ready < 0 && iso->message[0])
                snprintf(message, (size_t) message_size, "%s", iso->message);
            else if (left <= 0)
                snprintf(message, (size_t) message_size, "the isolated child did not start within %lld ms",
                         (long long) (timeout_ns / 1000000));
            else if (WIFSIGNALED(status))
                snprintf(message, (size_t) message_size, "the isolated child died of signal %d while starting",
                         WTERMSIG(status));
            else if (iso->crash.claimed == 2)
                snprintf(message, (size_t) message_size, "the isolated child died of signal %d while starting (%s)",
                         iso->crash.signal, iso->crash.symbol);
            else
                snprintf(message, (size_t) message_size, "the isolated child exited with status %d while starting "
                         "(spindle-host: 2 = no library, 3 = no region, 4 = a task library did not load)",
                         WEXITSTATUS(status));
            return ready < 0 && iso->error ? iso->error : left <= 0 ? ETIMEDOUT : ECHILD;
        }
        struct timespec rel = {0, 2000000};
        syscall(SYS_futex, &iso->ready, FUTEX_WAIT, 0, &rel, NULL, 0);
    }
    out[0] = pid;
    out[1] = pidfd;
    return 0;
}

/* Waits up to timeout_ns (< 0: for ever) for the child to end, and reaps it. 0 and the
 * wait status in *status, or ETIMEDOUT. */
SPN_EXPORT int spn_isolated_wait(int pid, int pidfd, int64_t timeout_ns, int32_t *status)
{
    struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
    int ms = timeout_ns < 0 ? -1 : (int) (timeout_ns / 1000000);
    int ready;
    do {
        ready = poll(&pfd, 1, ms);
    } while (ready < 0 && errno == EINTR);
    if (ready == 0)
        return ETIMEDOUT;
    int st = 0;
    pid_t r;
    do {
        r = waitpid(pid, &st, __WALL);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno;
    close(pidfd);
    *status = st;
    return 0;
}

SPN_EXPORT int spn_isolated_kill(int pidfd)
{
    return syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) == 0 ? 0 : errno;
}

/* What the child's handler recorded: out = {signal, si_code, worker, complete}, address, pc;
 * symbol gets the task's function. 0 if nothing was recorded. */
SPN_EXPORT int spn_isolated_crash(struct spn_region *r, int32_t *out, int64_t *addresses, char *symbol, int symbol_size)
{
    struct spn_isolated_crash *c = &isolation_of(r)->crash;
    if (__atomic_load_n(&c->claimed, __ATOMIC_ACQUIRE) == 0)
        return 0;
    out[0] = c->signal;
    out[1] = c->code;
    out[2] = c->worker;
    out[3] = __atomic_load_n(&c->claimed, __ATOMIC_ACQUIRE) == 2;
    addresses[0] = (int64_t) c->address;
    addresses[1] = (int64_t) c->pc;
    copy_text(symbol, (size_t) symbol_size, c->symbol);
    return 1;
}

SPN_EXPORT int64_t spn_isolated_recover_tasks(struct spn_sched *s, int64_t crash_number)
{
    return spn_isolated_recover(s, crash_number);
}

SPN_EXPORT int64_t spn_isolated_fail_queued_tasks(struct spn_sched *s, int64_t crash_number)
{
    return spn_isolated_fail_queued(s, crash_number);
}

SPN_EXPORT int spn_isolated_overdue_worker(struct spn_sched *s, int64_t deadline_ns)
{
    return spn_isolated_overdue(s, deadline_ns);
}

SPN_EXPORT void *spn_shared_alloc(struct spn_region *r, int64_t bytes)
{
    return bytes > 0 ? spn_region_alloc(r, (size_t) bytes) : NULL;
}

SPN_EXPORT int spn_shared_free(struct spn_region *r, void *p)
{
    return spn_region_free(r, p);
}

SPN_EXPORT int spn_shared_contains(struct spn_region *r, int64_t address, int64_t bytes)
{
    return bytes >= 0 && spn_region_contains(r, (const void *) address, (size_t) bytes);
}

SPN_EXPORT int64_t spn_shared_in_use(struct spn_region *r)
{
    return (int64_t) spn_region_in_use(r);
}

/* ================================ the child's side ================================ */

static struct spn_region *child_region;

static void child_report(struct spn_isolation *iso, int err, const char *what)
{
    iso->error = err;
    snprintf(iso->message, sizeof iso->message, "the isolated child could not %s: %s", what, strerror(err));
    __atomic_store_n(&iso->ready, -1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &iso->ready, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Every object the child has loaded, by real path, with its load address; and whether one
 * the last child had moved (then what the JVM translated for it is wrong here). */
struct loaded_search {
    struct spn_isolation *iso;
    int moved;
};

static int record_loaded(struct dl_phdr_info *info, size_t size, void *p)
{
    struct loaded_search *search = p;
    struct spn_isolation *iso = search->iso;
    char path[PATH_MAX];
    if (!info->dlpi_name || !info->dlpi_name[0] || !realpath(info->dlpi_name, path) || strlen(path) >= SPN_ISOLATED_PATH_MAX)
        return 0;
    for (int i = 0; i < iso->loaded_count; i++) {
        if (strcmp(iso->loaded[i].path, path) == 0) {
            search->moved |= iso->loaded[i].child_base != info->dlpi_addr;
            return 0;
        }
    }
    if (iso->loaded_count < SPN_ISOLATED_MAX_LOADED) {
        struct spn_isolated_library *l = &iso->loaded[iso->loaded_count];
        copy_text(l->path, sizeof l->path, path);
        l->child_base = info->dlpi_addr;
        __atomic_store_n(&iso->loaded_count, iso->loaded_count + 1, __ATOMIC_RELEASE);
    }
    return 0;
}

/* The first fatal signal: its record for the JVM, then the end of the process. */
static void on_fatal(int sig, siginfo_t *info, void *context)
{
    struct spn_isolated_crash *c = &isolation_of(child_region)->crash;
    int32_t unclaimed = 0;
    if (__atomic_compare_exchange_n(&c->claimed, &unclaimed, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        c->signal = sig;
        c->code = info->si_code;
        c->address = (uint64_t) (uintptr_t) info->si_addr;
        c->pc = 0;
#if defined(__x86_64__)
        c->pc = (uint64_t) ((ucontext_t *) context)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
        c->pc = (uint64_t) ((ucontext_t *) context)->uc_mcontext.pc;
#endif
        if (sig == SIGSYS)
            c->address = (uint64_t) info->si_syscall; /* the system call the filter refused */
        struct spn_worker *w = spn_current_worker;
        c->worker = w ? w->index : -1;
        struct spn_fiber *f = w ? w->current : NULL;
        struct spn_task *t = f ? f->task : NULL;
        c->task_fn = t ? (uint64_t) t->fn : 0;
        /* The task's function by name: dladdr is not async-signal-safe, but this process
         * ends here in any case. */
        Dl_info d;
        uint64_t fn = t && t->group && ((struct spn_group *) t->group)->call_fn ? (uint64_t) ((struct spn_group *) t->group)->call_fn
                      : c->task_fn;
        if (fn && dladdr((void *) fn, &d) && d.dli_sname) {
            const char *file = d.dli_fname ? strrchr(d.dli_fname, '/') : NULL;
            snprintf(c->symbol, sizeof c->symbol, "%s in %s", d.dli_sname, file ? file + 1 : "?");
        } else if (!t && c->pc && dladdr((void *) c->pc, &d)) {
            /* No task: the child's own code (start-up), by where it faulted. */
            const char *file = d.dli_fname ? strrchr(d.dli_fname, '/') : NULL;
            snprintf(c->symbol, sizeof c->symbol, "no task; at %s in %s", d.dli_sname ? d.dli_sname : "?",
                     file ? file + 1 : "?");
        }
        __atomic_store_n(&c->claimed, 2, __ATOMIC_RELEASE);
    }
    /* Not raise(sig) with the default action: this process is pid 1 of its PID namespace,
     * and the kernel drops a signal init sends itself with no handler. The JVM reads the
     * signal from the record and sees this status. */
    _exit(128 + sig);
}

static void install_fatal_handlers(void)
{
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP};
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fatal;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal[i], &sa, NULL);
    }
}

/* What task code may ask of the kernel: memory, time, futexes, its own threads' signals,
 * and writes to the descriptors it has (stdout, stderr). No files to open, no sockets, no
 * processes, no ptrace. Anything else ends the child with SIGSYS, which the JVM reports,
 * unless the pool allows it (Isolation.Builder.allowSystemCalls: iso->allowed). */
static const int allowed_calls[] = {
    SYS_read, SYS_write, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_lseek, SYS_fstat, SYS_newfstatat,
    SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_mremap, SYS_brk,
    SYS_futex, SYS_clock_gettime, SYS_clock_getres, SYS_clock_nanosleep, SYS_nanosleep, SYS_gettimeofday,
    SYS_sched_yield, SYS_sched_getaffinity, SYS_getpid, SYS_gettid, SYS_getrandom,
    SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack, SYS_tgkill,
    SYS_exit, SYS_exit_group, SYS_rseq, SYS_set_robust_list, SYS_restart_syscall, SYS_membarrier,
    SYS_close, SYS_ioctl, SYS_prlimit64, SYS_getcpu,
};

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

static int install_seccomp(const struct spn_isolation *iso)
{
    enum { CALLS = sizeof allowed_calls / sizeof allowed_calls[0] };
    struct sock_filter filter[4 + 7 + 2 * (CALLS + SPN_ISOLATED_MAX_ALLOWED) + 2];
    int n = 0;
    filter[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    filter[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0);
    filter[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    filter[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    /* Threads, not processes: clone3's flags are in memory the filter cannot read, so it
     * fails with ENOSYS (glibc then uses clone), and clone needs CLONE_THREAD. */
    filter[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
    filter[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    filter[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 4);
    filter[n++] = (struct sock_filter) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
    filter[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1);
    filter[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    filter[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    for (int i = 0; i < CALLS + iso->allowed_count; i++) {
        uint32_t call = (uint32_t) (i < CALLS ? allowed_calls[i] : iso->allowed[i - CALLS]);
        filter[n++] = (struct sock_filter) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, call, 0, 1);
        filter[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    }
    filter[n++] = (struct sock_filter) BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
    struct sock_fprog prog = {(unsigned short) n, filter};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
        return errno;
    return 0;
}

/* An empty root: a tmpfs of no size, so task code cannot open the JVM's files. */
static int enter_empty_root(void)
{
    if (mount("spindle-isolated", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") != 0)
        return errno;
    if (chdir("/tmp") != 0 || chroot(".") != 0 || chdir("/") != 0)
        return errno;
    return 0;
}

static void *worker_thread(void *stats)
{
    spn_worker_main(stats);
    return NULL;
}

/* spindle-host's main: argv = spindle-host, this library, region fd, address, size. */
SPN_EXPORT int spn_isolated_child_main(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    struct spn_region *r;
    int err = spn_region_attach(atoi(argv[2]), strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), &r);
    if (err)
        return 3; /* no region: nobody to tell but the exit status */
    child_region = r;
    struct spn_isolation *iso = isolation_of(r);
    struct spn_sched *s = (struct spn_sched *) r->sched;
    for (int i = 0; i < iso->library_count; i++) {
        struct spn_isolated_library *l = &iso->libraries[i];
        if (!dlopen(l->path, RTLD_NOW | RTLD_GLOBAL)) {
            iso->error = ENOENT;
            snprintf(iso->message, sizeof iso->message, "the isolated child could not load %s: %s", l->path, dlerror());
            __atomic_store_n(&iso->ready, -1, __ATOMIC_SEQ_CST);
            syscall(SYS_futex, &iso->ready, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
            return 4;
        }
    }
    struct loaded_search search = {iso, 0};
    dl_iterate_phdr(record_loaded, &search);
    if (search.moved) {
        child_report(iso, EADDRNOTAVAIL, "load its libraries where the last child had them");
        return 4;
    }
    install_fatal_handlers();
    spn_fiber_use_tcb_layout(iso->tcb_layout);
    spn_fiber_runtime_init(s, (size_t) iso->green_stack_size, iso->guard_budget);
    if (!s->fibers) {
        child_report(iso, ENOMEM, "set up its green threads");
        return 5;
    }
    if ((err = enter_empty_root()) != 0) {
        child_report(iso, err, "move into an empty root");
        return 6;
    }
    /* The filter before any task can run: the workers inherit it. */
    if (iso->seccomp && (err = install_seccomp(iso)) != 0) {
        child_report(iso, err, "install its system call filter");
        return 8;
    }
    /* Ready before the first worker runs: from then on a task that kills the child is a
     * crash of that task (the JVM restarts the child), not a child that could not start. */
    __atomic_store_n(&iso->ready, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &iso->ready, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    pthread_t threads[s->nworkers];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (iso->worker_stack_size > 0)
        pthread_attr_setstacksize(&attr, (size_t) iso->worker_stack_size); /* workerStackSize, as in-process */
    int started = 0;
    for (; started < s->nworkers; started++) {
        if (pthread_create(&threads[started], &attr, worker_thread, &s->stats[started]) != 0)
            _exit(7); /* a crash to the JVM, with no record: it starts another child */
    }
    pthread_attr_destroy(&attr);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    return 0;
}
