/*
 * thread.c: raw clone(2) threads with glibc's own thread flag set, and their joins.
 *
 * A thread is one guarded stack whose top holds its control block (struct spn_thread),
 * plus a TCB from tls.c. The TCB's tid field is both the CLONE_PARENT_SETTID and the
 * CLONE_CHILD_CLEARTID word, exactly as in pthread_create: the tid is in place before
 * clone returns, and the kernel stores 0 there and wakes a futex waiter when the thread
 * has exited, which is the join.
 *
 *   stack mapping:  | guard | ....stack grows down.... | struct spn_thread | spn_stack |
 */
#define _GNU_SOURCE
#include "spindle_runtime.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD \
                      | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID             \
                      | CLONE_CHILD_CLEARTID)

struct spn_thread {
    spn_fn fn;
    void *arg;
    intptr_t result;          /* written by the thread before it exits */
    int32_t *tid_word;        /* in the TCB; the kernel zeroes it at exit */
    void *tcb;
    struct spn_stack *stack;
    int32_t tid;              /* clone's return value: stays valid after the word is 0 */
    _Atomic uint32_t joiners; /* callers inside spn_thread_join */
    int use_cache;
} __attribute__((aligned(64)));

/* ---- the stack cache ------------------------------------------------------------------- */

#define STACK_CACHE_MAX 64

static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static struct spn_stack *stack_cache[STACK_CACHE_MAX];
static int stack_cache_count;

static int stack_acquire(size_t size, int use_cache, struct spn_stack **out)
{
    if (use_cache) {
        struct spn_stack *found = NULL;
        pthread_mutex_lock(&stack_lock);
        for (int i = stack_cache_count - 1; i >= 0; i--) {
            if (spn_stack_size(stack_cache[i]) == size) {
                found = stack_cache[i];
                stack_cache[i] = stack_cache[--stack_cache_count];
                break;
            }
        }
        pthread_mutex_unlock(&stack_lock);
        if (found) {
            *out = found;
            return 0;
        }
    }
    return spn_stack_alloc(size, out);
}

static void stack_release(struct spn_stack *s, int use_cache)
{
    if (use_cache) {
        pthread_mutex_lock(&stack_lock);
        int cached = stack_cache_count < STACK_CACHE_MAX;
        if (cached)
            stack_cache[stack_cache_count++] = s;
        pthread_mutex_unlock(&stack_lock);
        if (cached)
            return;
    }
    spn_stack_free(s);
}

void spn_caches_trim(void)
{
    pthread_mutex_lock(&stack_lock);
    while (stack_cache_count > 0)
        spn_stack_free(stack_cache[--stack_cache_count]);
    pthread_mutex_unlock(&stack_lock);
    spn_tcb_cache_trim();
}

/* ---- start ----------------------------------------------------------------------------- */

static int thread_entry(void *p)
{
    struct spn_thread *volatile t = p; /* read again after pthread_exit's longjmp */
    spn_tcb_adopt(t->tcb);
    /* Where pthread_exit ends up, as start_thread's setjmp is for a pthread: the thread then
     * ends as if its function had returned pthread_exit's value. */
    __pthread_unwind_buf_t exit_buf;
    memset(&exit_buf, 0, sizeof exit_buf);
    if (__sigsetjmp_cancel(exit_buf.__cancel_jmp_buf, 0) == 0) {
        spn_tcb_set_exit_buf(t->tcb, &exit_buf);
        t->result = t->fn(t->arg);
    } else {
        t->result = spn_tcb_take_exit_value(t->tcb);
    }
    spn_tcb_thread_ending();
    /* glibc's clone wrapper ends the thread with SYS_exit (this thread only). */
    return 0;
}

int spn_thread_start(spn_fn fn, void *arg, size_t stack_size, int use_cache,
                     struct spn_thread **out)
{
    if (!fn || !out)
        return EINVAL;
    int err = spn_runtime_init(NULL, 0);
    if (err)
        return err;

    struct spn_stack *stack;
    err = stack_acquire(stack_size, use_cache, &stack);
    if (err)
        return err;
    void *tcb = spn_tcb_acquire(use_cache);
    if (!tcb) {
        stack_release(stack, use_cache);
        return ENOMEM;
    }

    struct spn_thread *t = (struct spn_thread *) spn_stack_top(stack) - 1;
    t->fn = fn;
    t->arg = arg;
    t->result = 0;
    t->tcb = tcb;
    t->tid_word = spn_tcb_tid_word(tcb);
    t->stack = stack;
    atomic_init(&t->joiners, 0);
    t->use_cache = use_cache;
    spn_tcb_prepare(tcb);
    /* Its stack, from the guard up to the control blocks at the top. */
    char *guard = spn_stack_guard(stack);
    spn_tcb_set_stack(tcb, guard, (size_t) ((char *) t - guard), spn_runtime_page_size());

    /* Born with every asynchronous signal blocked, glibc's internal 32 and 33 too: neither
     * the JVM's handlers nor glibc's may run on a thread they do not know (tls.c says what
     * a stray 32 or 33 would do). The child inherits this mask; we restore ours. */
    sigset_t old;
    spn_block_async_signals(&old);
    int tid = clone(thread_entry, (void *) t, THREAD_FLAGS, t, t->tid_word, tcb, t->tid_word);
    err = tid == -1 ? errno : 0;
    spn_restore_signals(&old);

    if (err) {
        spn_tcb_release(tcb, use_cache);
        stack_release(stack, use_cache);
        return err;
    }
    t->tid = tid;
    *out = t;
    return 0;
}

int32_t spn_thread_tid(const struct spn_thread *t)
{
    return t->tid;
}

int spn_thread_exited(const struct spn_thread *t)
{
    return __atomic_load_n(t->tid_word, __ATOMIC_ACQUIRE) == 0;
}

intptr_t spn_thread_result(const struct spn_thread *t)
{
    return t->result;
}

/* ---- join ------------------------------------------------------------------------------ */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int spn_thread_join(struct spn_thread *t, int64_t timeout_ns)
{
    int32_t *word = t->tid_word;
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) == 0)
        return 0; /* already exited: no syscall */

    /* Counted before the tid is read again: whoever sees the exit sees us (below). */
    atomic_fetch_add_explicit(&t->joiners, 1, memory_order_seq_cst);
    int64_t deadline = timeout_ns < 0 ? 0 : now_ns() + timeout_ns;
    int rc = 0;
    for (;;) {
        int32_t tid = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (tid == 0)
            break;
        struct timespec rel, *relp = NULL;
        if (timeout_ns >= 0) {
            int64_t left = deadline - now_ns();
            if (left <= 0) {
                rc = ETIMEDOUT;
                break;
            }
            rel.tv_sec = left / 1000000000;
            rel.tv_nsec = left % 1000000000;
            relp = &rel;
        }
        /* Plain FUTEX_WAIT, not _PRIVATE: the kernel's CHILD_CLEARTID wake is a shared
         * futex wake and would never reach a private waiter. Wake-ups may be spurious
         * (EINTR, EAGAIN, a wake meant for another word): that's allowed, we loop. */
        syscall(SYS_futex, word, FUTEX_WAIT, tid, relp, NULL, 0);
    }
    uint32_t others = atomic_fetch_sub_explicit(&t->joiners, 1, memory_order_seq_cst) - 1;
    /* The kernel wakes exactly one waiter. A joiner that saw the exit wakes the rest; any
     * joiner still about to sleep was counted in `others` before it read the tid, so it
     * either is asleep now (woken here) or will find the word changed (EAGAIN). */
    if (rc == 0 && others > 0)
        syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    return rc;
}

void spn_thread_release(struct spn_thread *t)
{
    /* t lives on the stack it describes: read everything before giving the stack back. */
    struct spn_stack *stack = t->stack;
    void *tcb = t->tcb;
    int use_cache = t->use_cache;
    spn_tcb_release(tcb, use_cache);
    stack_release(stack, use_cache);
}

/* ---- self-check on a thread we made ----------------------------------------------------- */

static intptr_t verify_entry(void *arg)
{
    /* The tid word, pthread_self() and &errno must all be this thread's own: the TCB is
     * where %fs points, and static TLS (errno) sits just below it on x86-64. */
    void *tcb = (void *) pthread_self();
    void *fs_base;
    __asm__("mov %%fs:0, %0" : "=r"(fs_base));
    int ok = tcb == fs_base && *spn_tcb_tid_word(tcb) == (int32_t) syscall(SYS_gettid)
             && (char *) &errno > (char *) tcb - (1 << 20) && (char *) &errno < (char *) tcb;
    return ok ? 0 : 1;
}

int spn_runtime_verify_raw_thread(void)
{
    struct spn_thread *t;
    int err = spn_thread_start(verify_entry, NULL, 64 * 1024, 0, &t);
    if (err)
        return err;
    spn_thread_join(t, -1);
    intptr_t bad = t->result;
    spn_thread_release(t);
    return bad ? EPROTO : 0;
}
