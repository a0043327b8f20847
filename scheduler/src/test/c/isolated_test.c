/*
 * isolated_test.c: tasks that misbehave, for the isolated pools' tests (IsolatedPoolTest):
 * each does one thing a task in an isolated child must not be able to do to the JVM, or one
 * thing the child's containment must stop. Test-only: never shipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "spindle.h"

/* Reads the address arg (0x10 in the test): a fault there. */
intptr_t spn_test_crash_segv(void *arg)
{
    volatile int *p = arg;
    return *p;
}

intptr_t spn_test_crash_abort(void *arg)
{
    abort();
}

intptr_t spn_test_crash_exit(void *arg)
{
    exit((int) (intptr_t) arg);
}

/* SIGBUS as a decoder gets it from a file that shrank under its mapping: a one-page memfd
 * mapped for two pages, the second touched (past the end of the file). -errno if a call
 * fails (the filter must allow memfd_create and ftruncate). */
intptr_t spn_test_crash_bus(void *arg)
{
    long page = sysconf(_SC_PAGESIZE);
    int fd = memfd_create("spn-test-bus", 0);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, page) != 0)
        return -errno;
    volatile char *p = mmap(NULL, 2 * (size_t) page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    p[0] = 1;
    return p[page]; /* past the end of the file */
}

/* Takes arg MiB and touches every page, never giving it back: the OOM killer's case in a
 * memory cgroup smaller than that. Returns what it touched if nothing stopped it. */
intptr_t spn_test_eat_memory(void *arg)
{
    size_t bytes = (size_t) (intptr_t) arg << 20;
    long page = sysconf(_SC_PAGESIZE);
    volatile char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    intptr_t touched = 0;
    for (size_t i = 0; i < bytes; i += (size_t) page, touched++)
        p[i] = 1;
    return touched;
}

/* Never returns by itself: the deadline's case. */
intptr_t spn_test_spin_forever(void *arg)
{
    volatile uint64_t n = 0;
    for (;;)
        n++;
    return 0;
}

/* Sleeps arg milliseconds, then returns arg. */
intptr_t spn_test_nap(void *arg)
{
    struct timespec ts = {(intptr_t) arg / 1000, ((intptr_t) arg % 1000) * 1000000};
    nanosleep(&ts, NULL);
    return (intptr_t) arg;
}

/* Writes 42 at arg and returns what it read first: shared memory is the child's too. */
intptr_t spn_test_write_42(void *arg)
{
    int64_t *p = arg;
    int64_t before = *p;
    *p = 42;
    return before;
}

intptr_t spn_test_getpid_raw(void *arg) { return syscall(SYS_getpid); }

/* Each returns what the call returned (or -errno); the filter ends the child first. */
intptr_t spn_test_open_file(void *arg)
{
    int fd = open((const char *) arg, O_RDONLY);
    return fd >= 0 ? fd : -errno;
}

intptr_t spn_test_open_socket(void *arg)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    return fd >= 0 ? fd : -errno;
}

intptr_t spn_test_kill_pid(void *arg)
{
    return kill((pid_t) (intptr_t) arg, 0) == 0 ? 0 : -errno;
}

intptr_t spn_test_ptrace_pid(void *arg)
{
    return ptrace(PTRACE_ATTACH, (pid_t) (intptr_t) arg, NULL, NULL) == 0 ? 0 : -errno;
}

intptr_t spn_test_fork(void *arg)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    return p > 0 ? p : -errno;
}

/* Connects to 127.0.0.1:arg; 0, or -errno. */
intptr_t spn_test_connect_loopback(void *arg)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t) (intptr_t) arg),
                             .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)}};
    int rc = connect(fd, (struct sockaddr *) &to, sizeof to) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static intptr_t stack_size_here(void *arg)
{
    pthread_attr_t attr;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstacksize(&attr, &size);
        pthread_attr_destroy(&attr);
    }
    return (intptr_t) size;
}

/* The stack size of the worker running the task (its own stack, not the green thread's):
 * Spindle.builder().workerStackSize, in the child as in the JVM. -1 off a worker. */
intptr_t spn_test_worker_stack_size(void *arg)
{
    intptr_t size;
    return spn_call_on_worker_stack(stack_size_here, NULL, &size) == SPN_OK ? size : -1;
}
