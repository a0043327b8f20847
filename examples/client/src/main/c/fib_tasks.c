/*
 * fib_tasks.c: task code for Spindle, written against spindle.h. This project's pom gets the
 * header from the spindle-scheduler artifact (its headers zip) and compiles this file into
 * libfib_tasks.so, which Main loads with JNA.
 */
#include "spindle.h"

/* Below this n a spawn would cost more than the work it hands off: plain recursion. */
#define SPAWN_FROM 16

static intptr_t fib_sequential(intptr_t n)
{
    return n < 2 ? n : fib_sequential(n - 1) + fib_sequential(n - 2);
}

/* A task (intptr_t fn(void *arg)): fib(n - 1) is spawned as a green thread, fib(n - 2)
 * computed meanwhile on this one. A failed spn_* call makes the result -1. */
intptr_t fib_task(void *arg)
{
    intptr_t n = (intptr_t) arg;
    if (n < SPAWN_FROM)
        return fib_sequential(n);
    spn_task_t *left;
    if (spn_spawn(fib_task, (void *) (n - 1), &left) != SPN_OK)
        return -1;
    intptr_t right = fib_task((void *) (n - 2));
    intptr_t l;
    if (spn_join(left, &l) != SPN_OK) /* joined even when `right` failed: a handle is given back once */
        return -1;
    return l < 0 || right < 0 ? -1 : l + right;
}
