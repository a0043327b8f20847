/*
 * bench_native.c: the native side of Spindle's JMH suites (libspindle_bench.so).
 *
 * Two task functions of Spindle's task shape, intptr_t fn(void *arg), that every alternative
 * runs (Spindle's workers call them by address, Java threads through JNA direct mapping,
 * pthreads through the helpers below):
 *   bench_identity  returns its argument: the cost of the machinery alone.
 *   bench_work      BENCH_WORK_STEPS dependent LCG steps: about 1 us of CPU on the
 *                   reference machine (2-core AMD EPYC VM); NativeCallBenchmark measures it.
 *
 * And the pthread-per-task baselines, so that thread creation is measured without any JVM
 * in between: one create+join per call, or a batch of N threads with bounded concurrency.
 * Every join has a deadline (pthread_timedjoin_np), so a lost thread cannot hang a run.
 *
 * For the green-thread suites (the task code that calls spindle.h is in bench_green.c):
 *   bench_fib_sequential  plain recursive fib, the floor of ForkJoinFibBenchmark;
 *   bench_futex_pingpong  two pthreads handing a turn to each other over a futex word, the
 *                         kernel's baseline for YieldPingPongBenchmark.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define BENCH_EXPORT __attribute__((visibility("default")))

/* Calibrated so that bench_work takes ~1 us here: a dependent 64-bit multiply-add chain
 * (Knuth's MMIX constants) cannot overlap, so each step costs the multiply's latency. */
#define BENCH_WORK_STEPS 920

/* Errors of the helpers (positive errno values come from pthread_create/join). */
#define BENCH_ETIMEDOUT ETIMEDOUT

typedef intptr_t (*task_fn)(void *);

/* Reads the address arg (an invalid one): the fault that ends an isolated pool's child in
 * IsolatedRestartBenchmark. */
BENCH_EXPORT intptr_t bench_crash(void *arg)
{
    return *(volatile intptr_t *) arg;
}

BENCH_EXPORT intptr_t bench_identity(void *arg)
{
    return (intptr_t) arg;
}

BENCH_EXPORT intptr_t bench_work(void *arg)
{
    uint64_t x = (uint64_t) (uintptr_t) arg;
    for (int i = 0; i < BENCH_WORK_STEPS; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        /* Keeps the compiler from folding the affine recurrence into a closed form. */
        __asm__ volatile("" : "+r"(x));
    }
    return (intptr_t) (x >> 1); /* non-negative, so sums in Java stay easy to read */
}

BENCH_EXPORT int64_t bench_work_steps(void)
{
    return BENCH_WORK_STEPS;
}

/* ---- pthread per task ----------------------------------------------------------------------- */

struct call {
    task_fn fn;
    void *arg;
    intptr_t result;
};

static void *trampoline(void *p)
{
    struct call *c = p;
    c->result = c->fn(c->arg);
    return NULL;
}

static struct timespec deadline_after(int64_t timeout_ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* pthread_timedjoin_np measures CLOCK_REALTIME */
    int64_t ns = ts.tv_nsec + timeout_ns % 1000000000;
    ts.tv_sec += timeout_ns / 1000000000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    return ts;
}

/*
 * One pthread_create + pthread_join of fn(arg); the result goes to *out. Returns 0, the
 * error of pthread_create, or ETIMEDOUT if the thread did not end within timeout_ns: then
 * the thread is detached and its call block leaked on purpose (it may still write it).
 * The block is malloc'd for that reason (~20 ns, noise next to a thread's creation).
 */
BENCH_EXPORT int bench_pthread_call(int64_t fn, int64_t arg, int64_t *out, int64_t timeout_ns)
{
    struct call *c = malloc(sizeof *c);
    if (!c)
        return ENOMEM;
    c->fn = (task_fn) (intptr_t) fn;
    c->arg = (void *) (intptr_t) arg;
    pthread_t t;
    int err = pthread_create(&t, NULL, trampoline, c);
    if (err) {
        free(c);
        return err;
    }
    struct timespec deadline = deadline_after(timeout_ns);
    err = pthread_timedjoin_np(t, NULL, &deadline);
    if (err) {
        pthread_detach(t);
        return err;
    }
    *out = c->result;
    free(c);
    return 0;
}

/*
 * n pthreads running fn(first + i) for i in [0, n), at most window of them alive at once
 * (a ring of handles: when it is full, the oldest is joined before the next is created).
 * The sum of the results goes to *sum. Returns 0, an error of pthread_create (after joining
 * what was started), or ETIMEDOUT if the batch did not end within timeout_ns: then the
 * threads still alive are detached and the call blocks leaked on purpose.
 */
BENCH_EXPORT int bench_pthread_batch(int64_t fn, int64_t first, int64_t n, int32_t window,
                                     int64_t *sum, int64_t timeout_ns)
{
    if (window < 1 || n < 0)
        return EINVAL;
    struct call *calls = calloc((size_t) window, sizeof *calls);
    pthread_t *threads = calloc((size_t) window, sizeof *threads);
    if (!calls || !threads) {
        free(calls);
        free(threads);
        return ENOMEM;
    }
    struct timespec deadline = deadline_after(timeout_ns);
    int64_t total = 0, started = 0, joined = 0;
    int err = 0;
    while (joined < started || (started < n && !err)) {
        if (!err && started < n && started - joined < window) {
            struct call *c = &calls[started % window];
            c->fn = (task_fn) (intptr_t) fn;
            c->arg = (void *) (intptr_t) (first + started);
            err = pthread_create(&threads[started % window], NULL, trampoline, c);
            if (!err)
                started++;
            continue;
        }
        int jerr = pthread_timedjoin_np(threads[joined % window], NULL, &deadline);
        if (jerr) {
            for (int64_t i = joined; i < started; i++)
                pthread_detach(threads[i % window]);
            free(threads);
            return jerr; /* calls leaked: the detached threads may still write them */
        }
        total += calls[joined % window].result;
        joined++;
    }
    free(calls);
    free(threads);
    *sum = total;
    return err;
}

/* ---- fib, sequentially ---------------------------------------------------------------------- */

BENCH_EXPORT int64_t bench_fib_sequential(int64_t n)
{
    return n < 2 ? n : bench_fib_sequential(n - 1) + bench_fib_sequential(n - 2);
}

/* ---- two pthreads handing off over a futex -------------------------------------------------- */

/*
 * The turn word holds the player whose turn it is (0 or 1), or FUTEX_GAME_ABORTED once the
 * caller gave up waiting. A player waits while the word holds the other player's number;
 * it hands over with a cas (not a store), so that it can never overwrite an abort.
 */
#define FUTEX_GAME_ABORTED (-1)

struct futex_game {
    int32_t turn;
    int32_t pad;
    int64_t rounds;
    int64_t handoffs[2]; /* each player's, written by that player only */
};

struct futex_player {
    struct futex_game *game;
    int32_t me;
};

static long futex(int32_t *word, int op, int32_t val)
{
    return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

static void *futex_player(void *arg)
{
    struct futex_player *p = arg;
    struct futex_game *g = p->game;
    const int32_t me = p->me, other = 1 - me;
    for (int64_t i = 0; i < g->rounds; i++) {
        int32_t turn;
        while ((turn = __atomic_load_n(&g->turn, __ATOMIC_ACQUIRE)) != me) {
            if (turn == FUTEX_GAME_ABORTED)
                return NULL;
            /* Might be woken up spuriously, or see the word change first: the loop rechecks. */
            futex(&g->turn, FUTEX_WAIT_PRIVATE, turn);
        }
        int32_t expected = me;
        if (!__atomic_compare_exchange_n(&g->turn, &expected, other, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return NULL; /* aborted while it was our turn */
        futex(&g->turn, FUTEX_WAKE_PRIVATE, 1);
        g->handoffs[me]++;
    }
    return NULL;
}

/*
 * Two pthreads take turns `rounds` times each: a round trip is player 0 handing the turn to
 * player 1 and back (each hand-over: a store to the word and FUTEX_WAKE; each wait:
 * FUTEX_WAIT until the word is ours). The threads are created and joined inside the call
 * (two creations per call, amortized over the rounds). *handoffs receives the hand-overs
 * done, 2 * rounds on success. Returns 0, an error of pthread_create, or ETIMEDOUT if the
 * game did not end within timeout_ns: then the word is set to FUTEX_GAME_ABORTED, the players
 * are woken and given another timeout_ns to leave, and if they do not they are detached
 * and the game leaked on purpose (they may still write it).
 */
BENCH_EXPORT int bench_futex_pingpong(int64_t rounds, int64_t *handoffs, int64_t timeout_ns)
{
    struct futex_game *g = calloc(1, sizeof *g);
    struct futex_player *players = calloc(2, sizeof *players);
    if (!g || !players) {
        free(g);
        free(players);
        return ENOMEM;
    }
    g->rounds = rounds;
    pthread_t t[2];
    int started = 0, err = 0;
    for (; started < 2; started++) {
        players[started] = (struct futex_player) {g, started};
        if ((err = pthread_create(&t[started], NULL, futex_player, &players[started])) != 0)
            break;
    }
    if (err) /* make the one started (if any) leave at once */
        __atomic_store_n(&g->turn, FUTEX_GAME_ABORTED, __ATOMIC_RELEASE);
    struct timespec deadline = deadline_after(timeout_ns);
    int late = 0;
    for (int i = 0; i < started; i++) {
        int jerr = pthread_timedjoin_np(t[i], NULL, &deadline);
        if (jerr == ETIMEDOUT && !late) {
            late = 1;
            __atomic_store_n(&g->turn, FUTEX_GAME_ABORTED, __ATOMIC_RELEASE);
            futex(&g->turn, FUTEX_WAKE_PRIVATE, INT_MAX);
            deadline = deadline_after(timeout_ns);
            jerr = pthread_timedjoin_np(t[i], NULL, &deadline);
        }
        if (jerr) {
            for (int k = i; k < started; k++)
                pthread_detach(t[k]);
            return jerr; /* g and players leaked: the detached threads may still touch them */
        }
    }
    *handoffs = g->handoffs[0] + g->handoffs[1];
    free(g);
    free(players);
    return err ? err : late ? ETIMEDOUT : 0;
}

/* ---- the real workload: CRC32C (Castagnoli) ------------------------------------------------ */

/* CRC32C of len bytes at buf, with the SSE4.2 instruction (the polynomial java.util.zip.CRC32C
 * uses, so Java can check every answer). */
__attribute__((target("sse4.2")))
static uint32_t crc32c(const unsigned char *p, uint64_t len)
{
    uint64_t crc = 0xffffffffu;
    while (len >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        crc = __builtin_ia32_crc32di(crc, word);
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = __builtin_ia32_crc32qi((uint32_t) crc, *p++);
    return (uint32_t) crc ^ 0xffffffffu;
}

BENCH_EXPORT int64_t bench_crc32c(int64_t buf, int64_t len)
{
    return crc32c((const unsigned char *) buf, (uint64_t) len);
}

/* A chunk to checksum, for the task form: arg points at {address, length}. */
struct bench_chunk {
    int64_t address;
    int64_t length;
};

BENCH_EXPORT intptr_t bench_crc32c_task(void *arg)
{
    const struct bench_chunk *c = arg;
    return crc32c((const unsigned char *) c->address, (uint64_t) c->length);
}

/* The single-threaded baseline: every chunk in turn, in one call; CRCs to out[]. */
BENCH_EXPORT void bench_crc32c_chunks(int64_t chunks, int64_t count, int64_t out)
{
    const struct bench_chunk *c = (const struct bench_chunk *) chunks;
    int64_t *results = (int64_t *) out;
    for (int64_t i = 0; i < count; i++)
        results[i] = crc32c((const unsigned char *) c[i].address, (uint64_t) c[i].length);
}
