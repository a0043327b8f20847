/*
 * sched_test.c: tasks the scheduler's tests run on the workers, and a C consumer for the
 * ring sanity suite. Test-only: never shipped. The tasks every test library shares
 * (return_arg, sleep_ms, the gate) are in build/test-native/test_tasks.c.
 */
#define _GNU_SOURCE
#include "spindle_sched.h"
#include "ring.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Each task owns one int: it must end at exactly 1 (not lost, not run twice). */
intptr_t spn_test_increment(void *arg)
{
    int32_t *slot = arg;
    __atomic_fetch_add(slot, 1, __ATOMIC_RELAXED);
    return 0;
}

/* About a microsecond of arithmetic, for tests and benchmarks that want a non-trivial task. */
intptr_t spn_test_work_1us(void *arg)
{
    uint64_t x = (uint64_t) (intptr_t) arg | 1;
    for (int i = 0; i < 300; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (intptr_t) (x >> 1);
}

/* libc on a worker: malloc/free and snprintf; returns the formatted length, or -1. */
intptr_t spn_test_malloc_snprintf(void *arg)
{
    long n = (long) (intptr_t) arg;
    char *buf = malloc(64);
    if (!buf)
        return -1;
    int len = snprintf(buf, 64, "task-%ld", n);
    char *copy = strdup(buf);
    int ok = copy && strcmp(copy, buf) == 0;
    free(copy);
    free(buf);
    return ok ? len : -1;
}

/*
 * The ring sanity suite's C consumer, run on a raw thread: polls `expected` elements from
 * the ring into out[], in the order taken. Returns how many it took (it gives up after
 * ~10 s without an element, so a lost element fails the test instead of hanging it).
 */
struct consume_args {
    int64_t ring;
    int64_t out;
    int64_t expected;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

intptr_t spn_test_ring_consume(void *arg)
{
    struct consume_args *a = arg;
    struct spn_ring *r = (struct spn_ring *) a->ring;
    int64_t *out = (int64_t *) a->out;
    int64_t taken = 0;
    int64_t give_up = now_ns() + 10 * INT64_C(1000000000);
    for (unsigned empty = 0; taken < a->expected;) {
        int64_t e = ring_poll(r);
        if (e) {
            out[taken++] = e;
            empty = 0;
            continue;
        }
        if ((++empty & 1023) == 0) {
            int64_t now = now_ns();
            if (empty == 1024)
                give_up = now + 10 * INT64_C(1000000000); /* 10 s without progress */
            else if (now > give_up)
                break;
        }
    }
    return taken;
}
