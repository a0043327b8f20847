/*
 * liveness_test.c: test tasks for issue 10's defects: handle misuse, wake-ups that reach
 * one worker, a parent's only child stolen, and a task that never returns.
 */
#define _GNU_SOURCE
#include "spindle.h"

#include <stdint.h>
#include <time.h>

static intptr_t identity(void *arg) { return (intptr_t) arg; }

/* Every misuse of a handle is refused with SPN_E_INVALID, and none of them touches the task
 * that lives in the misused handle's descriptor now. Returns 0, or the number of the first
 * check that failed. */
intptr_t spn_test_handle_misuse(void *arg)
{
    (void) arg;
    spn_task_t *a, *b;
    intptr_t r = 0;
    if (spn_spawn(identity, (void *) 11, &a) != SPN_OK || spn_join(a, &r) != SPN_OK || r != 11)
        return 1;
    if (spn_join(a, &r) != SPN_E_INVALID)
        return 2; /* joined twice */
    if (spn_detach(a) != SPN_E_INVALID || spn_retain(a) != SPN_E_INVALID)
        return 3; /* detached or retained after the join gave it back */
    if (spn_spawn(identity, (void *) 12, &a) != SPN_OK || spn_detach(a) != SPN_OK)
        return 4;
    /* a's descriptor is free again, or soon is (the run's end frees it): b likely gets it. */
    if (spn_spawn(identity, (void *) 13, &b) != SPN_OK)
        return 5;
    if (spn_detach(a) != SPN_E_INVALID || spn_join(a, &r) != SPN_E_INVALID)
        return 6; /* detached twice, joined after a detach */
    if (spn_join(b, &r) != SPN_OK || r != 13)
        return 7; /* the task living where a lived is untouched */
    if (spn_join(spn_current(), &r) != SPN_E_INVALID)
        return 8; /* a task cannot join itself (it would wait for ever) */
    if (spn_join(NULL, &r) != SPN_E_INVALID || spn_join((spn_task_t *) (uintptr_t) 0x7fffffff12345ull, &r) != SPN_E_INVALID)
        return 9; /* not a handle at all */
    if (spn_spawn(identity, (void *) 14, &a) != SPN_OK || spn_retain(a) != SPN_OK)
        return 10;
    if (spn_join(a, &r) != SPN_OK || r != 14 || spn_join(a, &r) != SPN_OK || spn_join(a, &r) != SPN_E_INVALID)
        return 11; /* two references, two joins, and no third */
    return 0;
}

struct join_target {
    spn_task_t *target; /* a Java Task's handle: retained here, then joined */
};

/* Joins the target (parking this green thread until it ends) and returns the worker it ran on. */
intptr_t spn_test_join_on_worker(void *arg)
{
    struct join_target *j = arg;
    if (spn_retain(j->target) != SPN_OK)
        return -1;
    intptr_t r;
    if (spn_join(j->target, &r) != SPN_OK)
        return -2;
    return spn_worker_id();
}

static void busy_ms(long ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do {
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 < ms);
}

static intptr_t busy_child(void *arg)
{
    busy_ms((long) (intptr_t) arg);
    return spn_worker_id();
}

struct only_child {
    int64_t go; /* Java sets it once every other worker sleeps */
    int64_t ms;
};

/* Spawn one child, compute as long as it does, join: 1 if another worker took the child.
 * It spawns only when Java says the other workers are asleep, so that only spn_spawn's own
 * wake-up can bring one of them to the child. */
intptr_t spn_test_spawn_one_compute_join(void *arg)
{
    struct only_child *c = arg;
    while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE)) {
    }
    spn_task_t *child;
    if (spn_spawn(busy_child, (void *) (intptr_t) c->ms, &child) != SPN_OK)
        return -1;
    busy_ms((long) c->ms);
    intptr_t child_worker;
    if (spn_join(child, &child_worker) != SPN_OK)
        return -2;
    return child_worker != spn_worker_id();
}

/* Never returns unless *stop is set, and makes no system call: a task stuck in a loop. */
intptr_t spn_test_spin_until(void *arg)
{
    volatile int64_t *stop = arg;
    while (!*stop) {
    }
    return 5;
}
