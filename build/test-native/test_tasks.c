/*
 * test_tasks.c: the tasks every module's native tests share: an identity, a sleep, a gate
 * that Java opens, DNS look-ups. Compiled into each test library (runtime's and scheduler's) from
 * this one file. Test-only: never shipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
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
        syscall(SYS_futex, gate, FUTEX_WAIT, 0, NULL, NULL, 0); /* shared: the gate may be in an isolated pool's region */
    return 7;
}

void spn_test_open_gate(int32_t *gate)
{
    __atomic_store_n(gate, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, gate, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* What glibc says of the calling thread's stack (pthread_getattr_np), into out[0..3]: the
 * lowest usable address, the usable size, the guard size, and an address on the stack now.
 * Returns 0, or the error pthread_getattr_np gave. */
intptr_t spn_test_stack_bounds(void *arg)
{
    uintptr_t *out = arg;
    volatile char here = 0;
    pthread_attr_t attr;
    int err = pthread_getattr_np(pthread_self(), &attr);
    if (err)
        return err;
    void *low;
    size_t size, guard;
    pthread_attr_getstack(&attr, &low, &size);
    pthread_attr_getguardsize(&attr, &guard);
    pthread_attr_destroy(&attr);
    out[0] = (uintptr_t) low;
    out[1] = size;
    out[2] = guard;
    out[3] = (uintptr_t) &here;
    return 0;
}

/* printf of a number with 16,000 digits: glibc's helpers need ~80 KiB of scratch, on the
 * stack if __libc_alloca_cutoff allows it, else from malloc. Returns the length printed. */
intptr_t spn_test_wide_printf(void *arg)
{
    size_t size = 20000;
    char *buffer = malloc(size);
    if (!buffer)
        return -1;
    int n = snprintf(buffer, size, "%.16000f", 1.0);
    free(buffer);
    return n;
}

/* The calling thread's resolver state: sets its retry count to arg (if arg > 0) and returns
 * the count it found before. Threads that share one state see each other's counts. */
intptr_t spn_test_resolver_retry(void *arg)
{
    int before = _res.retry;
    if ((intptr_t) arg > 0)
        _res.retry = (int) (intptr_t) arg;
    return before;
}

/* Ends the calling thread (or task) with pthread_exit(arg). */
intptr_t spn_test_pthread_exit(void *arg)
{
    pthread_exit(arg);
}

static void set_flag(void *flag)
{
    *(volatile int64_t *) flag = 1;
}

/* pthread_exit(7) with a cleanup handler that sets *flag: glibc runs it while it unwinds. */
intptr_t spn_test_pthread_exit_cleanup(void *flag)
{
    pthread_cleanup_push(set_flag, flag);
    pthread_exit((void *) 7);
    pthread_cleanup_pop(0);
    return 0;
}

/* Registers a thread_local destructor (what C++ does for a thread_local object) that adds 1
 * to *counter when the thread ends; returns 0. */
extern int __cxa_thread_atexit_impl(void (*dtor)(void *), void *obj, void *dso_symbol);
extern void *__dso_handle;

static void count_destructor(void *counter)
{
    __atomic_fetch_add((int64_t *) counter, 1, __ATOMIC_RELAXED);
}

intptr_t spn_test_thread_local_destructor(void *counter)
{
    return __cxa_thread_atexit_impl(count_destructor, counter, &__dso_handle);
}

/* ---- DNS look-ups against the test's own server --------------------------------------------- */

/* arg: the server's UDP port on 127.0.0.1 in the low 16 bits, the number of look-ups above.
 * Points this thread's resolver at the server, then asks getaddrinfo (A and AAAA) for
 * h<i>.spindle.test., which the server answers with 127.0.<i / 250>.<i % 250 + 1>. Returns
 * the look-ups that failed or gave another address. */
intptr_t spn_test_dns_lookups(void *arg)
{
    uint16_t port = (uint16_t) ((uintptr_t) arg & 0xffff);
    int lookups = (int) ((uintptr_t) arg >> 16);
    if (res_init() != 0)
        return lookups;
    _res.nscount = 1;
    _res.nsaddr_list[0].sin_family = AF_INET;
    _res.nsaddr_list[0].sin_port = htons(port);
    _res.nsaddr_list[0].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    _res.retrans = 2; /* seconds: the server is local; a lost answer is a failure, not a wait */
    _res.retry = 2;
    int failed = 0;
    for (int i = 0; i < lookups; i++) {
        char name[64];
        snprintf(name, sizeof name, "h%d.spindle.test.", i);
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
        struct addrinfo *found = NULL;
        int rc = getaddrinfo(name, NULL, &hints, &found);
        uint32_t want = (127u << 24) | ((uint32_t) (i / 250) << 8) | (uint32_t) (i % 250 + 1);
        int ok = rc == 0 && found && found->ai_family == AF_INET
                 && ((struct sockaddr_in *) found->ai_addr)->sin_addr.s_addr == htonl(want);
        if (found)
            freeaddrinfo(found);
        failed += !ok;
    }
    return failed;
}

static void *dns_lookups_main(void *arg)
{
    return (void *) spn_test_dns_lookups(arg);
}

/* The same on `threads` pthreads at once: the reference. The sum of their failures, or -1 if
 * a thread could not start. */
int64_t spn_test_dns_lookups_on_pthreads(int threads, int64_t arg)
{
    pthread_t t[64];
    if (threads < 1 || threads > 64)
        return -1;
    int started = 0;
    for (; started < threads; started++)
        if (pthread_create(&t[started], NULL, dns_lookups_main, (void *) (intptr_t) arg) != 0)
            break;
    int64_t failed = started == threads ? 0 : -1;
    for (int i = 0; i < started; i++) {
        void *r;
        pthread_join(t[i], &r);
        if (failed >= 0)
            failed += (intptr_t) r;
    }
    return failed;
}
