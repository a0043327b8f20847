/*
 * test_tasks.c: the tasks every module's native tests share: an identity, a sleep and a
 * gate that Java opens. Compiled into each test library (runtime's and scheduler's) from
 * this one file. Test-only: never shipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

intptr_t spn_test_return_arg(void *arg) { return (intptr_t) arg; }

intptr_t spn_test_sleep_ms(void *arg)
{
    long ms = (long) (intptr_t) arg;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    return ms;
}

/* Blocks its thread (a raw thread, or a worker) until Java opens the gate: a task that runs
   as long as the test wants. Returns 7. */
intptr_t spn_test_wait_gate(void *arg)
{
    int32_t *gate = arg;
    while (__atomic_load_n(gate, __ATOMIC_ACQUIRE) == 0)
        syscall(SYS_futex, gate, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    return 7;
}

void spn_test_open_gate(int32_t *gate)
{
    __atomic_store_n(gate, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, gate, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
