/*
 * green_test.c: task code that uses spindle.h, compiled like a user's task library (spn_*
 * left undefined, resolved against the scheduler library when first called).
 */
#define _GNU_SOURCE
#include "spindle.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static intptr_t fib_sequential(intptr_t n)
{
    return n < 2 ? n : fib_sequential(n - 1) + fib_sequential(n - 2);
}

/* Fork-join fib: a spawn per call above the cutoff (arg: n | cutoff << 32). */
intptr_t spn_test_fib(void *arg)
{
    intptr_t packed = (intptr_t) arg;
    intptr_t n = packed & 0xffffffff, cutoff = packed >> 32;
    if (n < cutoff || n < 2)
        return fib_sequential(n);
    spn_task_t *left;
    if (spn_spawn(spn_test_fib, (void *) ((n - 1) | cutoff << 32), &left) != SPN_OK)
        return -1000000;
    intptr_t right = spn_test_fib((void *) ((n - 2) | cutoff << 32));
    intptr_t l;
    if (spn_join(left, &l) != SPN_OK)
        return -1000000;
    return l + right;
}

intptr_t spn_test_fib_sequential(void *arg) { return fib_sequential((intptr_t) arg); }

/* ---- parallel quicksort of int32s in native memory ---- */

struct sort_range {
    int32_t *a;
    int64_t n;
};

static void insertion_sort(int32_t *a, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        int32_t v = a[i];
        int64_t j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static int64_t partition(int32_t *a, int64_t n)
{
    int32_t x = a[0], y = a[n / 2], z = a[n - 1];
    int32_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    int64_t i = -1, j = n;
    for (;;) {
        do i++; while (a[i] < pivot);
        do j--; while (a[j] > pivot);
        if (i >= j)
            return j + 1;
        int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

/* arg: struct sort_range * (owned by the caller). Returns 0, or -1 on an API failure. */
intptr_t spn_test_quicksort(void *arg)
{
    struct sort_range *r = arg;
    int32_t *a = r->a;
    int64_t n = r->n;
    while (n > 2048) {
        int64_t split = partition(a, n);
        /* The left part as a child (its range lives on this stack: we join before returning). */
        struct sort_range left = {a, split};
        spn_task_t *child;
        if (spn_spawn(spn_test_quicksort, &left, &child) != SPN_OK)
            return -1;
        struct sort_range right = {a + split, n - split};
        intptr_t rr = spn_test_quicksort(&right);
        intptr_t lr;
        if (spn_join(child, &lr) != SPN_OK || lr != 0 || rr != 0)
            return -1;
        return 0;
    }
    insertion_sort(a, n);
    return 0;
}

/* ---- many green threads blocked at once ---- */

/* The gate: a green thread that yields until Java sets *flag. */
intptr_t spn_test_gate(void *arg)
{
    int64_t *flag = arg;
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
        spn_yield();
    return 42;
}

static intptr_t return_seven(void *arg) { return 7; }

/* Yields until Java sets *flag, then spawns a child: what spn_spawn returns (SPN_E_CLOSING once
 * shutdownNow() began), after joining the child if it was accepted. */
intptr_t spn_test_spawn_after_gate(void *arg)
{
    int64_t *flag = arg;
    while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
        spn_yield();
    spn_task_t *child;
    int r = spn_spawn(return_seven, NULL, &child);
    if (r == SPN_OK)
        spn_join(child, NULL);
    return r;
}

struct gate_waiters {
    spn_task_t *gate;  /* Java keeps its own handle until every waiter is done */
    int64_t parked;    /* waiters that reached their join */
};

/* A waiter: takes a reference of its own to the gate task and joins it, parking its green
 * thread until the gate opens. */
intptr_t spn_test_gate_waiter(void *arg)
{
    struct gate_waiters *g = arg;
    if (spn_retain(g->gate) != SPN_OK)
        return -1;
    __atomic_fetch_add(&g->parked, 1, __ATOMIC_RELAXED);
    intptr_t r;
    if (spn_join(g->gate, &r) != SPN_OK)
        return -2;
    return r;
}

/* ---- members of one batch that wait for each other ---- */

struct batch_barrier {
    int64_t arrived; /* members that have started */
    int64_t members;
    int64_t give_up; /* set by Java when the barrier never fills: the members return -2 */
};

/* Arrives, then yields until every member of the batch has arrived: all of them must be
 * running at once, so the members that share a chunk with a waiting one must start anyway.
 * Returns the worker it ended on. */
intptr_t spn_test_batch_barrier(void *arg)
{
    struct batch_barrier *b = arg;
    __atomic_fetch_add(&b->arrived, 1, __ATOMIC_ACQ_REL);
    while (__atomic_load_n(&b->arrived, __ATOMIC_ACQUIRE) < b->members) {
        if (__atomic_load_n(&b->give_up, __ATOMIC_ACQUIRE))
            return -2;
        if (spn_yield() != SPN_OK)
            return -1;
    }
    return spn_worker_id();
}

/* ---- yield ---- */

struct pingpong {
    int64_t rounds;
    int64_t turn;      /* whose turn: 0 or 1 */
    int64_t violations;
    int64_t trace_len;
    char trace[64];
    int64_t arrived;   /* players that have started */
};

struct player {
    struct pingpong *game;
    int64_t me;
};

/* Two of these on one worker must alternate strictly when they yield to each other. */
intptr_t spn_test_yield_player(void *arg)
{
    struct player *p = arg;
    struct pingpong *g = p->game;
    /* Java queues the players one after the other, so the worker may start the first before
       the second is queued, and until then a yield comes straight back. The game starts when
       both are there: the first to arrive waits, yielding, and the second takes the first turn. */
    if (__atomic_add_fetch(&g->arrived, 1, __ATOMIC_ACQ_REL) == 1) {
        while (__atomic_load_n(&g->arrived, __ATOMIC_ACQUIRE) < 2)
            spn_yield();
    } else {
        __atomic_store_n(&g->turn, p->me, __ATOMIC_RELEASE);
    }
    for (int64_t i = 0; i < g->rounds; i++) {
        if (__atomic_load_n(&g->turn, __ATOMIC_ACQUIRE) != p->me)
            __atomic_fetch_add(&g->violations, 1, __ATOMIC_RELAXED);
        if (g->trace_len < (int64_t) sizeof g->trace - 1)
            g->trace[g->trace_len++] = (char) ('A' + p->me);
        __atomic_store_n(&g->turn, 1 - p->me, __ATOMIC_RELEASE);
        spn_yield();
    }
    return spn_worker_id();
}

/* Yields until *flag is set (by a task spawned from Java), at most `limit` times. */
struct yield_until {
    int64_t *flag;
    int64_t limit;
    int64_t yields;
};

intptr_t spn_test_yield_until(void *arg)
{
    struct yield_until *y = arg;
    while (!__atomic_load_n(y->flag, __ATOMIC_ACQUIRE) && y->yields < y->limit) {
        spn_yield();
        y->yields++;
    }
    return __atomic_load_n(y->flag, __ATOMIC_ACQUIRE) ? 1 : 0;
}

intptr_t spn_test_set_flag(void *arg)
{
    __atomic_store_n((int64_t *) arg, 1, __ATOMIC_RELEASE);
    return 1;
}

/* ---- stealing: one task spawns many children ---- */

struct fanout {
    int32_t *counts; /* each child increments its own slot */
    int64_t children;
};

static intptr_t fanout_child(void *arg)
{
    int32_t *slot = arg;
    __atomic_fetch_add(slot, 1, __ATOMIC_RELAXED);
    /* A little work, so the other worker has time to steal. */
    volatile uint64_t x = 0;
    for (int i = 0; i < 2000; i++)
        x += (uint64_t) i * 2654435761u;
    return spn_worker_id();
}

/* Spawns `children` children, then joins them all; returns how many ran on another worker. */
intptr_t spn_test_fanout(void *arg)
{
    struct fanout *f = arg;
    spn_task_t **handles = malloc(sizeof *handles * (size_t) f->children);
    if (!handles)
        return -1;
    for (int64_t i = 0; i < f->children; i++)
        if (spn_spawn(fanout_child, &f->counts[i], &handles[i]) != SPN_OK)
            return -1;
    int me = spn_worker_id();
    intptr_t elsewhere = 0;
    for (int64_t i = f->children - 1; i >= 0; i--) {
        intptr_t worker;
        if (spn_join(handles[i], &worker) != SPN_OK)
            return -1;
        if (worker != me)
            elsewhere++;
    }
    free(handles);
    return elsewhere;
}

/* ---- libc inside green threads that block and resume ---- */

static intptr_t format_child(void *arg)
{
    char *buf = malloc(64);
    snprintf(buf, 64, "child-%ld", (long) (intptr_t) arg);
    spn_yield();
    intptr_t len = (intptr_t) strlen(buf);
    free(buf);
    return len;
}

/* Mallocs, spawns, blocks in join, yields, prints; checks errno survives the switches. */
intptr_t spn_test_libc_green(void *arg)
{
    long n = (long) (intptr_t) arg;
    char *mine = malloc(128);
    if (!mine)
        return -1;
    snprintf(mine, 128, "parent-%ld", n);
    errno = 4242;
    spn_task_t *kids[4];
    for (int i = 0; i < 4; i++)
        if (spn_spawn(format_child, (void *) (intptr_t) (n * 10 + i), &kids[i]) != SPN_OK)
            return -1;
    spn_yield();
    intptr_t total = 0;
    for (int i = 0; i < 4; i++) {
        intptr_t len;
        if (spn_join(kids[i], &len) != SPN_OK)
            return -1;
        total += len;
    }
    if (errno != 4242)
        return -2; /* errno is thread-local: it must be the same worker's */
    if (n % 1000 == 0) {
        printf("[green thread] %s joined 4 children on worker %d\n", mine, spn_worker_id());
        fflush(stdout);
    }
    free(mine);
    return total;
}

/* ---- the API off a worker, and result names ---- */

intptr_t spn_test_api_off_worker(void)
{
    spn_task_t *t;
    return spn_spawn(spn_test_fib_sequential, NULL, &t) == SPN_E_NOT_ON_WORKER
           && spn_yield() == SPN_E_NOT_ON_WORKER && spn_worker_id() == -1 && spn_current() == NULL
           && strcmp(spn_result_name(SPN_E_CANCELLED), "SPN_E_CANCELLED") == 0;
}

/* ---- hand a handle to Java ---- */

intptr_t spn_test_spawn_for_java(void *arg)
{
    spn_task_t *t;
    if (spn_spawn(spn_test_fib_sequential, arg, &t) != SPN_OK)
        return 0;
    return (intptr_t) t; /* Java adopts it */
}

/* ---- stack overflow ---- */

static intptr_t deep(intptr_t depth)
{
    volatile char frame[512];
    frame[0] = (char) depth;
    spn_task_t *t;
    /* Calls into the API at every level, as fork-join recursion does: that is where the
     * red zone is checked. */
    if (spn_spawn(spn_test_fib_sequential, (void *) 1, &t) != SPN_OK)
        return -1;
    spn_detach(t);
    return depth > 0 ? deep(depth - 1) + frame[0] : frame[0];
}

intptr_t spn_test_overflow(void *arg)
{
    return deep((intptr_t) arg);
}

/* ---- stack overflow: huge frames, recursion without API calls, a genuine crash ----------
 * The frame functions are exported (not static) so that the overflow report can name them. */

struct overflow_stage {
    int64_t neighbour_parked; /* the neighbour filled its canary and waits */
    int64_t overflow_done;    /* the overflowing task came back from its frame (it must not) */
    int64_t frame_kib;        /* 100 or 130 */
};

/* One huge frame, touched at both ends (volatile: the compiler must keep the whole array),
 * then a call into the API, as real code would make before it returns. */
__attribute__((noinline)) intptr_t spn_test_frame_100k(void)
{
    volatile char buf[100 * 1024];
    buf[0] = 1;
    buf[sizeof buf - 1] = 2;
    spn_worker_id();
    return buf[0] + buf[sizeof buf - 1];
}

__attribute__((noinline)) intptr_t spn_test_frame_130k(void)
{
    volatile char buf[130 * 1024];
    buf[0] = 1;
    buf[sizeof buf - 1] = 2;
    spn_worker_id();
    return buf[0] + buf[sizeof buf - 1];
}

/* Started first, so its stack is the slot above the neighbour's: waits until the neighbour
 * is parked, then runs the huge frame. */
intptr_t spn_test_huge_frame_task(void *arg)
{
    struct overflow_stage *stage = arg;
    while (!__atomic_load_n(&stage->neighbour_parked, __ATOMIC_ACQUIRE))
        spn_yield();
    intptr_t r = stage->frame_kib == 130 ? spn_test_frame_130k() : spn_test_frame_100k();
    __atomic_store_n(&stage->overflow_done, 1, __ATOMIC_RELEASE);
    return r;
}

#define CANARY_WORDS 4096 /* 32 KiB of the neighbour's 64 KiB stack */
#define CANARY UINT64_C(0x6e65696768626f72)

/* The parked neighbour: fills a canary on its stack, waits for the overflow, and returns
 * how many canary words changed meanwhile. */
intptr_t spn_test_overflow_neighbour(void *arg)
{
    struct overflow_stage *stage = arg;
    volatile uint64_t canary[CANARY_WORDS];
    for (int i = 0; i < CANARY_WORDS; i++)
        canary[i] = CANARY;
    __atomic_store_n(&stage->neighbour_parked, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&stage->overflow_done, __ATOMIC_ACQUIRE))
        spn_yield();
    intptr_t changed = 0;
    for (int i = 0; i < CANARY_WORDS; i++)
        changed += canary[i] != CANARY;
    return changed;
}

/* Recursion with small frames and no call into the API: only the guard can stop it. */
__attribute__((noinline)) intptr_t spn_test_recurse_plain(intptr_t depth)
{
    volatile char frame[256];
    frame[0] = (char) depth;
    return depth > 0 ? spn_test_recurse_plain(depth - 1) + frame[0] : frame[0];
}

intptr_t spn_test_deep_recursion(void *arg)
{
    return spn_test_recurse_plain((intptr_t) arg);
}

/* A genuine crash in a task: a write through the null pointer (HotSpot's hs_err report). */
intptr_t spn_test_null_write(void *arg)
{
    *(volatile int *) arg = 42;
    return 0;
}

/* ---- the floating-point environment each task starts with ---- */

#include <fenv.h>

/* What a task finds at its start, as bits: 1 rounding is not to nearest, 2 an exception is
 * unmasked, 4 MXCSR is not 0x1f80 (a new thread's), 8 the x87 control word is not 0x037f. */
static intptr_t fp_env_faults(void)
{
    intptr_t faults = 0;
    if (fegetround() != FE_TONEAREST)
        faults |= 1;
    if (fegetexcept() != 0)
        faults |= 2;
#if defined(__x86_64__)
    if (__builtin_ia32_stmxcsr() != 0x1f80)
        faults |= 4;
    uint16_t cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    if (cw != 0x037f)
        faults |= 8;
#endif
    return faults;
}

/* Leaves the environment as far from the default as it can: rounding upward, division by
 * zero unmasked, and (x86-64) flush-to-zero. */
static void fp_env_dirty(void)
{
    fesetround(FE_UPWARD);
    feenableexcept(FE_DIVBYZERO);
#if defined(__x86_64__)
    __builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | 0x8000);
#endif
}

/* Reports what it found at its start (fp_env_faults); with arg 1, dirties it afterwards. */
intptr_t spn_test_fp_probe(void *arg)
{
    intptr_t faults = fp_env_faults();
    if ((intptr_t) arg & 1)
        fp_env_dirty();
    return faults;
}

static intptr_t fp_rounds_downward(void *arg)
{
    (void) arg;
    return fegetround() == FE_DOWNWARD ? 0 : 1;
}

/* A task with an environment of its own (rounding downward) that runs `arg` children inline
 * (through the lazy path, and, every other one, retained first, through run_inline): a child
 * run inline is a call on its parent's green thread, so each must see rounding downward.
 * Returns how many did not. Leaves rounding downward behind on purpose: the next task on
 * this fiber must not find it. */
intptr_t spn_test_fp_inline_children(void *arg)
{
    long children = (long) (intptr_t) arg;
    fesetround(FE_DOWNWARD);
    intptr_t faults = 0;
    for (long i = 0; i < children; i++) {
        spn_task_t *child;
        if (spn_spawn(fp_rounds_downward, NULL, &child) != SPN_OK)
            return -1;
        int retained = (int) (i & 1);
        if (retained && spn_retain(child) != SPN_OK)
            return -1;
        intptr_t r;
        if (spn_join(child, &r) != SPN_OK)
            return -1;
        if (retained && spn_detach(child) != SPN_OK)
            return -1;
        faults += r;
    }
    return faults;
}

/* Sets errno to arg, then yields and joins a child of its own 200 times, checking after each
 * switch that errno is still arg (the child and other tasks on the worker set theirs).
 * Returns how many times it found another value. */
static intptr_t set_errno_task(void *arg)
{
    errno = (int) (intptr_t) arg;
    return 0;
}

intptr_t spn_test_errno_across_switches(void *arg)
{
    int mine = (int) (intptr_t) arg;
    intptr_t wrong = 0;
    errno = mine;
    for (int i = 0; i < 200; i++) {
        spn_yield();
        wrong += errno != mine;
        spn_task_t *child;
        intptr_t r;
        if (spn_spawn(set_errno_task, (void *) (intptr_t) (mine + 100000), &child) == SPN_OK
            && spn_join(child, &r) == SPN_OK)
            wrong += errno != mine;
        errno = mine;
    }
    return wrong;
}

/* The per-worker side of green threads, as spindle.h documents it: a recursive mutex held by
 * one task across spn_yield is entered by another task of the same worker (they share the
 * kernel thread that owns it). arg 0: the holder (locks, waits for the prober, unlocks);
 * arg 1: the prober (returns pthread_mutex_trylock's result). One worker runs both. */
static pthread_mutex_t yield_shared_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static volatile int yield_mutex_held, yield_mutex_probed;

intptr_t spn_test_mutex_across_yield(void *arg)
{
    if ((intptr_t) arg == 0) {
        pthread_mutex_lock(&yield_shared_mutex);
        yield_mutex_held = 1;
        while (!yield_mutex_probed)
            spn_yield();
        pthread_mutex_unlock(&yield_shared_mutex);
        return 0;
    }
    while (!yield_mutex_held)
        spn_yield();
    int r = pthread_mutex_trylock(&yield_shared_mutex);
    if (r == 0)
        pthread_mutex_unlock(&yield_shared_mutex);
    yield_mutex_probed = 1;
    return r;
}

/* JNI upcalls from task code, made on the worker's own stack: arg upcalls (upcall_test.c). */
intptr_t spn_test_upcalls(void *arg);

intptr_t spn_test_upcalls_from_task(void *arg)
{
    intptr_t r;
    int err = spn_call_on_worker_stack(spn_test_upcalls, arg, &r);
    return err ? -100 - err : r;
}

static intptr_t yield_there(void *arg)
{
    return spn_yield();
}

/* What the API says from code run on the worker's stack: SPN_E_NOT_ON_WORKER, and the task
 * goes on. */
intptr_t spn_test_api_on_worker_stack(void *arg)
{
    intptr_t r = -1;
    int err = spn_call_on_worker_stack(yield_there, NULL, &r);
    return err ? -100 - err : r;
}
