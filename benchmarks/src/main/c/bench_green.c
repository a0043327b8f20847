/*
 * bench_green.c: task code for the green-thread suites (ForkJoinFibBenchmark,
 * SpawnJoinBenchmark, YieldPingPongBenchmark), written against spindle.h like any user's
 * task library: spn_* stay undefined here (-Wl,-z,undefs) and bind to the scheduler library
 * when libspindle_bench.so loads, so Java loads the scheduler library first (BenchNative).
 *
 * Every entry point is a task (intptr_t fn(void *arg)) that Java spawns on a Spindle and
 * joins with a deadline; a failed spn_* call makes it return BENCH_SPN_FAILED(result), a
 * negative number no correct answer can be, so Java's one check of the answer reports it.
 */
#define _GNU_SOURCE
#include "spindle.h"

#include <stddef.h>
#include <stdint.h>

#define BENCH_EXPORT __attribute__((visibility("default")))

/* -1000 - result: negative, and the spindle.h result code can be read back from it. */
#define BENCH_SPN_FAILED(result) ((intptr_t) (-1000 - (result)))

intptr_t bench_identity(void *arg); /* bench_native.c: the trivial child */
int64_t bench_fib_sequential(int64_t n);

/* ---- fib(n) with a spawn per call ---------------------------------------------------------- */

/*
 * arg: n | cutoff << 32. For n >= cutoff (and n >= 2): spawn fib(n-1) as a child, compute
 * fib(n-2) on this green thread, join the child. Below the cutoff: the sequential C function.
 * With cutoff 2 this is a task per call all the way down (every call with n >= 2 spawns).
 */
BENCH_EXPORT intptr_t bench_spn_fib(void *arg)
{
    intptr_t packed = (intptr_t) arg;
    intptr_t n = packed & 0xffffffff, cutoff = packed >> 32;
    if (n < cutoff || n < 2)
        return bench_fib_sequential(n);
    spn_task_t *left;
    int r = spn_spawn(bench_spn_fib, (void *) ((n - 1) | cutoff << 32), &left);
    if (r != SPN_OK)
        return BENCH_SPN_FAILED(r);
    intptr_t right = bench_spn_fib((void *) ((n - 2) | cutoff << 32));
    intptr_t l;
    r = spn_join(left, &l);
    if (r != SPN_OK)
        return BENCH_SPN_FAILED(r);
    if (l < 0 || right < 0) /* a failure below: pass it up unchanged */
        return l < 0 ? l : right;
    return l + right;
}

/* ---- spawn + join of one trivial child, n times -------------------------------------------- */

/* arg: n. Returns the sum of the children's results, 0 + 1 + ... + (n-1). */
BENCH_EXPORT intptr_t bench_spn_spawn_join_loop(void *arg)
{
    int64_t n = (intptr_t) arg;
    intptr_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        spn_task_t *child;
        int r = spn_spawn(bench_identity, (void *) (intptr_t) i, &child);
        if (r != SPN_OK)
            return BENCH_SPN_FAILED(r);
        intptr_t v;
        r = spn_join(child, &v);
        if (r != SPN_OK)
            return BENCH_SPN_FAILED(r);
        sum += v;
    }
    return sum;
}

/* ---- two green threads yielding to each other ---------------------------------------------- */

struct yield_game {
    int64_t rounds;
    int64_t last; /* the player that ran last: plain accesses, both players share one worker */
};

struct yield_player {
    struct yield_game *game;
    int64_t me;
};

/* Takes `rounds` turns, yielding after each; counts the turns that followed the other
 * player's (strict alternation is what makes one yield + the other's yield a round trip). */
static intptr_t yield_player(void *arg)
{
    struct yield_player *p = arg;
    struct yield_game *g = p->game;
    const int64_t rounds = g->rounds, me = p->me;
    intptr_t alternated = 0;
    for (int64_t i = 0; i < rounds; i++) {
        alternated += g->last != me;
        g->last = me;
        int r = spn_yield();
        if (r != SPN_OK)
            return BENCH_SPN_FAILED(r);
    }
    return alternated;
}

/*
 * arg: rounds. Spawns two players and joins them: each round trip is one yield by each.
 * Returns the turns that alternated, 2 * rounds when every yield went to the other player.
 * Meant for a Spindle with one worker: with more, a player may be stolen to another worker
 * before it starts, and the plain `last` would be shared across CPUs.
 */
BENCH_EXPORT intptr_t bench_spn_yield_pingpong(void *arg)
{
    struct yield_game game = {.rounds = (intptr_t) arg, .last = -1};
    /* On this stack: the players end before we return (we join both). */
    struct yield_player players[2] = {{&game, 0}, {&game, 1}};
    spn_task_t *t[2];
    for (int i = 0; i < 2; i++) {
        int r = spn_spawn(yield_player, &players[i], &t[i]);
        if (r != SPN_OK) {
            if (i == 1)
                spn_join(t[0], NULL);
            return BENCH_SPN_FAILED(r);
        }
    }
    intptr_t total = 0, failed = 0;
    for (int i = 0; i < 2; i++) {
        intptr_t v;
        int r = spn_join(t[i], &v);
        if (r != SPN_OK)
            failed = BENCH_SPN_FAILED(r);
        else if (v < 0)
            failed = v;
        else
            total += v;
    }
    return failed ? failed : total;
}
