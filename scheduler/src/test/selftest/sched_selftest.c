/*
 * sched_selftest.c: the scheduler's C core driven with no JVM, on whatever architecture it
 * was built for. NativeSelfTest builds it for this machine and for AArch64, and runs the
 * AArch64 build under qemu-user. It checks, counting every element and every task:
 *
 *   1. the MPMC ring (ring.h): producers and consumers on threads of their own; every element
 *      taken exactly once;
 *   2. the workers (pthreads in spn_worker_main, as an isolated pool's child runs them), fed
 *      through spn_sched_execute: each root task is a green thread that spawns two children
 *      onto its deque (idle workers steal them), yields, and joins them; every task runs
 *      exactly once, with its own result;
 *   3. fork-join fib(FIB_N) by spawn/join recursion (context switches, parking joins,
 *      steals): the right answer;
 *   4. typed calls: spn_call_task (call_<arch>.S) with every integer argument register (6 or
 *      8) or eight floating-point ones, run as tasks on the workers: the ABI's registers land
 *      where C expects them.
 *
 * Prints what it checked, then "selftest OK", and exits 0; a failure prints why, exits 1.
 * Every wait has a deadline: a hang becomes a failure.
 */
#define _GNU_SOURCE
#include "ring.h"
#include "spindle.h"
#include "spindle_sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEADLINE_S 240 /* qemu runs this tens of times slower than the machine */

static void fail(const char *what)
{
    fprintf(stderr, "selftest FAILED: %s\n", what);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits until *counter reaches target, or fails after DEADLINE_S. */
static void await_count(int64_t *counter, int64_t target, const char *what)
{
    double deadline = now_s() + DEADLINE_S;
    while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < target) {
        if (now_s() > deadline)
            fail(what);
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
}

/* ---- 1. the ring ------------------------------------------------------------------------- */

#define RING_PRODUCERS 2
#define RING_CONSUMERS 2
#define RING_PER_PRODUCER 200000
#define RING_ELEMENTS (RING_PRODUCERS * RING_PER_PRODUCER)

static struct spn_ring *ring;
static int32_t ring_seen[RING_ELEMENTS];
static int64_t ring_taken;

static void *ring_producer(void *arg)
{
    int64_t first = (intptr_t) arg * RING_PER_PRODUCER;
    for (int64_t e = first; e < first + RING_PER_PRODUCER; e++) {
        while (!ring_offer(ring, e + 1)) /* 0 means "empty" to poll */
            sched_yield();
    }
    return NULL;
}

static void *ring_consumer(void *arg)
{
    while (__atomic_load_n(&ring_taken, __ATOMIC_RELAXED) < RING_ELEMENTS) {
        int64_t e = ring_poll(ring);
        if (!e) {
            sched_yield();
            continue;
        }
        if (e < 1 || e > RING_ELEMENTS)
            fail("the ring gave an element nobody offered");
        __atomic_fetch_add(&ring_seen[e - 1], 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&ring_taken, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void test_ring(void)
{
    ring = spn_ring_create(1024);
    if (!ring)
        fail("spn_ring_create");
    pthread_t threads[RING_PRODUCERS + RING_CONSUMERS];
    for (int i = 0; i < RING_CONSUMERS; i++)
        pthread_create(&threads[i], NULL, ring_consumer, NULL);
    for (int i = 0; i < RING_PRODUCERS; i++)
        pthread_create(&threads[RING_CONSUMERS + i], NULL, ring_producer, (void *) (intptr_t) i);
    for (int i = 0; i < RING_PRODUCERS + RING_CONSUMERS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < RING_ELEMENTS; i++) {
        if (ring_seen[i] != 1)
            fail("an element of the ring was lost or taken twice");
    }
    if (ring_poll(ring) != 0)
        fail("the ring is not empty after every element was taken");
    spn_ring_destroy(ring);
    printf("ring: %d elements from %d producers to %d consumers, each taken once\n", RING_ELEMENTS,
           RING_PRODUCERS, RING_CONSUMERS);
}

/* ---- 2.-4. the workers ------------------------------------------------------------------- */

#define WORKERS 3
#define ROOTS 20000
#define FIB_N 20
#define CALLS 1000

static struct spn_sched *sched;
static int32_t runs[3 * ROOTS]; /* roots, then two children each */
static int64_t roots_done, bad_results;

static intptr_t child(void *arg)
{
    intptr_t id = (intptr_t) arg;
    __atomic_fetch_add(&runs[id], 1, __ATOMIC_RELAXED);
    return id * 2 + 1;
}

static intptr_t root(void *arg)
{
    intptr_t i = (intptr_t) arg;
    __atomic_fetch_add(&runs[i], 1, __ATOMIC_RELAXED);
    intptr_t first = ROOTS + 2 * i, second = first + 1, r1 = -1, r2 = -1;
    spn_task_t *a, *b;
    if (spn_spawn(child, (void *) first, &a) != SPN_OK || spn_spawn(child, (void *) second, &b) != SPN_OK)
        fail("spn_spawn");
    if (spn_yield() != SPN_OK)
        fail("spn_yield");
    if (spn_join(b, &r2) != SPN_OK || spn_join(a, &r1) != SPN_OK)
        fail("spn_join");
    if (r1 != first * 2 + 1 || r2 != second * 2 + 1)
        __atomic_fetch_add(&bad_results, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&roots_done, 1, __ATOMIC_RELEASE);
    return 0;
}

static intptr_t fib(void *arg)
{
    intptr_t n = (intptr_t) arg;
    if (n < 2)
        return n;
    spn_task_t *left;
    if (spn_spawn(fib, (void *) (n - 1), &left) != SPN_OK)
        fail("spn_spawn in fib");
    intptr_t right = fib((void *) (n - 2)), l = 0;
    if (spn_join(left, &l) != SPN_OK)
        fail("spn_join in fib");
    return l + right;
}

static int64_t fib_result = -1, fib_done;

static intptr_t fib_root(void *arg)
{
    __atomic_store_n(&fib_result, fib(arg), __ATOMIC_RELAXED);
    __atomic_fetch_add(&fib_done, 1, __ATOMIC_RELEASE);
    return 0;
}

/* The typed call's targets: every argument register in use (the ABI has SPN_CALL_INT_ARG_REGS
 * for integers: 6 on x86-64, 8 on AArch64), each weighed differently so that a swapped or
 * shifted register shows. */
#if SPN_CALL_INT_ARG_REGS == 8
static int64_t weigh_ints(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, int64_t g, int64_t h)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}
#else
static int64_t weigh_ints(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}
#endif

static double weigh_doubles(double a, double b, double c, double d, double e, double f, double g, double h)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

static struct spn_call call_rows[CALLS];
static int64_t calls_done;

/* A task that makes its typed call: as Java's call() does, with spn_call_task as the task. */
static intptr_t call_then_count(void *arg)
{
    struct spn_call *row = arg;
    intptr_t r = spn_call_task(row);
    row->fn = r; /* the result, kept for the check (the row is not used again) */
    __atomic_fetch_add(&calls_done, 1, __ATOMIC_RELEASE);
    return r;
}

static void *worker_thread(void *stats)
{
    spn_worker_main(stats);
    return NULL;
}

static void execute(spn_task_fn fn, void *arg)
{
    int err;
    while ((err = spn_sched_execute(sched, fn, arg)) == EAGAIN) /* the ring is full: let the workers drain it */
        sched_yield();
    if (err)
        fail("spn_sched_execute");
}

static void test_workers(void)
{
    if (spn_sched_create(WORKERS, 1024, 20000, 64 * 1024, &sched) != 0)
        fail("spn_sched_create");
    pthread_t workers[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        if (pthread_create(&workers[i], NULL, worker_thread, spn_sched_worker(sched, i)) != 0)
            fail("pthread_create");
    }

    for (intptr_t i = 0; i < ROOTS; i++)
        execute(root, (void *) i);
    await_count(&roots_done, ROOTS, "the root tasks did not all end");
    for (int i = 0; i < 3 * ROOTS; i++) {
        if (__atomic_load_n(&runs[i], __ATOMIC_RELAXED) != 1)
            fail("a task was lost or run twice");
    }
    if (bad_results)
        fail("a join gave another task's result");
    printf("workers: %d root tasks, each spawning, yielding and joining two children: %d tasks, each run once\n",
           ROOTS, 3 * ROOTS);

    execute(fib_root, (void *) FIB_N);
    await_count(&fib_done, 1, "fib did not end");
    intptr_t expected = 0, next = 1;
    for (int i = 0; i < FIB_N; i++) {
        intptr_t sum = expected + next;
        expected = next;
        next = sum;
    }
    if (fib_result != expected)
        fail("fork-join fib gave a wrong answer");
    printf("fork-join: fib(%d) = %ld by spawn/join recursion\n", FIB_N, (long) fib_result);

    for (int i = 0; i < CALLS; i++) {
        struct spn_call *row = &call_rows[i];
        int ints = i % 2 == 0;
        row->fn = ints ? (int64_t) weigh_ints : (int64_t) weigh_doubles;
        row->ret_kind = ints ? SPN_RET_INT : SPN_RET_FP;
        for (int k = 0; k < 8; k++) {
            row->ints[k] = i + k;
            double v = i * 0.5 + k;
            memcpy(&row->fps[k], &v, sizeof v);
        }
        execute(call_then_count, row);
    }
    await_count(&calls_done, CALLS, "the typed calls did not all end");
    for (int i = 0; i < CALLS; i++) {
        int64_t want_int = 0;
        double want_fp = 0;
        for (int k = 0; k < 8; k++) {
            if (k < SPN_CALL_INT_ARG_REGS)
                want_int += (k + 1) * (int64_t) (i + k);
            want_fp += (k + 1) * (i * 0.5 + k);
        }
        double got_fp;
        memcpy(&got_fp, &call_rows[i].fn, sizeof got_fp);
        if (i % 2 == 0 ? call_rows[i].fn != want_int : got_fp != want_fp)
            fail("a typed call's arguments or result went to the wrong register");
    }
    printf("typed calls: %d calls through spn_call_task with %d integer or 8 floating-point arguments\n", CALLS,
           SPN_CALL_INT_ARG_REGS);

    int64_t steals = 0;
    for (int i = 0; i < WORKERS; i++)
        steals += spn_sched_worker(sched, i)->steals;
    printf("(%ld steals between %d workers)\n", (long) steals, WORKERS);

    /* As Spindle.close() does: close the ring, drain, and stop the workers. */
    __atomic_fetch_or(&((struct spn_ring *) sched->submit)->producer_index, SPN_RING_CLOSED, __ATOMIC_SEQ_CST);
    if (spn_sched_execute(sched, child, 0) != ESHUTDOWN)
        fail("a closed ring accepted a task");
    spn_sched_shutdown(sched, SPN_DRAIN);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(workers[i], NULL);
    spn_sched_destroy(sched);
}

int main(void)
{
#if defined(__aarch64__)
    printf("sched_selftest on AArch64\n");
#elif defined(__x86_64__)
    printf("sched_selftest on x86-64\n");
#endif
    test_ring();
    test_workers();
    printf("selftest OK\n");
    return 0;
}
