/*
 * sched.c: Spindle's workers: raw clone threads that run native tasks submitted from Java.
 *
 * THE PROBLEM. Java threads submit tasks into an off-heap ring (ring.h); C workers poll it.
 * A worker with nothing to do must not burn a core forever, so it sleeps on a futex. A
 * submitter must then wake it, and a wake is a system call (~1 us here) plus a cross-CPU
 * wake-up (tens of us). Waking on every submission would cost more than the tasks, and
 * would be pointless while some worker is awake and looking anyway. Sleeping too eagerly
 * loses the next task's latency; not at all loses a core.
 *
 * REJECTED. A condition variable per worker (a lock and a syscall per submission). A
 * submitter that always FUTEX_WAKEs (a syscall per task). Workers that poll with sleeps
 * (latency, and CPU at idle). A single "someone sleeps" flag without a spinning count (a
 * burst of submissions would wake every worker at once: a thundering herd on 2 cores).
 *
 * THE RULE (Go's scheduler, proc.go: wakep and the spinning Ms):
 *   - An idle worker first *spins* (polls without sleeping) for spin_ns; nspinning counts
 *     such workers, and at most half of the workers spin at once. Then it parks: nparked++,
 *     re-check the ring, FUTEX_WAIT on wake_seq.
 *   - A submitter, after publishing its task, issues a full fence (StoreLoad) and wakes one
 *     worker only if nobody spins (nspinning == 0) and somebody sleeps (nparked > 0), and
 *     only if no wake-up is already on its way (cas waking 0 -> 1). One wake at a time.
 *   - A spinning worker that finds work stops spinning; if it was the last spinner and
 *     workers sleep, it wakes one more, in case more work follows (the wake chains through
 *     the workers as long as work keeps coming).
 * So a busy runtime costs no system call per task, an idle one costs no CPU after spin_ns,
 * and a burst wakes the workers one by one.
 *
 * WHY NO WAKE-UP IS LOST (the delicate dance, see park() and wake_one()):
 *   submitter:  publish task; fence;  read nspinning, nparked, waking
 *   worker:     epoch = wake_seq; nparked++ (seq-cst); nspinning-- (seq-cst); re-check ring;
 *               futex_wait(wake_seq, epoch)
 *   Both sides store then load with a full fence between (Dekker): either the worker's
 *   re-check sees the task, or the submitter sees nparked > 0 and nspinning == 0 and wakes.
 *   A wake that comes after the epoch was read changes wake_seq, so the futex_wait returns
 *   at once instead of sleeping through it. If the submitter saw nspinning > 0, that spinner
 *   had not yet decremented it, so its later re-check sees the task. If it saw waking == 1,
 *   the wake-up in flight either reaches a sleeper, which clears waking *before* it polls
 *   and so sees the task, or reaches nobody, and then its sender clears waking and looks at
 *   the ring again itself (wake_one). A waking flag that nobody clears would stop every
 *   later wake-up: each path that sets it has exactly one way to clear it.
 *
 * Joins use the same discipline on each task's state word: the joiner sets a waiter bit
 * with a cas and sleeps on the word; the worker exchanges in DONE and wakes only if the old
 * value had the bit. A join of a finished task is a load.
 */
#define _GNU_SOURCE
#include "spindle_sched.h"
#include "ring.h"
#include "worker.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define lv_i32(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define sv_i32(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define xadd(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define xchg(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define stat_inc(p) __atomic_store_n((p), __atomic_load_n((p), __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED)

static inline void cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static int futex_wait(void *word, uint32_t expected, const struct timespec *rel)
{
    return (int) syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, rel, NULL, 0);
}

/* Returns how many sleepers were woken. */
static long futex_wake(void *word, int n)
{
    return syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec to_timespec(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return ts;
}

/* ---- layout ------------------------------------------------------------------------------ */

SPN_EXPORT int64_t spn_sched_layout(int key)
{
    switch ((enum spn_layout_key) key) {
    case SPN_L_RING_PRODUCER_INDEX: return offsetof(struct spn_ring, producer_index);
    case SPN_L_RING_CONSUMER_INDEX: return offsetof(struct spn_ring, consumer_index);
    case SPN_L_RING_CAPACITY: return offsetof(struct spn_ring, capacity);
    case SPN_L_RING_MASK: return offsetof(struct spn_ring, mask);
    case SPN_L_RING_SLOTS: return offsetof(struct spn_ring, slots);
    case SPN_L_RING_SLOT_SIZE: return sizeof(struct spn_ring_slot);
    case SPN_L_RING_SLOT_SEQUENCE: return offsetof(struct spn_ring_slot, sequence);
    case SPN_L_RING_SLOT_ELEMENT: return offsetof(struct spn_ring_slot, element);
    case SPN_L_TASK_SIZE: return sizeof(struct spn_task);
    case SPN_L_TASK_FN: return offsetof(struct spn_task, fn);
    case SPN_L_TASK_ARG: return offsetof(struct spn_task, arg);
    case SPN_L_TASK_RESULT: return offsetof(struct spn_task, result);
    case SPN_L_TASK_STATE: return offsetof(struct spn_task, state);
    case SPN_L_TASK_REFS: return offsetof(struct spn_task, refs);
    case SPN_L_TASK_INDEX: return offsetof(struct spn_task, index);
    case SPN_L_TASK_NEXT_FREE: return offsetof(struct spn_task, next_free);
    case SPN_L_TASK_GROUP: return offsetof(struct spn_task, group);
    case SPN_L_TASK_GROUP_SLOT: return offsetof(struct spn_task, group_slot);
    case SPN_L_TASK_WAITERS: return offsetof(struct spn_task, waiters);
    case SPN_L_TASK_FIBER: return offsetof(struct spn_task, fiber);
    case SPN_L_GROUP_STATE: return offsetof(struct spn_group, state);
    case SPN_L_GROUP_CANCELLED: return offsetof(struct spn_group, cancelled);
    case SPN_L_GROUP_REMAINING: return offsetof(struct spn_group, remaining);
    case SPN_L_GROUP_COUNT: return offsetof(struct spn_group, count);
    case SPN_L_GROUP_RESULTS: return offsetof(struct spn_group, results);
    case SPN_L_SCHED_SUBMIT: return offsetof(struct spn_sched, submit);
    case SPN_L_SCHED_COMPLETIONS: return offsetof(struct spn_sched, completions);
    case SPN_L_SCHED_POOL_CHUNK_COUNT: return offsetof(struct spn_sched, pool_chunk_count);
    case SPN_L_SCHED_POOL_HEAD: return offsetof(struct spn_sched, pool_head);
    case SPN_L_SCHED_NSPINNING: return offsetof(struct spn_sched, nspinning);
    case SPN_L_SCHED_NPARKED: return offsetof(struct spn_sched, nparked);
    case SPN_L_SCHED_WAKING: return offsetof(struct spn_sched, waking);
    case SPN_L_SCHED_WAKE_SEQ: return offsetof(struct spn_sched, wake_seq);
    case SPN_L_SCHED_SHUTDOWN: return offsetof(struct spn_sched, shutdown);
    case SPN_L_SCHED_CHUNKS: return offsetof(struct spn_sched, chunks);
    case SPN_L_SCHED_STATS: return offsetof(struct spn_sched, stats);
    case SPN_L_STATS_SIZE: return sizeof(struct spn_worker_stats);
    case SPN_L_STATS_TASKS_RUN: return offsetof(struct spn_worker_stats, tasks_run);
    case SPN_L_STATS_PARKS: return offsetof(struct spn_worker_stats, parks);
    case SPN_L_STATS_WAKEUPS: return offsetof(struct spn_worker_stats, wakeups);
    case SPN_L_STATS_STEALS: return offsetof(struct spn_worker_stats, steals);
    case SPN_L_STATS_CANCELLED: return offsetof(struct spn_worker_stats, cancelled);
    case SPN_L_STATS_TID: return offsetof(struct spn_worker_stats, tid);
    case SPN_L_STATS_STACKS: return offsetof(struct spn_worker_stats, stacks);
    case SPN_L_POOL_CHUNK: return SPN_POOL_CHUNK;
    case SPN_L_RING_CLOSED_BIT: return SPN_RING_CLOSED;
    case SPN_L_TASK_GROUP_END: return offsetof(struct spn_task, group_end);
    case SPN_L_KEY_COUNT: return SPN_L_KEY_COUNT;
    }
    return -1;
}

/* ---- rings -------------------------------------------------------------------------------- */

/*
 * The most slots a ring may have: Java reaches a ring through one direct-buffer view, which
 * ends at 2 GiB, and a slot is 16 bytes (Spindle.MAX_RING_CAPACITY says the same).
 */
#define SPN_RING_MAX_CAPACITY (INT64_C(1) << 26)

/*
 * Every slot's sequence starts at its index, so the whole ring is written here and is
 * resident from the start (1 GiB at the largest). glibc serves a block this large with a
 * mapping of its own, so spn_ring_destroy's free gives it back to the kernel at once.
 */
SPN_EXPORT struct spn_ring *spn_ring_create(int64_t capacity)
{
    if (capacity < 2 || capacity > SPN_RING_MAX_CAPACITY || (capacity & (capacity - 1)) != 0)
        return NULL;
    size_t size = sizeof(struct spn_ring) + (size_t) capacity * sizeof(struct spn_ring_slot);
    struct spn_ring *r = aligned_alloc(SPN_CACHE_LINE, (size + SPN_CACHE_LINE - 1) & ~(size_t) (SPN_CACHE_LINE - 1));
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->capacity = capacity;
    r->mask = capacity - 1;
    for (int64_t i = 0; i < capacity; i++) {
        r->slots[i].sequence = i;
        r->slots[i].element = 0;
    }
    return r;
}

SPN_EXPORT void spn_ring_destroy(struct spn_ring *r) { free(r); }

/* ---- the descriptor pool ------------------------------------------------------------------ */

static inline struct spn_task *task_at(struct spn_sched *s, int32_t index)
{
    struct spn_task *chunk = (struct spn_task *) s->chunks[index >> SPN_POOL_CHUNK_SHIFT];
    return &chunk[index & (SPN_POOL_CHUNK - 1)];
}

/* Pushes the chain first..last (already linked through next_free) in one cas. A push never
 * suffers ABA (it does not read the old head's successor); the tag still advances so that
 * a concurrent pop that read the old head fails its cas. */
static void pool_push_chain(struct spn_sched *s, struct spn_task *first, struct spn_task *last)
{
    uint64_t head = __atomic_load_n(&s->pool_head, __ATOMIC_ACQUIRE);
    for (;;) {
        __atomic_store_n(&last->next_free, (int32_t) (head & 0xffffffffu), __ATOMIC_RELAXED);
        uint64_t next = ((head >> 32) + 1) << 32 | (uint32_t) (first->index + 1);
        if (__atomic_compare_exchange_n(&s->pool_head, &head, next, 0, __ATOMIC_RELEASE,
                                        __ATOMIC_ACQUIRE))
            return;
    }
}

/* Adds a chunk of descriptors when the pool is empty. Java (spawn) and workers (spn_spawn)
 * both call it; the mutex makes one of them do it. Returns 0 at the limit or on ENOMEM. */
static pthread_mutex_t pool_grow_lock = PTHREAD_MUTEX_INITIALIZER;

SPN_EXPORT int spn_pool_grow(struct spn_sched *s)
{
    pthread_mutex_lock(&pool_grow_lock);
    int grown = 1;
    if ((uint32_t) __atomic_load_n(&s->pool_head, __ATOMIC_ACQUIRE) == 0) {
        int64_t n = s->pool_chunk_count;
        struct spn_task *chunk = n < SPN_POOL_MAX_CHUNKS
            ? mmap(NULL, SPN_POOL_CHUNK * sizeof(struct spn_task), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
            : MAP_FAILED;
        if (chunk == MAP_FAILED) {
            grown = 0;
        } else {
            for (int i = 0; i < SPN_POOL_CHUNK; i++) {
                chunk[i].index = (int32_t) (n * SPN_POOL_CHUNK + i);
                chunk[i].next_free = i + 1 < SPN_POOL_CHUNK ? chunk[i].index + 2 : 0;
            }
            /* Published before any of its descriptors can be popped: Java maps chunks lazily
             * from this table when it meets an index it does not know yet. */
            __atomic_store_n(&s->chunks[n], (int64_t) chunk, __ATOMIC_RELEASE);
            __atomic_store_n(&s->pool_chunk_count, n + 1, __ATOMIC_RELEASE);
            pool_push_chain(s, &chunk[0], &chunk[SPN_POOL_CHUNK - 1]);
        }
    }
    pthread_mutex_unlock(&pool_grow_lock);
    return grown;
}

/* Pops a free descriptor from the shared pool; the tag in the head defeats ABA. */
static struct spn_task *pool_pop(struct spn_sched *s)
{
    for (;;) {
        uint64_t head = __atomic_load_n(&s->pool_head, __ATOMIC_ACQUIRE);
        uint32_t top = (uint32_t) head;
        if (top == 0) {
            if (!spn_pool_grow(s))
                return NULL;
            continue;
        }
        struct spn_task *t = task_at(s, (int32_t) (top - 1));
        /* Racy read: if t was popped meanwhile, the tag makes the cas fail. */
        uint32_t next = (uint32_t) __atomic_load_n(&t->next_free, __ATOMIC_RELAXED);
        uint64_t new_head = ((head >> 32) + 1) << 32 | next;
        if (__atomic_compare_exchange_n(&s->pool_head, &head, new_head, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return t;
    }
}

/* ---- completing a task ------------------------------------------------------------------- */

static void tell_poller(struct spn_sched *s, int64_t element)
{
    struct spn_ring *completions = (struct spn_ring *) s->completions;
    /* The ring is large and the poller never waits for workers, so a full ring only means
     * the poller is behind: let it catch up. Dropping would lose a wake-up. */
    while (!ring_offer(completions, element))
        sched_yield();
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* publish, then look: pairs with the poller's sleep */
    if (lv_i32(&s->poller_sleeping)) {
        xadd(&s->poller_seq, 1);
        futex_wake(&s->poller_seq, 1);
    }
}

/* Moves a word to its final state and wakes whoever registered to wait for it. */
static void finish_word(struct spn_sched *s, int32_t *state, int32_t final_state, int64_t element)
{
    int32_t old = xchg(state, final_state); /* seq-cst: the result is visible before DONE */
    if (old & SPN_TASK_WAITER_FUTEX)
        futex_wake(state, INT_MAX);
    if (old & SPN_TASK_WAITER_JAVA)
        tell_poller(s, element);
}

/*
 * Each worker keeps a small cache of free descriptors. Fork-join code spawns and joins on
 * the same worker over and over; through the shared pool every spawn and every join would
 * be a cas on one cache line that both CPUs want. The cache is private: no atomics. It
 * spills half of itself to the shared pool when full, and is filled from there when empty.
 */
#define TASK_CACHE_MAX 256

struct spn_task *spn_task_alloc(struct spn_worker *w)
{
    struct spn_task *t = w->task_cache;
    if (t) {
        w->task_cache = (struct spn_task *) t->arg;
        w->task_cache_count--;
        return t;
    }
    return pool_pop(w->sched);
}

void spn_task_free(struct spn_worker *w, struct spn_task *t)
{
    t->arg = (int64_t) w->task_cache;
    w->task_cache = t;
    if (++w->task_cache_count <= TASK_CACHE_MAX)
        return;
    /* Spill the older half as one chain: one cas for TASK_CACHE_MAX / 2 descriptors. */
    struct spn_task *keep = w->task_cache;
    for (int i = 1; i < TASK_CACHE_MAX / 2; i++)
        keep = (struct spn_task *) keep->arg;
    struct spn_task *first = (struct spn_task *) keep->arg, *last = first;
    keep->arg = 0;
    int spilled = 1;
    while (last->arg) {
        struct spn_task *next = (struct spn_task *) last->arg;
        last->next_free = next->index + 1;
        last = next;
        spilled++;
    }
    w->task_cache_count -= spilled;
    pool_push_chain(w->sched, first, last);
}

/* Drops one owner; the last one gives the descriptor back (to w's cache if on a worker). */
void spn_task_release(struct spn_worker *w, struct spn_task *t)
{
    if (xadd(&t->refs, -1) == 1)
        spn_task_free(w, t);
}

/* Puts a green thread that can run again into its own worker's ready queue, and wakes that
 * worker if it sleeps. Delicate dance: push, fence, then read parked; the worker sets
 * parked, fences, then looks at its ready queue. We cannot wake one chosen worker on the
 * shared futex, so we wake them all: only when the owner sleeps, which is rare under load. */
void spn_ready(struct spn_sched *s, struct spn_fiber *f)
{
    struct spn_worker *owner = f->owner;
    f->state = SPN_FIBER_READY;
    spn_mpsc_push(&owner->ready, f);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (lv_i32(&owner->parked)) {
        xadd(&s->wake_seq, 1);
        futex_wake(&s->wake_seq, INT_MAX);
    }
}

void spn_complete(struct spn_worker *w, struct spn_task *t, int64_t result, int32_t final_state)
{
    struct spn_sched *s = w->sched;
    struct spn_group *g = (struct spn_group *) t->group;
    if (g) {
        /* A chunk of a batch has no handle of its own: nobody can join it, wait on it or
         * hold it, so its descriptor needs no atomics; only the group's count is shared.
         * Its members wrote their results as they ended (green.c); result is unused. */
        int64_t members = t->group_end - t->group_slot;
        if (final_state != SPN_TASK_DONE)
            __atomic_store_n(&g->cancelled, 1, __ATOMIC_RELAXED);
        t->state = final_state;
        t->refs = 0;
        spn_task_free(w, t);
        if (xadd(&g->remaining, -members) == members) {
            /* The last task of the batch (the count is seq-cst, so every result is visible).
             * Low bit tags a group for the poller. */
            int32_t group_state = __atomic_load_n(&g->cancelled, __ATOMIC_RELAXED)
                                      ? SPN_TASK_CANCELLED : SPN_TASK_DONE;
            finish_word(s, &g->state, group_state, (int64_t) g | 1);
        }
        return;
    }
    t->result = result;
    finish_word(s, &t->state, final_state, (int64_t) t);
    /* Green threads parked in spn_join on this task: close the list and wake each. */
    struct spn_fiber *f = (struct spn_fiber *) xchg(&t->waiters, (int64_t) SPN_WAITERS_CLOSED);
    while (f) {
        struct spn_fiber *next = f->next; /* read before spn_ready reuses the link */
        spn_ready(s, f);
        f = next;
    }
    spn_task_release(w, t);
}

/* ---- workers ------------------------------------------------------------------------------ */

static inline struct spn_sched *sched_of(struct spn_worker_stats *w)
{
    return (struct spn_sched *) ((char *) (w - w->index) - offsetof(struct spn_sched, stats));
}

static struct spn_worker *worker_at(struct spn_sched *s, int i)
{
    return &((struct spn_worker *) s->workers)[i];
}

/* Work any worker could take: the ring or a deque. Racy; exact when nothing moves. */
static int work_visible(struct spn_sched *s)
{
    if (!ring_is_empty((struct spn_ring *) s->submit))
        return 1;
    for (int i = 0; i < s->nworkers; i++)
        if (!spn_deque_is_empty(&worker_at(s, i)->deque))
            return 1;
    return 0;
}

/* A task nobody started: own deque (newest first), the ring, then another worker's deque. */
static struct spn_task *new_work(struct spn_sched *s, struct spn_worker *w)
{
    struct spn_task *t = spn_deque_pop(&w->deque);
    if (t)
        return t;
    if ((t = (struct spn_task *) ring_poll((struct spn_ring *) s->submit)) != NULL)
        return t;
    /* Steal: from every other worker once, starting at a random one (xorshift). */
    int n = s->nworkers;
    if (n < 2)
        return NULL;
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 17;
    w->rng ^= w->rng << 5;
    for (int lost = 1; lost;) {
        lost = 0;
        int first = (int) (w->rng % (uint32_t) n);
        for (int k = 0; k < n; k++) {
            struct spn_worker *victim = worker_at(s, (first + k) % n);
            if (victim == w)
                continue;
            if ((t = spn_deque_steal(&victim->deque, &lost)) != NULL) {
                stat_inc(&w->stats->steals);
                return t;
            }
        }
    }
    return NULL;
}

/* Sets exactly one of *f (a green thread to resume) and *t (a task to start). */
static int find_work(struct spn_sched *s, struct spn_worker *w, struct spn_fiber **f, struct spn_task **t)
{
    *f = NULL;
    *t = NULL;
    /* After a yield, new work goes first, or a yielding loop would starve it. Every 64th
     * look starts at the ring, so Java's submissions are not starved by deque work. */
    if (w->yielded) {
        w->yielded = 0;
        if ((*t = new_work(s, w)) != NULL)
            return 1;
    }
    if ((++w->tick & 63) == 0 && (*t = (struct spn_task *) ring_poll((struct spn_ring *) s->submit)) != NULL)
        return 1;
    if ((*f = spn_mpsc_pop(&w->ready)) != NULL)
        return 1;
    return (*t = new_work(s, w)) != NULL;
}

void spn_start_task(struct spn_worker *w, struct spn_task *t);
void spn_resume(struct spn_worker *w, struct spn_fiber *f);

static void run(struct spn_worker *w, struct spn_fiber *f, struct spn_task *t)
{
    if (f)
        spn_resume(w, f);
    else
        spn_start_task(w, t);
}

/* Nothing left for this worker once the runtime shuts down: it may exit. */
static int drained(struct spn_sched *s, struct spn_worker *w)
{
    return w->live_fibers == 0 && spn_mpsc_is_empty(&w->ready) && !work_visible(s);
}

/*
 * The caller won the cas of waking from 0 to 1: it carries the one wake-up that may be on
 * its way. If FUTEX_WAKE finds a sleeper, that worker clears waking when it comes out. If it
 * finds none, the parked workers we counted were not in the kernel yet (or were on their
 * way out): nobody will clear waking, and a submitter that saw waking == 1 and left counts
 * on us. So we take the token back and look again (delicate dance, part two): the bump of
 * wake_seq already makes any of them that read the old epoch come out at once.
 */
static void wake_one(struct spn_sched *s)
{
    for (;;) {
        xadd(&s->wake_seq, 1);
        if (futex_wake(&s->wake_seq, 1) > 0)
            return;
        sv_i32(&s->waking, 0);
        if (!work_visible(s) || lv_i32(&s->nparked) == 0 || lv_i32(&s->nspinning) != 0)
            return;
        int32_t expected = 0;
        if (!__atomic_compare_exchange_n(&s->waking, &expected, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            return; /* someone else carries the wake-up now */
    }
}

/* Wakes one parked worker if none spins and none is already being woken (Go's wakep). */
void spn_wakep(struct spn_sched *s)
{
    if (lv_i32(&s->nparked) == 0 || lv_i32(&s->nspinning) != 0)
        return;
    int32_t expected = 0;
    if (!__atomic_compare_exchange_n(&s->waking, &expected, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return;
    wake_one(s);
}

/* A spinning worker found work: it stops spinning, and the last spinner wakes the next. */
static void stop_spinning(struct spn_sched *s)
{
    if (xadd(&s->nspinning, -1) == 1)
        spn_wakep(s);
}

/* Sleeps until woken; returns with the worker counted as spinning again. */
static void park(struct spn_sched *s, struct spn_worker *w)
{
    uint32_t epoch = __atomic_load_n(&s->wake_seq, __ATOMIC_ACQUIRE);
    sv_i32(&w->parked, 1);
    xadd(&s->nparked, 1);
    xadd(&s->nspinning, -1);
    /* Delicate dance: we are counted as parked (seq-cst) before this re-check, so a task
     * published after it is seen by its submitter's check of nparked/nspinning, and a green
     * thread readied after it is seen by spn_ready's check of parked. While shutting down we
     * still sleep if green threads of ours wait for others to finish. */
    int shutting_down = lv_i32(&s->shutdown) != SPN_RUNNING;
    if (!work_visible(s) && spn_mpsc_is_empty(&w->ready) && (!shutting_down || w->live_fibers > 0)) {
        stat_inc(&w->stats->parks);
        /* Might be woken up spuriously (or by a wake meant for another): that's allowed. */
        if (futex_wait(&s->wake_seq, epoch, NULL) == 0)
            stat_inc(&w->stats->wakeups);
    }
    xadd(&s->nspinning, 1);
    xadd(&s->nparked, -1);
    sv_i32(&w->parked, 0);
    sv_i32(&s->waking, 0); /* before we poll: see the comment at the top */
}

SPN_EXPORT intptr_t spn_worker_main(void *arg)
{
    struct spn_worker_stats *stats = arg;
    struct spn_sched *s = sched_of(stats);
    struct spn_worker *w = worker_at(s, (int) stats->index);
    /* At most half the workers spin at once (Go's rule): on a small machine the threads
     * that submit and join need a CPU too, and a spinner on their CPU only delays them. */
    const int32_t max_spinners = s->nworkers > 1 ? s->nworkers / 2 : 1;
    spn_current_worker = w;
    stats->tid = syscall(SYS_gettid);
    int32_t spinning_before = xadd(&s->nspinning, 1); /* a new worker starts by looking */
    for (;;) {
        /* Spinning: look for work until spin_ns pass without any. */
        int64_t deadline = spinning_before < max_spinners ? now_ns() + s->spin_ns : 0;
        struct spn_fiber *f;
        struct spn_task *t;
        for (unsigned i = 1;; i++) {
            if (find_work(s, w, &f, &t))
                break;
            if (lv_i32(&s->shutdown) != SPN_RUNNING && drained(s, w)) {
                xadd(&s->nspinning, -1);
                spn_current_worker = NULL;
                return 0; /* the ring is closed before shutdown is set: nothing more comes */
            }
            cpu_relax();
            if (deadline == 0 || ((i & 63) == 0 && now_ns() > deadline)) {
                park(s, w);
                deadline = now_ns() + s->spin_ns;
            }
        }
        stop_spinning(s);
        /* Running: keep going without touching the spinning count per task. */
        do {
            run(w, f, t);
        } while (find_work(s, w, &f, &t));
        spinning_before = xadd(&s->nspinning, 1);
    }
}

/* ---- Java's side of parking and joining --------------------------------------------------- */

/* A Java submitter saw a sleeper and no spinner, and won the cas on waking. */
SPN_EXPORT void spn_sched_wake_one(struct spn_sched *s)
{
    wake_one(s);
}

/* Platform-thread join: sleeps on the state word until it is final. 0 or ETIMEDOUT. */
static int wait_word(int32_t *state, int64_t timeout_ns)
{
    int64_t deadline = timeout_ns < 0 ? 0 : now_ns() + timeout_ns;
    for (;;) {
        int32_t cur = lv_i32(state);
        if ((cur & SPN_TASK_STATE_MASK) >= SPN_TASK_DONE)
            return 0;
        if (!(cur & SPN_TASK_WAITER_FUTEX)) {
            /* Register first: the worker wakes only if it sees the bit in what it replaces. */
            if (!__atomic_compare_exchange_n(state, &cur, cur | SPN_TASK_WAITER_FUTEX, 0,
                                             __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
                continue;
            cur |= SPN_TASK_WAITER_FUTEX;
        }
        struct timespec rel, *relp = NULL;
        if (timeout_ns >= 0) {
            int64_t left = deadline - now_ns();
            if (left <= 0)
                return ETIMEDOUT;
            rel = to_timespec(left);
            relp = &rel;
        }
        futex_wait(state, (uint32_t) cur, relp); /* spurious returns loop */
    }
}

SPN_EXPORT int spn_task_wait(struct spn_task *t, int64_t timeout_ns)
{
    return wait_word(&t->state, timeout_ns);
}

SPN_EXPORT int spn_group_wait(struct spn_group *g, int64_t timeout_ns)
{
    return wait_word(&g->state, timeout_ns);
}

/* The completion poller: up to max elements (task addresses; groups with the low bit set)
 * into out. Sleeps while there are none. Returns the count, 0 on timeout, -1 once stopped
 * and drained. */
SPN_EXPORT int spn_completions_take(struct spn_sched *s, int64_t *out, int max, int64_t timeout_ns)
{
    struct spn_ring *completions = (struct spn_ring *) s->completions;
    for (;;) {
        int n = 0;
        int64_t e;
        while (n < max && (e = ring_poll(completions)) != 0)
            out[n++] = e;
        if (n > 0)
            return n;
        if (lv_i32(&s->poller_stop))
            return -1;
        uint32_t seq = __atomic_load_n(&s->poller_seq, __ATOMIC_ACQUIRE);
        sv_i32(&s->poller_sleeping, 1);
        /* Delicate dance, as in park(): sleeping is published before the re-check. */
        if (!ring_is_empty(completions) || lv_i32(&s->poller_stop)) {
            sv_i32(&s->poller_sleeping, 0);
            continue;
        }
        struct timespec rel = to_timespec(timeout_ns);
        int r = futex_wait(&s->poller_seq, seq, timeout_ns < 0 ? NULL : &rel);
        int timed_out = r != 0 && errno == ETIMEDOUT;
        sv_i32(&s->poller_sleeping, 0);
        if (timed_out && ring_is_empty(completions))
            return 0;
    }
}

SPN_EXPORT void spn_poller_stop(struct spn_sched *s)
{
    sv_i32(&s->poller_stop, 1);
    xadd(&s->poller_seq, 1);
    futex_wake(&s->poller_seq, INT_MAX);
}

/* ---- life cycle --------------------------------------------------------------------------- */

#define COMPLETION_RING_CAPACITY 65536

SPN_EXPORT void spn_sched_destroy(struct spn_sched *s);

/* The guard-page budget for green-thread stacks: an eighth of the mapping limit. */
static int64_t guard_budget(void)
{
    long max_map_count = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &max_map_count) != 1)
            max_map_count = 65530;
        fclose(f);
    }
    return max_map_count / 8;
}

SPN_EXPORT int spn_sched_create(int nworkers, int64_t ring_capacity, int64_t spin_ns,
                                int64_t green_stack_size, struct spn_sched **out)
{
    /* Every argument is checked before anything is allocated: EINVAL means bad input,
     * ENOMEM an allocation that failed (and was undone). */
    if (nworkers < 1 || spin_ns < 0 || green_stack_size < 4096 || ring_capacity < 2
        || ring_capacity > SPN_RING_MAX_CAPACITY || (ring_capacity & (ring_capacity - 1)) != 0)
        return EINVAL;
    size_t size = sizeof(struct spn_sched) + (size_t) nworkers * sizeof(struct spn_worker_stats);
    struct spn_sched *s = aligned_alloc(SPN_CACHE_LINE, (size + SPN_CACHE_LINE - 1) & ~(size_t) (SPN_CACHE_LINE - 1));
    if (!s)
        return ENOMEM;
    /* Zeroed first, so spn_sched_destroy can undo whatever part of the set-up was done. */
    memset(s, 0, size);
    s->nworkers = nworkers;
    s->spin_ns = spin_ns;
    s->submit = (int64_t) spn_ring_create(ring_capacity);
    s->completions = (int64_t) spn_ring_create(COMPLETION_RING_CAPACITY);
    size_t workers_size = (size_t) nworkers * sizeof(struct spn_worker);
    struct spn_worker *workers = aligned_alloc(SPN_CACHE_LINE, (workers_size + SPN_CACHE_LINE - 1) & ~(size_t) (SPN_CACHE_LINE - 1));
    s->workers = (int64_t) workers;
    if (!s->submit || !s->completions || !workers) {
        spn_sched_destroy(s);
        return ENOMEM;
    }
    memset(workers, 0, workers_size);
    for (int i = 0; i < nworkers; i++) {
        s->stats[i].index = i;
        workers[i].sched = s;
        workers[i].stats = &s->stats[i];
        workers[i].index = i;
        workers[i].rng = 0x9e3779b9u * (uint32_t) (i + 1);
        spn_mpsc_init(&workers[i].ready);
    }
    spn_fiber_runtime_init(s, (size_t) green_stack_size, guard_budget());
    if (!s->fibers) {
        spn_sched_destroy(s);
        return ENOMEM;
    }
    *out = s;
    return 0;
}

/* Tells the workers to stop: SPN_DRAIN after the ring was closed, or SPN_CANCEL. */
SPN_EXPORT void spn_sched_shutdown(struct spn_sched *s, int mode)
{
    sv_i32(&s->shutdown, mode);
    xadd(&s->wake_seq, 1);
    futex_wake(&s->wake_seq, INT_MAX);
}

/* Only after every worker was joined and the poller stopped. */
SPN_EXPORT void spn_sched_destroy(struct spn_sched *s)
{
    /* Also undoes a spn_sched_create that failed half-way: each part may still be 0. */
    if (!s)
        return;
    /* Descriptors in the workers' caches live in the chunks unmapped below. */
    spn_fiber_runtime_destroy(s);
    free((void *) s->workers);
    for (int64_t i = 0; i < s->pool_chunk_count; i++)
        munmap((void *) s->chunks[i], SPN_POOL_CHUNK * sizeof(struct spn_task));
    spn_ring_destroy((struct spn_ring *) s->submit);
    spn_ring_destroy((struct spn_ring *) s->completions);
    free(s);
}

SPN_EXPORT struct spn_worker_stats *spn_sched_worker(struct spn_sched *s, int index)
{
    return &s->stats[index];
}

/* Groups: one allocation per batch, freed by the Java handle after the batch is done. */
SPN_EXPORT struct spn_group *spn_group_create(int64_t count)
{
    size_t size = sizeof(struct spn_group) + (size_t) count * sizeof(int64_t);
    struct spn_group *g = aligned_alloc(SPN_CACHE_LINE, (size + SPN_CACHE_LINE - 1) & ~(size_t) (SPN_CACHE_LINE - 1));
    if (!g)
        return NULL;
    memset(g, 0, sizeof *g);
    g->state = SPN_TASK_QUEUED;
    g->remaining = count;
    g->count = count;
    return g;
}

SPN_EXPORT void spn_group_destroy(struct spn_group *g) { free(g); }
