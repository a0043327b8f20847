/*
 * runtime_test.c: native code the runtime's tests run on raw threads and raw children.
 * Every function has the task shape intptr_t fn(void *arg) unless it is a helper the test
 * calls directly from Java. Test-only: never shipped.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <linux/futex.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- tiny tasks (return_arg, sleep_ms and the gate are in build/test-native/test_tasks.c) -- */

intptr_t spn_test_exit_at_once(void *arg) { return 0; }

/* The seed behaviour of CLONE_VM: the child's write lands in the parent's memory. */
intptr_t spn_test_add_100(void *arg)
{
    int *counter = arg;
    *counter += 100;
    return 0;
}

/* out[0] = getpid(), out[1] = gettid(), out[2] = getppid(). */
intptr_t spn_test_ids(void *arg)
{
    int64_t *out = arg;
    out[0] = getpid();
    out[1] = syscall(SYS_gettid);
    out[2] = getppid();
    return 0;
}

/* Exit code: getpid() as the child sees it (1 inside a new pid namespace). */
intptr_t spn_test_getpid(void *arg) { return getpid(); }

/* ---- namespaces ------------------------------------------------------------------------- */

/* arg: the new hostname. 0, or the errno of sethostname. */
intptr_t spn_test_sethostname(void *arg)
{
    const char *name = arg;
    if (sethostname(name, strlen(name)) != 0)
        return errno;
    char now[256];
    gethostname(now, sizeof now);
    return strcmp(now, name) == 0 ? 0 : 255;
}

/* arg: an existing directory. In a new mount namespace: mount a tmpfs there and prove it
 * is there (a file can be made in it). Codes: 0 ok, 1..4 which step failed. */
intptr_t spn_test_mount_tmpfs(void *arg)
{
    const char *dir = arg;
    /* Propagation first: where / is a shared mount (systemd), a new mount namespace still
     * forwards mounts to the parent's unless we make our copy private. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return 1;
    if (mount("spindle-test", dir, "tmpfs", 0, "size=1m") != 0)
        return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/inside-the-namespace", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 3;
    fclose(f);
    struct stat st;
    return stat(path, &st) == 0 ? 0 : 4;
}

/* ---- libc citizenship ------------------------------------------------------------------- */

/* Bits of the result: one per libc feature that misbehaved (0 = all good). */
enum {
    BAD_MALLOC = 1 << 0,
    BAD_SNPRINTF = 1 << 1,
    BAD_ERRNO = 1 << 2,
    BAD_SELF = 1 << 3,
    BAD_RECURSIVE = 1 << 4,
    BAD_ERRORCHECK = 1 << 5,
    BAD_CTYPE = 1 << 6,
    BAD_GETCPU = 1 << 7,
    BAD_PRINTF = 1 << 8,
    BAD_TID = 1 << 9,
};

struct citizen_report {
    int64_t iterations;     /* in: malloc/free rounds */
    int64_t self;           /* out: pthread_self() */
    int64_t tid;            /* out: gettid() */
    int64_t cpu_mismatches; /* out: sched_getcpu() != getcpu() when both read without migrating */
};

static int check_errorcheck_mutex(void)
{
    pthread_mutexattr_t a;
    pthread_mutex_t m;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&m, &a);
    int ok = pthread_mutex_lock(&m) == 0
             && pthread_mutex_lock(&m) == EDEADLK /* owner is recognised by tid */
             && pthread_mutex_unlock(&m) == 0
             && pthread_mutex_unlock(&m) == EPERM;
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&a);
    return ok;
}

static int check_recursive_mutex(void)
{
    pthread_mutexattr_t a;
    pthread_mutex_t m;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&m, &a);
    int ok = pthread_mutex_lock(&m) == 0 && pthread_mutex_lock(&m) == 0
             && pthread_mutex_unlock(&m) == 0 && pthread_mutex_unlock(&m) == 0
             && pthread_mutex_trylock(&m) == 0 && pthread_mutex_unlock(&m) == 0;
    pthread_mutex_destroy(&m);
    pthread_mutexattr_destroy(&a);
    return ok;
}

intptr_t spn_test_libc_citizen(void *arg)
{
    struct citizen_report *r = arg;
    int bad = 0;

    /* malloc: many sizes, several live at once, from several threads at once. */
    void *live[16] = {0};
    for (int64_t i = 0; i < r->iterations; i++) {
        int slot = (int) (i & 15);
        free(live[slot]);
        size_t size = 16 + (size_t) ((i * 7919) % 4096);
        live[slot] = malloc(size);
        if (!live[slot]) {
            bad |= BAD_MALLOC;
            break;
        }
        memset(live[slot], (int) (i & 0xff), size);
    }
    for (int i = 0; i < 16; i++)
        free(live[i]);

    char buf[64];
    int n = snprintf(buf, sizeof buf, "%s-%d-%.2f", "raw", 42, 1.5);
    if (n != 11 || strcmp(buf, "raw-42-1.50") != 0)
        bad |= BAD_SNPRINTF;
    if (printf("[raw thread %ld] printf works\n", (long) syscall(SYS_gettid)) <= 0
        || fflush(stdout) != 0)
        bad |= BAD_PRINTF;

    errno = 0;
    if (close(-1) != -1 || errno != EBADF)
        bad |= BAD_ERRNO;
    errno = 12345;
    if (errno != 12345)
        bad |= BAD_ERRNO;

    pthread_t self = pthread_self();
    r->self = (int64_t) self;
    r->tid = syscall(SYS_gettid);
    if (self == 0)
        bad |= BAD_SELF;
    if (gettid() != r->tid)
        bad |= BAD_TID;

    if (!check_recursive_mutex())
        bad |= BAD_RECURSIVE;
    if (!check_errorcheck_mutex())
        bad |= BAD_ERRORCHECK;

    if (!isalpha('a') || isalpha('1') || toupper('q') != 'Q' || !isdigit('7'))
        bad |= BAD_CTYPE;

    /* sched_getcpu reads rseq's cpu_id; getcpu asks the kernel. A migration between the
     * two reads can make them differ, so compare twice around and count only stable pairs. */
    int64_t mismatches = 0;
    for (int i = 0; i < 1000; i++) {
        unsigned before, after;
        if (syscall(SYS_getcpu, &before, NULL, NULL) != 0) {
            bad |= BAD_GETCPU;
            break;
        }
        int fast = sched_getcpu();
        syscall(SYS_getcpu, &after, NULL, NULL);
        if (before == after && fast != (int) before)
            mismatches++;
    }
    r->cpu_mismatches = mismatches;
    if (mismatches > 0)
        bad |= BAD_GETCPU;
    return bad;
}

/* ---- crashes ------------------------------------------------------------------------------ */

intptr_t spn_test_null_dereference(void *arg)
{
    volatile int *nothing = NULL;
    *nothing = 1;
    return 0;
}

/* ---- CLONE_PARENT_SETTID vs CLONE_CHILD_SETTID, counted on raw clone ----------------- */

static int exit_now(void *arg) { return 0; }

/*
 * Clones `rounds` threads that exit at once and counts how often the tid was NOT in its
 * word when clone returned. With parent_settid the kernel writes the word before clone
 * returns (CLONE_PARENT_SETTID); otherwise CLONE_CHILD_SETTID has the child write it, in
 * its own context and so later. The exit is awaited on a CLONE_CHILD_CLEARTID word that
 * starts non-zero (in CHILD_SETTID mode it is the same word, which goes -1 -> tid -> 0),
 * so the stack is reused only after the child is gone. -1 on a clone failure.
 */
int64_t spn_test_settid_misses(int parent_settid, int rounds)
{
    static const size_t stack_size = 64 * 1024;
    char *stack = malloc(stack_size);
    if (!stack)
        return -1;
    /* Like the runtime: no asynchronous signal may land on a thread the JVM does not know. */
    sigset_t async, old;
    sigfillset(&async);
    sigdelset(&async, SIGSEGV);
    sigdelset(&async, SIGBUS);
    sigdelset(&async, SIGFPE);
    sigdelset(&async, SIGILL);
    pthread_sigmask(SIG_BLOCK, &async, &old);
    int64_t misses = 0;
    for (int i = 0; i < rounds; i++) {
        int32_t tid_word = -1;
        int32_t clear_word = 1;
        int32_t *ptid = parent_settid ? &tid_word : NULL;
        int32_t *ctid = parent_settid ? &clear_word : &tid_word;
        int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
                    | CLONE_SYSVSEM | CLONE_CHILD_CLEARTID
                    | (parent_settid ? CLONE_PARENT_SETTID : CLONE_CHILD_SETTID);
        int tid = clone(exit_now, stack + stack_size, flags, NULL, ptid, NULL, ctid);
        if (tid == -1) {
            misses = -1;
            break;
        }
        if (__atomic_load_n(&tid_word, __ATOMIC_ACQUIRE) != tid)
            misses++;
        int32_t seen;
        while ((seen = __atomic_load_n(ctid, __ATOMIC_ACQUIRE)) != 0)
            syscall(SYS_futex, ctid, FUTEX_WAIT, seen, NULL, NULL, 0);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(stack);
    return misses;
}

/* Recurses arg levels deep in 1 KiB frames, with work after each call so that the compiler
 * can neither fold the frames away nor turn the recursion into a loop: far more than any
 * stack when arg is large. */
intptr_t spn_test_deep_recursion(void *arg)
{
    volatile char frame[1024];
    frame[0] = 1;
    intptr_t depth = (intptr_t) arg;
    return depth <= 0 ? 0 : spn_test_deep_recursion((void *) (depth - 1)) + frame[0];
}
