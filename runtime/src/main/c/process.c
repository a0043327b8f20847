/*
 * process.c: raw clone(2) children that are processes, not threads: the flags that make
 * containers (CLONE_NEWUTS, NEWNS, NEWPID, NEWIPC, NEWNET, NEWUSER, NEWCGROUP) and the
 * sharing flags without CLONE_THREAD. The child ends when its function returns; the parent
 * reaps it with waitpid and reads its exit status.
 *
 * Without CLONE_VM the child runs in a copy of the JVM's address space that holds just one
 * thread, like the child of fork() in a multi-threaded program: its function must keep to
 * async-signal-safe work (no malloc: another JVM thread may have held its lock at the
 * moment of the copy). With CLONE_VM it shares our memory, so it gets a TCB of its own
 * (CLONE_SETTLS) and its libc calls do not write the caller's thread-locals.
 */
#define _GNU_SOURCE
#include "spindle_runtime.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct process_start {
    spn_fn fn;
    void *arg;
    void *tcb;      /* own TCB (CLONE_VM children) or NULL */
    uint64_t flags;
} __attribute__((aligned(64)));

static int process_entry(void *p)
{
    struct process_start *volatile ps = p; /* read again after pthread_exit's longjmp */
    if (ps->tcb) {
        spn_tcb_adopt(ps->tcb);
    } else {
        /* A private copy of the caller's TCB: make its tid ours for mutex owner ids. */
        *spn_tcb_tid_word((void *) pthread_self()) = (int32_t) syscall(SYS_gettid);
    }
    if (!(ps->flags & CLONE_SIGHAND)) {
        /* Our own copy of the signal table: a fault here must kill this child, not run
         * HotSpot's crash handler in what is not a JVM any more. */
        static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
        for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
            signal(faults[i], SIG_DFL);
    }
    /* pthread_exit ends the child as a return of its value would (a child without CLONE_VM
     * has a copy of its creator's TCB, pointing at the creator's own exit buffer until now). */
    void *volatile tcb = ps->tcb ? ps->tcb : (void *) pthread_self();
    __pthread_unwind_buf_t exit_buf;
    memset(&exit_buf, 0, sizeof exit_buf);
    int status;
    if (__sigsetjmp_cancel(exit_buf.__cancel_jmp_buf, 0) != 0) {
        status = (int) spn_tcb_take_exit_value(tcb);
    } else {
        spn_tcb_set_exit_buf(tcb, &exit_buf);
        status = (int) ps->fn(ps->arg);
    }
    /* A TCB of its own goes back to the cache: end its thread-locals as a thread's. */
    if (ps->tcb)
        spn_tcb_thread_ending();
    /* The exit status is the low byte: glibc's clone wrapper passes it to SYS_exit. */
    return status;
}

int spn_process_start(spn_fn fn, void *arg, uint64_t flags, int exit_signal,
                      struct spn_stack *stack, void **tcb_out, pid_t *pid_out)
{
    if (!fn || !stack || !tcb_out || !pid_out || (flags & (CLONE_THREAD | CLONE_SETTLS)))
        return EINVAL;
    int err = spn_runtime_init(NULL, 0);
    if (err)
        return err;

    struct process_start *ps = (struct process_start *) spn_stack_top(stack) - 1;
    ps->fn = fn;
    ps->arg = arg;
    ps->flags = flags;
    ps->tcb = NULL;
    void *tls = NULL;
    int32_t *ptid = NULL;
    if (flags & CLONE_VM) {
        ps->tcb = spn_tcb_acquire(1);
        if (!ps->tcb)
            return ENOMEM;
        spn_tcb_prepare(ps->tcb);
        char *guard = spn_stack_guard(stack);
        spn_tcb_set_stack(ps->tcb, guard, (size_t) ((char *) ps - guard), spn_runtime_page_size());
        tls = ps->tcb;
        ptid = spn_tcb_tid_word(ps->tcb);
        flags |= CLONE_SETTLS | CLONE_PARENT_SETTID;
    }

    sigset_t old;
    spn_block_async_signals(&old);
    pid_t pid = clone(process_entry, (void *) ps, (int) (flags | (exit_signal & 0xff)), ps,
                      ptid, tls, NULL);
    err = pid == -1 ? errno : 0;
    spn_restore_signals(&old);

    if (err) {
        if (ps->tcb)
            spn_tcb_release(ps->tcb, 1);
        return err;
    }
    *tcb_out = ps->tcb;
    *pid_out = pid;
    return 0;
}

int spn_process_wait(pid_t pid, int64_t timeout_ns, int *status_out)
{
    if (timeout_ns >= 0) {
        /* A pidfd turns "has it exited?" into a poll with a timeout; a zombie is readable. */
        int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
            return errno;
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        struct timespec ts = {.tv_sec = timeout_ns / 1000000000,
                              .tv_nsec = timeout_ns % 1000000000};
        int ready;
        do {
            ready = ppoll(&pfd, 1, &ts, NULL);
        } while (ready < 0 && errno == EINTR);
        int poll_err = ready < 0 ? errno : 0;
        close(pidfd);
        if (poll_err)
            return poll_err;
        if (ready == 0)
            return ETIMEDOUT;
    }
    int status;
    pid_t r;
    do {
        /* __WALL: a child whose exit signal is not SIGCHLD is a "clone child" to waitpid. */
        r = waitpid(pid, &status, __WALL);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return errno;
    *status_out = status;
    return 0;
}

void spn_process_release_tcb(void *tcb)
{
    if (tcb)
        spn_tcb_release(tcb, 1);
}
