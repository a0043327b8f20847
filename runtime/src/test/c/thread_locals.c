/*
 * thread_locals.c: what a new thread must find at its initial values, the same on a raw
 * thread and on a pthread: __thread variables (data and bss), a C++ thread_local with a
 * constructor (thread_locals.cpp), pthread keys below and above 31 (glibc keeps the first 32
 * values in the TCB, the rest in blocks it allocates), the thread-locals of libraries
 * dlopen'ed late (late_tls.c), and libc's own: errno, h_errno, the locale, dlerror. Each
 * check leaves everything dirty, so that the next thread on the same TCB would see it.
 * Test-only: never shipped.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <locale.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int spn_test_cxx_tally_fresh(void);
void spn_test_cxx_tally_dirty(void);

#define TLS_DATA_INITIAL 17

static __thread int tls_data = TLS_DATA_INITIAL;
static __thread long tls_bss;

/* Bits of spn_test_tls_check_and_dirty's answer; ThreadLocalsTest names them in this order. */
enum {
    STALE_TLS_DATA = 1 << 0,
    STALE_TLS_BSS = 1 << 1,
    STALE_CXX_THREAD_LOCAL = 1 << 2,
    STALE_KEY_LOW = 1 << 3,
    STALE_KEY_HIGH = 1 << 4,
    STALE_LATE_DYNAMIC = 1 << 5,
    STALE_LATE_STATIC = 1 << 6,
    STALE_ERRNO = 1 << 7,
    STALE_H_ERRNO = 1 << 8,
    STALE_LOCALE = 1 << 9,
    STALE_DLERROR = 1 << 10,
};

#define KEYS_CREATED 40 /* enough that the last is above 31 whatever the JVM took */

static pthread_key_t key_low, key_high, key_rearming;
static locale_t dirty_locale;
static _Atomic long key_destructor_calls;
static _Atomic long rearm_calls;

struct late_library {
    int (*dynamic_get)(void);
    void (*dynamic_set)(int);
    int (*static_get)(void);
    void (*static_set)(int);
    int dynamic_initial;
    int static_initial;
};
#define LATE_LIBRARIES 2
static struct late_library late[LATE_LIBRARIES];

static void count_and_free(void *value)
{
    atomic_fetch_add(&key_destructor_calls, 1);
    free(value);
}

/* Sets itself again every time, as code that uses its key in a destructor does: glibc calls it
 * PTHREAD_DESTRUCTOR_ITERATIONS times, then drops the value. */
static void rearm(void *value)
{
    atomic_fetch_add(&rearm_calls, 1);
    pthread_setspecific(key_rearming, value);
}

/* Called once from Java. 0, or which step failed. */
int spn_test_tls_setup(void)
{
    pthread_key_t keys[KEYS_CREATED];
    for (int i = 0; i < KEYS_CREATED; i++) {
        if (pthread_key_create(&keys[i], count_and_free) != 0)
            return 1;
    }
    key_low = keys[0];
    key_high = keys[KEYS_CREATED - 1];
    for (int i = 1; i < KEYS_CREATED - 1; i++)
        pthread_key_delete(keys[i]);
    if (key_low >= 32 || key_high < 32)
        return 2;
    if (pthread_key_create(&key_rearming, rearm) != 0)
        return 3;
    dirty_locale = newlocale(LC_ALL_MASK, "C", (locale_t) 0);
    return dirty_locale ? 0 : 4;
}

/* dlopens a late_tls build into slot 0 or 1. 0, or -1 with nothing loaded. */
int spn_test_tls_load_late(int slot, const char *path)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib || slot < 0 || slot >= LATE_LIBRARIES)
        return -1;
    struct late_library l = {
        .dynamic_get = (int (*)(void)) dlsym(lib, "spn_late_dynamic_get"),
        .dynamic_set = (void (*)(int)) dlsym(lib, "spn_late_dynamic_set"),
        .static_get = (int (*)(void)) dlsym(lib, "spn_late_static_get"),
        .static_set = (void (*)(int)) dlsym(lib, "spn_late_static_set"),
    };
    int (*dynamic_initial)(void) = (int (*)(void)) dlsym(lib, "spn_late_dynamic_initial");
    int (*static_initial)(void) = (int (*)(void)) dlsym(lib, "spn_late_static_initial");
    if (!l.dynamic_get || !l.dynamic_set || !l.static_get || !l.static_set || !dynamic_initial || !static_initial)
        return -1;
    l.dynamic_initial = dynamic_initial();
    l.static_initial = static_initial();
    late[slot] = l;
    return 0;
}

/* Which thread-locals this thread did not find at their initial values (STALE_ bits), and
 * then every one of them set to something else. */
intptr_t spn_test_tls_check_and_dirty(void *arg)
{
    int stale = 0;
    if (errno != 0)
        stale |= STALE_ERRNO;
    if (h_errno != 0)
        stale |= STALE_H_ERRNO;
    if (uselocale((locale_t) 0) != LC_GLOBAL_LOCALE)
        stale |= STALE_LOCALE;
    if (dlerror() != NULL)
        stale |= STALE_DLERROR;
    if (tls_data != TLS_DATA_INITIAL)
        stale |= STALE_TLS_DATA;
    if (tls_bss != 0)
        stale |= STALE_TLS_BSS;
    if (!spn_test_cxx_tally_fresh())
        stale |= STALE_CXX_THREAD_LOCAL;
    if (pthread_getspecific(key_low) != NULL)
        stale |= STALE_KEY_LOW;
    if (pthread_getspecific(key_high) != NULL)
        stale |= STALE_KEY_HIGH;
    const struct late_library *l = &late[0];
    if (l->dynamic_get && l->dynamic_get() != l->dynamic_initial)
        stale |= STALE_LATE_DYNAMIC;
    if (l->static_get && l->static_get() != l->static_initial)
        stale |= STALE_LATE_STATIC;

    tls_data = TLS_DATA_INITIAL + 1;
    tls_bss = 1;
    spn_test_cxx_tally_dirty();
    pthread_setspecific(key_low, malloc(16));
    pthread_setspecific(key_high, malloc(16));
    if (l->dynamic_set) {
        l->dynamic_set(l->dynamic_initial + 1);
        l->static_set(l->static_initial + 1);
    }
    uselocale(dirty_locale);
    dlopen("/nonexistent/spindle-test-library.so", RTLD_NOW); /* leaves a dlerror message */
    h_errno = TRY_AGAIN;
    errno = EIO;
    return stale;
}

/* Sets the key whose destructor sets it again. */
intptr_t spn_test_key_rearming(void *arg)
{
    pthread_setspecific(key_rearming, &rearm_calls);
    return 0;
}

long spn_test_key_destructor_calls(void) { return atomic_load(&key_destructor_calls); }
long spn_test_key_rearm_calls(void) { return atomic_load(&rearm_calls); }

/* The late library in slot 1's static TLS variable, after the gate opens (the test dlopens
 * the library while this thread waits). */
intptr_t spn_test_late_static_after_gate(void *gate)
{
    while (__atomic_load_n((int32_t *) gate, __ATOMIC_ACQUIRE) == 0)
        sched_yield();
    return late[1].static_get ? late[1].static_get() : -1;
}

/* Everything of libc's that holds memory per thread, used once: malloc's per-thread cache
 * filled (seven chunks in each of eight sizes), a key's block above 31, a dlerror message,
 * the message buffers of strerror and strsignal for numbers they do not know, the resolver
 * initialised. If any of it is lost when a thread ends, the heap grows with each thread. */
intptr_t spn_test_libc_memory_churn(void *arg)
{
    void *chunks[7 * 8];
    for (int size = 0; size < 8; size++)
        for (int i = 0; i < 7; i++)
            chunks[size * 7 + i] = malloc((size_t) (size + 1) * 96);
    for (int i = 0; i < 7 * 8; i++)
        free(chunks[i]);
    pthread_setspecific(key_high, malloc(16));
    dlopen("/nonexistent/spindle-test-library.so", RTLD_NOW);
    int ok = strerror(123456) != NULL && strsignal(SIGRTMIN + 1) != NULL;
    res_init();
    return ok ? 0 : 1;
}

/* Bytes malloc has handed out and not had back, over every arena, mmapped chunks included. */
int64_t spn_test_malloc_in_use(void)
{
    struct mallinfo2 m = mallinfo2();
    return (int64_t) (m.uordblks + m.hblkhd);
}

struct pthread_run {
    intptr_t (*fn)(void *);
    void *arg;
    intptr_t result;
};

static void *pthread_run_main(void *p)
{
    struct pthread_run *run = p;
    run->result = run->fn(run->arg);
    return NULL;
}

/* fn(arg) on a new pthread, joined: the reference every raw-thread answer is compared with.
 * 0 and the result in *result, or the error of pthread_create. */
int spn_test_on_pthread(intptr_t (*fn)(void *), void *arg, int64_t *result)
{
    struct pthread_run run = {fn, arg, 0};
    pthread_t thread;
    int err = pthread_create(&thread, NULL, pthread_run_main, &run);
    if (err)
        return err;
    pthread_join(thread, NULL);
    *result = run.result;
    return 0;
}

/* A pthread started now and joined later (spn_test_pthread_join), for tests that need one
 * alive while something happens. NULL if it could not start. */
void *spn_test_pthread_start(intptr_t (*fn)(void *), void *arg)
{
    struct pthread_run *run = malloc(sizeof *run + sizeof(pthread_t));
    if (!run)
        return NULL;
    *run = (struct pthread_run){fn, arg, 0};
    if (pthread_create((pthread_t *) (run + 1), NULL, pthread_run_main, run) != 0) {
        free(run);
        return NULL;
    }
    return run;
}

int64_t spn_test_pthread_join(void *handle)
{
    struct pthread_run *run = handle;
    pthread_join(*(pthread_t *) (run + 1), NULL);
    intptr_t result = run->result;
    free(run);
    return result;
}
