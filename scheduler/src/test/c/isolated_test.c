/*
 * isolated_test.c: tasks that misbehave, for the isolated pools' tests (IsolatedPoolTest):
 * each does one thing a task in an isolated child must not be able to do to the JVM, or one
 * thing the child's containment must stop. Test-only: never shipped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

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
