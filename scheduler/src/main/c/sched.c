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
 *     such workers, and at most half of the workers spin at once. Then it parks: parked =
 *     PARKED, nparked++, nspinning--, re-check, FUTEX_WAIT on its own park_seq.
 *   - A submitter, after publishing its task, issues a full fence (StoreLoad) and wakes one
 *     worker only if nobody spins (nspinning == 0) and somebody sleeps (nparked > 0), and
 *     only if it wins the cas of nspinning from 0 to 1: the worker it wakes is counted as
 *     spinning before it runs, so one wake-up is on its way at a time.
 *   - A spinning worker that finds work stops spinning; if it was the last spinner and more
 *     work is visible, it wakes one more (the wake chains through the workers as long as
 *     work keeps coming).
 *   - A green thread that becomes ready wakes its own worker, and no other: every worker has
 *     a futex word of its own.
 * So a busy runtime costs no system call per task, an idle one costs no CPU after spin_ns,
 * and a burst wakes the workers one by one.
 *
 * WHY NO WAKE-UP IS LOST (the delicate dance, see park() and wake_one()):
 *   submitter:  publish task; fence;  read nspinning, nparked; cas nspinning 0 -> 1; claim
 *   worker:     epoch = park_seq; parked = PARKED; nparked++; nspinning-- (all seq-cst);
 *               re-check; futex_wait(park_seq, epoch)
 *   Both sides store then load with a full fence between (Dekker): either the worker's
 *   re-check sees the task, or the submitter sees nparked > 0 and nspinning == 0. A waker
 *   claims a worker (parked PARKED -> CLAIMED) and bumps its park_seq: a futex_wait that
 *   has not started yet returns at once. If the submitter saw nspinning > 0, that spinner
 *   had not yet decremented it, so its later re-check sees the task. If its cas failed,
 *   someone else took nspinning to 1: a worker counted as spinning that has yet to look.
 *   If it claims nobody, the workers it counted are on their way out of park() and look
 *   before they sleep (wake_one). Each path that counts a spinner has exactly one way to
 *   give the count back, or every later wake-up would be skipped.
 *
 * A SLOW PRODUCER (a Java thread descheduled, or stopped at a safepoint, between claiming a
 * ring slot and publishing it) holds up only its own slot: workers never wait for it
 * (ring_poll returns "nothing now"), they run their green threads and deques, and sleep
 * until the producer publishes and wakes one of them.
 *
 * Joins use the same discipline on each task's state word: the joiner sets a waiter bit
 * with a cas and sleeps on the word; the worker exchanges in DONE and wakes only if the old
 * value had the bit. A join of a finished task is a load.
 *
 * UNDER C11, NOT ONLY x86 (checked for AArch64, whose loads and stores reorder freely):
 *   - Every word another thread may touch at the same time is accessed with __atomic_*; a
 *     descriptor's owners and state included (worker.h: spn_task_set_owners), where a stale
 *     handle is the other thread. Plain accesses are to memory one thread owns for the time.
 *   - Publication is release/acquire: the ring's slot sequence (ring.h), the deque's
 *     release fence before bottom and the thief's acquire of bottom (green.c, as in Le et
 *     al., "Correct and efficient work-stealing for weak memory models"), the pool's cas.
 *   - Each store-then-load pair (the parking dance above, the join's waiter bit, the space
 *     waiters) has a seq-cst fence or seq-cst read-modify-writes on both sides: x86 reorders
 *     a store with a later load too, so nothing here leaned on x86 for those.
 *   - A batch's last chunk reads the others' results after the seq-cst decrement of
 *     remaining: every decrement is a read-modify-write, so each earlier chunk's release
 *     reaches the last one (a release sequence).
 *   - The pool is a tagged Treiber stack: pool_pop reads the head's next_free (atomically)
 *     even if another thread popped that descriptor meanwhile; the tag makes its cas fail.
 *     next_free shares its bytes with result (a union), which the descriptor's new owner
 *     writes plainly: C11 counts that overlap as a race, as it does in every such stack; the
 *     value read is never used.
 *   - One deliberate gap: a green thread's spawn reads nparked after its deque push without
 *     a full fence (a fence per spawn costs fork-join a third of its speed). A wake-up it
 *     misses that way is not lost: the watcher, a parked worker that sleeps with a timeout
 *     while others are parked, looks at the deques every SPN_WATCH_NS.
 */
#define _GNU_SOURCE
#include "spindle_sched.h"
#include "region.h"
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

/* An isolated pool's words are shared with its child process: its futexes must be too. */
static int futex_op(struct spn_sched *s, int op)
{
    return s->isolated ? op : op | FUTEX_PRIVATE_FLAG;
}

static int futex_wait(struct spn_sched *s, void *word, uint32_t expected, const struct timespec *rel)
{
    return (int) syscall(SYS_futex, word, futex_op(s, FUTEX_WAIT), expected, rel, NULL, 0);
}

static long futex_wake(struct spn_sched *s, void *word, int n)
{
    return syscall(SYS_futex, word, futex_op(s, FUTEX_WAKE), n, NULL, NULL, 0);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t spn_now_ns(void)
{
    return now_ns();
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
    case SPN_L_GROUP_CALL_FN: return offsetof(struct spn_group, call_fn);
    case SPN_L_GROUP_ROW_STRIDE: return offsetof(struct spn_group, row_stride);
    case SPN_L_GROUP_ROW_FPS: return offsetof(struct spn_group, row_fps);
    case SPN_L_GROUP_ROW_RET: return offsetof(struct spn_group, row_ret);
    case SPN_L_GROUP_RET_KIND: return offsetof(struct spn_group, ret_kind);
    case SPN_L_CALL_ROW_OVERREAD: return SPN_CALL_ROW_OVERREAD;
    case SPN_L_RET_INT: return SPN_RET_INT;
    case SPN_L_RET_FP: return SPN_RET_FP;
    case SPN_L_POOL_CALL_ROWS: return SPN_POOL_CALL_ROWS;
    case SPN_L_POOL_CHUNK_BYTES: return SPN_POOL_CHUNK_BYTES;
    case SPN_L_SCHED_SUBMIT: return offsetof(struct spn_sched, submit);
    case SPN_L_SCHED_COMPLETIONS: return offsetof(struct spn_sched, completions);
    case SPN_L_SCHED_POOL_CHUNK_COUNT: return offsetof(struct spn_sched, pool_chunk_count);
    case SPN_L_SCHED_POOL_HEAD: return offsetof(struct spn_sched, pool_head);
    case SPN_L_SCHED_NSPINNING: return offsetof(struct spn_sched, nspinning);
    case SPN_L_SCHED_NPARKED: return offsetof(struct spn_sched, nparked);
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
    case SPN_L_TASK_GEN: return offsetof(struct spn_task, gen);
    case SPN_L_TASK_OWNERS: return offsetof(struct spn_task, owners);
    case SPN_L_REF_RUN: return SPN_REF_RUN;
    case SPN_L_REF_HANDLE: return SPN_REF_HANDLE;
    case SPN_L_REF_JAVA: return SPN_REF_JAVA;
    case SPN_L_SCHED_SPACE_WAITERS: return offsetof(struct spn_sched, space_waiters);
    case SPN_L_SCHED_SPACE_SIGNALLED: return offsetof(struct spn_sched, space_signalled);
    case SPN_L_COMPLETION_SPACE: return SPN_COMPLETION_SPACE;
    case SPN_L_SCHED_SPACE_SEQ: return offsetof(struct spn_sched, space_seq);
    case SPN_L_SCHED_SPACE_PARKERS: return offsetof(struct spn_sched, space_parkers);
    case SPN_L_CALL_SIZE: return sizeof(struct spn_call);
    case SPN_L_CALL_FN: return offsetof(struct spn_call, fn);
    case SPN_L_CALL_RET_KIND: return offsetof(struct spn_call, ret_kind);
    case SPN_L_CALL_INTS: return offsetof(struct spn_call, ints);
    case SPN_L_CALL_FPS: return offsetof(struct spn_call, fps);
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
/* ---- memory: the heap, or an isolated pool's shared region -------------------------------- */

/* size bytes, cache-line aligned, from the region if there is one (everything the child's
 * workers touch must be in it), else from the heap. */
static void *memory_alloc(struct spn_region *region, size_t size)
{
    if (region)
        return spn_region_alloc(region, size);
    return aligned_alloc(SPN_CACHE_LINE, (size + SPN_CACHE_LINE - 1) & ~(size_t) (SPN_CACHE_LINE - 1));
}

static void memory_free(struct spn_region *region, void *p)
{
    if (region)
        spn_region_free(region, p);
    else
        free(p);
}

static struct spn_region *region_of(const struct spn_sched *s)
{
    return (struct spn_region *) s->region;
}

static struct spn_ring *ring_create(struct spn_region *region, int64_t capacity)
{
    if (capacity < 2 || capacity > SPN_RING_MAX_CAPACITY || (capacity & (capacity - 1)) != 0)
        return NULL;
    size_t size = sizeof(struct spn_ring) + (size_t) capacity * sizeof(struct spn_ring_slot);
    struct spn_ring *r = memory_alloc(region, size);
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

SPN_EXPORT struct spn_ring *spn_ring_create(int64_t capacity) { return ring_create(NULL, capacity); }

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

static void pool_push_one(struct spn_sched *s, struct spn_task *t)
{
    pool_push_chain(s, t, t); /* which links t to the old head */
}

/* Adds a chunk of descriptors when the pool is empty. Java (spawn) and workers (spn_spawn)
 * both call it; the mutex makes one of them do it. Returns 0 at the limit or on ENOMEM. */
static pthread_mutex_t pool_grow_lock = PTHREAD_MUTEX_INITIALIZER;

static struct spn_task *chunk_alloc(struct spn_region *region)
{
    if (region) {
        struct spn_task *chunk = spn_region_alloc(region, SPN_POOL_CHUNK_BYTES);
        if (chunk) /* the region's memory may have held something else: zero, as mmap is */
            memset(chunk, 0, SPN_POOL_CHUNK_BYTES);
        return chunk ? chunk : MAP_FAILED;
    }
    return mmap(NULL, SPN_POOL_CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

SPN_EXPORT int spn_pool_grow(struct spn_sched *s)
{
    struct spn_region *region = region_of(s);
    pthread_mutex_t *lock = region ? &region->grow_lock : &pool_grow_lock;
    if (region ? spn_region_lock(lock) != 0 : pthread_mutex_lock(lock) != 0)
        return 0;
    int grown = 1;
    if ((uint32_t) __atomic_load_n(&s->pool_head, __ATOMIC_ACQUIRE) == 0) {
        int64_t n = s->pool_chunk_count;
        struct spn_task *chunk = n < SPN_POOL_MAX_CHUNKS ? chunk_alloc(region) : MAP_FAILED;
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
    pthread_mutex_unlock(lock);
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
        futex_wake(s, &s->poller_seq, 1);
    }
}

/* Moves a word to its final state and wakes whoever registered to wait for it. */
static void finish_word(struct spn_sched *s, int32_t *state, int32_t final_state, int64_t element)
{
    int32_t old = xchg(state, final_state); /* seq-cst: the result is visible before DONE */
    if (old & SPN_TASK_WAITER_FUTEX)
        futex_wake(s, state, INT_MAX);
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
#define SPN_MAX_WORKERS_RECOVERED 1024 /* Spindle.MAX_WORKERS: at most one claimed slot each */

struct spn_task *spn_task_alloc(struct spn_worker *w)
{
    struct spn_task *t = w->task_cache;
    if (t) {
        w->task_cache = (struct spn_task *) t->arg;
        w->task_cache_count--;
    } else if ((t = pool_pop(w->sched)) == NULL) {
        return NULL;
    }
    /* Ours alone now (refs 0, between lives). A stale handle's cas expects refs > 0 and its
     * own gen, so it cannot match a descriptor in between lives or in its next life. */
    spn_task_set_owners(t, spn_task_gen(t) + 1, 0);
    return t;
}

spn_task_t *spn_handle_of(struct spn_task *t)
{
    return (spn_task_t *) (uintptr_t) ((uint64_t) spn_task_gen(t) << 32 | (uint32_t) (t->index + 1));
}

struct spn_task *spn_task_of_handle(struct spn_sched *s, spn_task_t *handle, uint32_t *gen)
{
    uint64_t v = (uint64_t) (uintptr_t) handle;
    uint32_t index_plus_one = (uint32_t) v;
    int64_t known = __atomic_load_n(&s->pool_chunk_count, __ATOMIC_ACQUIRE) * SPN_POOL_CHUNK;
    if (index_plus_one == 0 || index_plus_one > known)
        return NULL;
    *gen = (uint32_t) (v >> 32);
    return task_at(s, (int32_t) index_plus_one - 1);
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
        /* Atomic: a pop that read this descriptor as the pool's head before it left the pool
         * may read next_free now; its tagged cas fails, but the read must not race. */
        __atomic_store_n(&last->next_free, next->index + 1, __ATOMIC_RELAXED);
        last = next;
        spilled++;
    }
    w->task_cache_count -= spilled;
    pool_push_chain(w->sched, first, last);
}

/* The run's reference: dropped by the worker when the task ends. */
static void release_run(struct spn_worker *w, struct spn_task *t)
{
    /* On the whole word, as the handles' cas is: one size of atomic access to it. refs is at
     * least SPN_REF_RUN here, so the subtraction never borrows from gen. */
    if ((uint32_t) __atomic_sub_fetch(&t->owners, SPN_REF_RUN, __ATOMIC_ACQ_REL) == 0)
        spn_task_free(w, t);
}

int spn_handle_release(struct spn_worker *w, struct spn_task *t, uint32_t gen)
{
    uint64_t owners = __atomic_load_n(&t->owners, __ATOMIC_ACQUIRE);
    for (;;) {
        if (!spn_native_ref_of(owners, gen))
            return SPN_E_INVALID;
        if (__atomic_compare_exchange_n(&t->owners, &owners, owners - SPN_REF_HANDLE, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            if ((uint32_t) owners == SPN_REF_HANDLE)
                spn_task_free(w, t);
            return SPN_OK;
        }
    }
}

/*
 * Parking and waking, one worker at a time (see THE RULE at the top of this file).
 *
 * Each worker sleeps on its own futex word (park_seq), so a wake-up reaches the worker it is
 * meant for: the owner of a green thread that became ready, or one parked worker for new
 * work. A waker first *claims* its worker (a cas of parked from PARKED to CLAIMED), so two
 * wakers never pick the same one, and counts it as spinning on its behalf: from then on
 * other submitters see a spinner and do not wake a second worker for the same work (Go's
 * wakep increments nmspinning before it starts the M). A claimed worker does not count
 * itself again when it comes out; one that comes out on its own (its re-check saw work, a
 * spurious return) cas-es PARKED to AWAKE and counts itself.
 */
static int claim(struct spn_worker *w)
{
    int32_t expected = SPN_PARKED;
    return lv_i32(&w->parked) == SPN_PARKED
        && __atomic_compare_exchange_n(&w->parked, &expected, SPN_CLAIMED, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}

/* w was claimed: one FUTEX_WAKE, never a retry. If w is not in the kernel yet, the bump of
 * park_seq makes its futex_wait return at once (it read its epoch before it set PARKED). */
static void wake_claimed(struct spn_worker *w)
{
    xadd(&w->park_seq, 1);
    futex_wake(w->sched, &w->park_seq, 1);
}

/* Puts a green thread that can run again into its own worker's ready queue, and wakes that
 * worker (and only it) if it sleeps. Delicate dance: push, fence, then read parked; the
 * owner sets parked, fences, then looks at its ready queue before it sleeps. */
void spn_ready(struct spn_sched *s, struct spn_fiber *f)
{
    struct spn_worker *owner = f->owner;
    __atomic_store_n(&f->state, SPN_FIBER_READY, __ATOMIC_RELAXED); /* its owner may be reading it */
    spn_mpsc_push(&owner->ready, f);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (claim(owner)) {
        xadd(&s->nspinning, 1);
        wake_claimed(owner);
    }
}

void spn_complete(struct spn_worker *w, struct spn_task *t, int64_t result, int32_t final_state)
{
    struct spn_sched *s = w->sched;
    struct spn_group *g = (struct spn_group *) t->group;
    if (g) {
        /* A chunk of a batch has no handle of its own: nobody can join it, wait on it or
         * hold it, so its descriptor needs no atomics; only the group's count is shared.
         * Its members wrote their results as they ended (green.c). For a chunk that did not
         * run to its end, result is the first member that never ran: those are marked, so
         * that the batch's joiners keep the results of the others. */
        int64_t members = t->group_end - t->group_slot;
        if (final_state != SPN_TASK_DONE) {
            memset(spn_group_skipped(g) + result, 1, (size_t) (t->group_end - result));
            int32_t no = 0; /* a crash elsewhere in the batch (SPN_GROUP_CRASHED) stays the word */
            __atomic_compare_exchange_n(&g->cancelled, &no, 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
        }
        spn_task_set_state(t, final_state);
        spn_task_set_owners(t, spn_task_gen(t), 0);
        spn_task_free(w, t);
        if (xadd(&g->remaining, -members) == members) {
            /* The last task of the batch (the count is seq-cst, so every result is visible).
             * Low bit tags a group for the poller. */
            int32_t cancelled = __atomic_load_n(&g->cancelled, __ATOMIC_RELAXED);
            int32_t group_state = cancelled == SPN_GROUP_CRASHED ? SPN_TASK_CRASHED
                                  : cancelled ? SPN_TASK_CANCELLED : SPN_TASK_DONE;
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
    release_run(w, t);
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

/* Work any worker could take now: a published submission or a deque. Racy; exact when
 * nothing moves. A submission claimed but not yet published does not count: its producer
 * wakes a worker once it publishes (ring.h, ring_poll). */
static int work_visible(struct spn_sched *s)
{
    if (ring_has_published((struct spn_ring *) s->submit))
        return 1;
    for (int i = 0; i < s->nworkers; i++)
        if (!spn_deque_is_empty(&worker_at(s, i)->deque))
            return 1;
    return 0;
}

/* A submission that was published or is about to be: a worker must not exit before it. */
static int submissions_pending(struct spn_sched *s)
{
    return !ring_is_drained((struct spn_ring *) s->submit);
}

/* Java producers wait for a free submission slot (Spindle.offerWhenSpaceFrees): wake them,
 * once until one of them resets space_signalled and looks again. Platform threads sleep on
 * space_seq; virtual threads (which must not sleep in native code) hear it from the poller.
 * Delicate dance: the producer counts itself in space_waiters, reads space_seq, resets
 * space_signalled and looks at the consumer index again (seq-cst); we moved the consumer
 * index with a seq-cst cas before this seq-cst load. Either its look sees our free slot, or
 * we see it waiting and either win the cas (and bump space_seq past the epoch it read) or
 * lose it to a waker that bumps space_seq after the reset, so after that read too. */
static void wake_space_waiters(struct spn_sched *s)
{
    xadd(&s->space_seq, 1);
    futex_wake(s, &s->space_seq, INT_MAX);
    if (lv_i32(&s->space_parkers) > 0)
        tell_poller(s, SPN_COMPLETION_SPACE);
}

static inline void space_freed(struct spn_sched *s)
{
    if (__builtin_expect(__atomic_load_n(&s->space_waiters, __ATOMIC_SEQ_CST) > 0, 0)) {
        int32_t expected = 0;
        if (__atomic_compare_exchange_n(&s->space_signalled, &expected, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            wake_space_waiters(s);
    }
}

static struct spn_task *poll_submission(struct spn_sched *s, struct spn_worker *w)
{
    struct spn_ring *submit = (struct spn_ring *) s->submit;
    struct spn_task *t = (struct spn_task *) (__builtin_expect(s->isolated, 0)
        ? ring_poll_holding(submit, (void *_Atomic *) &w->holding) : ring_poll(submit));
    if (t)
        space_freed(s);
    return t;
}

/* A task nobody started: own deque (newest first), the ring, then another worker's deque. */
static struct spn_task *new_work(struct spn_sched *s, struct spn_worker *w)
{
    struct spn_task *t = spn_deque_pop_held(w);
    if (t)
        return t;
    if ((t = poll_submission(s, w)) != NULL)
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
            if ((t = spn_deque_steal_held(w, &victim->deque, &lost)) != NULL) {
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
    if ((++w->tick & 63) == 0 && (*t = poll_submission(s, w)) != NULL)
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
    return w->live_fibers == 0 && spn_mpsc_is_empty(&w->ready) && !work_visible(s) && !submissions_pending(s);
}

/*
 * The caller took nspinning from 0 to 1 for the worker it wakes (Go's wakep): one wake-up
 * on its way at a time. If no parked worker can be claimed, every worker counted in nparked
 * is on its way out of park() (its re-check saw work, a spurious return, another waker
 * claimed it) and counts itself as spinning as it leaves, so it looks for work before it
 * can sleep again: give the count back, and the work is still found (delicate dance, part
 * two). No retry loop: a retry would spin while a preempted worker finishes its way out.
 */
static void wake_one(struct spn_sched *s)
{
    int n = s->nworkers;
    uint32_t start = __atomic_fetch_add(&s->wake_rotor, 1, __ATOMIC_RELAXED);
    for (int k = 0; k < n; k++) {
        struct spn_worker *w = worker_at(s, (int) ((start + (uint32_t) k) % (uint32_t) n));
        if (claim(w)) {
            wake_claimed(w);
            return;
        }
    }
    xadd(&s->nspinning, -1);
}

/* Wakes one parked worker if none spins and none is being woken (Go's wakep). */
void spn_wakep(struct spn_sched *s)
{
    if (lv_i32(&s->nparked) == 0 || lv_i32(&s->nspinning) != 0)
        return;
    int32_t expected = 0;
    if (!__atomic_compare_exchange_n(&s->nspinning, &expected, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
        return; /* someone else is looking, or is being woken to */
    wake_one(s);
}

/* A spinning worker found work: it stops spinning, and the last spinner wakes the next if
 * there is more to take (the wake chains through the workers while work keeps coming). The
 * decrement is seq-cst before the look: a submitter that published after the look sees
 * nspinning without us, and wakes a worker itself. */
static void stop_spinning(struct spn_sched *s)
{
    if (xadd(&s->nspinning, -1) == 1 && work_visible(s))
        spn_wakep(s);
}

/*
 * THE WATCHER. A task that spawns a single child and then computes queues no second child,
 * so its spawn wakes nobody (green.c, spn_spawn), and a worker asleep before that spawn
 * would sleep through the child. So while any worker is awake (it may be running a task
 * that spawns), one parked worker, the watcher, sleeps with a timeout and looks at the
 * deques every SPN_WATCH_NS. When every worker sleeps nobody can spawn, and nobody watches:
 * an idle runtime costs no CPU. A look costs a few microseconds a millisecond. The role is
 * taken when a worker parks while another is awake; a worker that sleeps while all do, and
 * so untimed, is poked awake to take it when a worker is woken for work and nobody watches
 * (the first wake-up of an idle runtime, or the watcher itself woken for work): one more
 * FUTEX_WAKE on that transition, none per task.
 */
#define SPN_WATCH_NS 1000000

/* Wakes a parked worker other than self without claiming it: it looks once and parks again,
 * as the watcher now that self is awake. */
static void poke_for_watcher(struct spn_sched *s, struct spn_worker *self)
{
    int n = s->nworkers;
    uint32_t start = __atomic_fetch_add(&s->wake_rotor, 1, __ATOMIC_RELAXED);
    for (int k = 0; k < n; k++) {
        struct spn_worker *w = worker_at(s, (int) ((start + (uint32_t) k) % (uint32_t) n));
        if (w != self && lv_i32(&w->parked) == SPN_PARKED) {
            sv_i32(&w->poked, 1);
            wake_claimed(w); /* not claimed: it counts itself as spinning when it comes out */
            return;
        }
    }
}

/* Sleeps until woken (or, as the watcher, for SPN_WATCH_NS); returns with the worker counted
 * as spinning again, and 1 if it was not woken for work (the watcher's timeout, a poke):
 * then it looks once, without spinning, and sleeps again. */
static int park(struct spn_sched *s, struct spn_worker *w)
{
    uint32_t epoch = __atomic_load_n(&w->park_seq, __ATOMIC_ACQUIRE);
    sv_i32(&w->parked, SPN_PARKED);
    xadd(&s->nparked, 1);
    xadd(&s->nspinning, -1);
    int watch_timed_out = 0;
    /* Delicate dance: we are counted as parked (seq-cst) before this re-check, so a task
     * published after it is seen by its submitter's check of nparked/nspinning, and a green
     * thread readied after it is seen by spn_ready's look at parked. While shutting down we
     * still sleep if green threads of ours wait for others to finish. */
    int shutting_down = lv_i32(&s->shutdown) != SPN_RUNNING;
    if (!work_visible(s) && spn_mpsc_is_empty(&w->ready) && (!shutting_down || w->live_fibers > 0)) {
        stat_inc(&w->stats->parks);
        int32_t not_watching = 0;
        int watching = lv_i32(&s->nparked) < s->nworkers
            && __atomic_compare_exchange_n(&s->watcher, &not_watching, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
        struct timespec tick = to_timespec(SPN_WATCH_NS);
        /* Might be woken up spuriously: that's allowed, the caller looks and parks again. */
        int r = futex_wait(s, &w->park_seq, epoch, watching ? &tick : NULL);
        int timed_out = r != 0 && errno == ETIMEDOUT;
        if (r == 0)
            stat_inc(&w->stats->wakeups);
        if (watching) {
            sv_i32(&s->watcher, 0);
            watch_timed_out = timed_out;
        }
    }
    int poked = xchg(&w->poked, 0);
    int32_t expected = SPN_PARKED;
    if (__atomic_compare_exchange_n(&w->parked, &expected, SPN_AWAKE, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        xadd(&s->nspinning, 1); /* came out on our own */
    } else {
        sv_i32(&w->parked, SPN_AWAKE); /* claimed: the waker counted us as spinning */
        if (lv_i32(&s->watcher) == 0 && lv_i32(&s->nparked) > 1)
            poke_for_watcher(s, w); /* we go to work: someone else must watch */
    }
    xadd(&s->nparked, -1);
    return watch_timed_out || poked;
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
    w->errno_addr = &errno;
    spn_tcb_save_thread(w);
    stats->tid = syscall(SYS_gettid);
    int32_t spinning_before = xadd(&s->nspinning, 1); /* a new worker starts by looking */
    for (;;) {
        /* Spinning: look for work until spin_ns pass without any. A worker whose green threads
         * wait for tasks running elsewhere spins whatever the others do: those tasks end soon
         * as a rule (fork-join), and a wake-up from the kernel would put tens of microseconds
         * on the critical path of every join that had to park. */
        int64_t deadline = spinning_before < max_spinners || w->live_fibers > 0 ? now_ns() + s->spin_ns : 0;
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
            if (deadline == 0 || ((i & 63) == 0 && now_ns() > deadline))
                deadline = park(s, w) ? 0 : now_ns() + s->spin_ns;
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

/* A platform-thread producer at a full ring sleeps until space_seq moves past epoch. */
SPN_EXPORT void spn_space_wait(struct spn_sched *s, uint32_t epoch)
{
    futex_wait(s, &s->space_seq, epoch, NULL); /* a spurious return only makes it look again */
}

/* close(): producers asleep at the full ring must see it closed. */
SPN_EXPORT void spn_space_wake_all(struct spn_sched *s)
{
    wake_space_waiters(s);
}

/* Queues fn(arg) from native code outside the workers, with no handle (Spindle.execute's C
 * twin): the worker that runs it recycles the descriptor. 0; EAGAIN when the ring is full;
 * ENOMEM when no descriptor is left; ESHUTDOWN once the ring is closed. */
SPN_EXPORT int spn_sched_execute(struct spn_sched *s, spn_task_fn fn, void *arg)
{
    struct spn_ring *ring = (struct spn_ring *) s->submit;
    if (!fn)
        return EINVAL;
    if (__atomic_load_n(&ring->producer_index, __ATOMIC_ACQUIRE) & SPN_RING_CLOSED)
        return ESHUTDOWN;
    struct spn_task *t = pool_pop(s);
    if (!t)
        return ENOMEM;
    spn_task_set_owners(t, spn_task_gen(t) + 1, 0); /* its next life, as spn_task_alloc does */
    spn_task_prepare(t, (int64_t) fn, (int64_t) arg, SPN_REF_RUN);
    if (!ring_offer(ring, (int64_t) t)) { /* full or closed: nothing saw it */
        spn_task_set_owners(t, spn_task_gen(t), 0);
        spn_task_set_state(t, SPN_TASK_FREE);
        pool_push_one(s, t);
        return __atomic_load_n(&ring->producer_index, __ATOMIC_ACQUIRE) & SPN_RING_CLOSED ? ESHUTDOWN : EAGAIN;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the submitter's StoreLoad of THE RULE */
    spn_wakep(s);
    return 0;
}

/* A Java submitter saw a sleeper and no spinner, and took nspinning from 0 to 1. */
SPN_EXPORT void spn_sched_wake_one(struct spn_sched *s)
{
    wake_one(s);
}

/* Platform-thread join: sleeps on the state word until it is final. 0 or ETIMEDOUT. */
static int wait_word(struct spn_sched *s, int32_t *state, int64_t timeout_ns)
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
        futex_wait(s, state, (uint32_t) cur, relp); /* spurious returns loop */
    }
}

SPN_EXPORT int spn_task_wait(struct spn_sched *s, struct spn_task *t, int64_t timeout_ns)
{
    return wait_word(s, &t->state, timeout_ns);
}

SPN_EXPORT int spn_group_wait(struct spn_sched *s, struct spn_group *g, int64_t timeout_ns)
{
    return wait_word(s, &g->state, timeout_ns);
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
        if (ring_has_published(completions) || lv_i32(&s->poller_stop)) {
            sv_i32(&s->poller_sleeping, 0);
            continue;
        }
        struct timespec rel = to_timespec(timeout_ns);
        int r = futex_wait(s, &s->poller_seq, seq, timeout_ns < 0 ? NULL : &rel);
        int timed_out = r != 0 && errno == ETIMEDOUT;
        sv_i32(&s->poller_sleeping, 0);
        if (timed_out && !ring_has_published(completions))
            return 0;
    }
}

SPN_EXPORT void spn_poller_stop(struct spn_sched *s)
{
    sv_i32(&s->poller_stop, 1);
    xadd(&s->poller_seq, 1);
    futex_wake(s, &s->poller_seq, INT_MAX);
}

/* ---- life cycle --------------------------------------------------------------------------- */

#define COMPLETION_RING_CAPACITY 65536

SPN_EXPORT void spn_sched_destroy(struct spn_sched *s);

/* CPUs this process may run on (its affinity mask), not the machine's. */
static int usable_cpus(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 2;
}

/* The guard-page budget for green-thread stacks: an eighth of the mapping limit.
 * SPINDLE_GUARD_BUDGET overrides it, for tests of unguarded stacks. */
int64_t spn_default_guard_budget(void)
{
    const char *forced = getenv("SPINDLE_GUARD_BUDGET");
    if (forced && *forced)
        return strtoll(forced, NULL, 10);
    long max_map_count = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &max_map_count) != 1)
            max_map_count = 65530;
        fclose(f);
    }
    return max_map_count / 8;
}

static int sched_create(struct spn_region *region, int nworkers, int64_t ring_capacity, int64_t spin_ns,
                        int64_t green_stack_size, struct spn_sched **out)
{
    /* Every argument is checked before anything is allocated: EINVAL means bad input,
     * ENOMEM an allocation that failed (and was undone). */
    if (nworkers < 1 || spin_ns < 0 || green_stack_size < 4096 || ring_capacity < 2
        || ring_capacity > SPN_RING_MAX_CAPACITY || (ring_capacity & (ring_capacity - 1)) != 0)
        return EINVAL;
    size_t size = sizeof(struct spn_sched) + (size_t) nworkers * sizeof(struct spn_worker_stats);
    struct spn_sched *s = memory_alloc(region, size);
    if (!s)
        return ENOMEM;
    /* Zeroed first, so spn_sched_destroy can undo whatever part of the set-up was done. */
    memset(s, 0, size);
    s->nworkers = nworkers;
    s->region = (int64_t) region;
    s->isolated = region ? SPN_ISOLATED : 0;
    /* Spinning waits for work another CPU may submit meanwhile; on one CPU nothing else runs
     * while a worker spins, so the spin only delays the producer it waits for (Go's runtime
     * spins only when ncpu > 1, for the same reason). */
    s->spin_ns = usable_cpus() > 1 ? spin_ns : 0;
    s->submit = (int64_t) ring_create(region, ring_capacity);
    s->completions = (int64_t) ring_create(region, COMPLETION_RING_CAPACITY);
    size_t workers_size = (size_t) nworkers * sizeof(struct spn_worker);
    struct spn_worker *workers = memory_alloc(region, workers_size);
    s->workers = (int64_t) workers;
    if (!s->submit || !s->completions || !workers) {
        spn_sched_destroy(s);
        return ENOMEM;
    }
    memset(workers, 0, workers_size);
    for (int i = 0; i < nworkers; i++) {
        s->stats[i].index = i;
        spn_worker_reset(s, i);
    }
    /* An isolated pool's green threads live in its child, which sets them up itself. */
    if (!region) {
        spn_fiber_runtime_init(s, (size_t) green_stack_size, spn_default_guard_budget());
        if (!s->fibers) {
            spn_sched_destroy(s);
            return ENOMEM;
        }
    }
    *out = s;
    return 0;
}

/* A worker's own state as a new worker has it: at creation, and for an isolated pool's new
 * child after the last one died (isolated.c). */
void spn_worker_reset(struct spn_sched *s, int i)
{
    struct spn_worker *w = worker_at(s, i);
    memset(w, 0, sizeof *w);
    w->sched = s;
    w->stats = &s->stats[i];
    w->index = i;
    w->rng = 0x9e3779b9u * (uint32_t) (i + 1);
    spn_mpsc_init(&w->ready);
}

SPN_EXPORT int spn_sched_create(int nworkers, int64_t ring_capacity, int64_t spin_ns,
                                int64_t green_stack_size, struct spn_sched **out)
{
    return sched_create(NULL, nworkers, ring_capacity, spin_ns, green_stack_size, out);
}

/* An isolated pool's scheduler: everything in the region, workers in the child. */
int spn_sched_create_isolated(struct spn_region *region, int nworkers, int64_t ring_capacity, int64_t spin_ns,
                              int64_t green_stack_size, struct spn_sched **out)
{
    return sched_create(region, nworkers, ring_capacity, spin_ns, green_stack_size, out);
}

/* Tells the workers to stop: SPN_DRAIN after the ring was closed, or SPN_CANCEL. */
SPN_EXPORT void spn_sched_shutdown(struct spn_sched *s, int mode)
{
    sv_i32(&s->shutdown, mode);
    for (int i = 0; i < s->nworkers; i++)
        wake_claimed(worker_at(s, i)); /* each comes out on its own (not claimed) and looks */
}

/* Only after every worker was joined and the poller stopped. */
SPN_EXPORT void spn_sched_destroy(struct spn_sched *s)
{
    /* Also undoes a spn_sched_create that failed half-way: each part may still be 0. */
    if (!s)
        return;
    /* Descriptors in the workers' caches live in the chunks unmapped below. */
    struct spn_region *region = region_of(s);
    if (!region)
        spn_fiber_runtime_destroy(s);
    memory_free(region, (void *) s->workers);
    for (int64_t i = 0; i < s->pool_chunk_count; i++) {
        if (region)
            spn_region_free(region, (void *) s->chunks[i]);
        else
            munmap((void *) s->chunks[i], SPN_POOL_CHUNK_BYTES);
    }
    memory_free(region, (void *) s->submit);
    memory_free(region, (void *) s->completions);
    memory_free(region, s);
}

/* The function of the task worker i runs now, or 0 (a racy look, for a report). */
SPN_EXPORT int64_t spn_sched_running_fn(struct spn_sched *s, int i)
{
    if (s->isolated) /* the fibers are in the child's memory, not here */
        return __atomic_load_n(&worker_at(s, i)->running_fn, __ATOMIC_RELAXED);
    struct spn_fiber *f = __atomic_load_n(&worker_at(s, i)->current, __ATOMIC_ACQUIRE);
    struct spn_task *t = f ? __atomic_load_n(&f->task, __ATOMIC_ACQUIRE) : NULL;
    return t ? __atomic_load_n(&t->fn, __ATOMIC_RELAXED) : 0;
}

SPN_EXPORT struct spn_worker_stats *spn_sched_worker(struct spn_sched *s, int index)
{
    return &s->stats[index];
}

/* Groups: one allocation per batch, freed by the Java handle after the batch is done. */
static struct spn_group *group_alloc(struct spn_sched *s, int64_t count, int32_t row_stride)
{
    size_t size = sizeof(struct spn_group) + (size_t) count * ((size_t) row_stride + 1) + SPN_CALL_ROW_OVERREAD;
    struct spn_group *g = memory_alloc(region_of(s), size);
    if (!g)
        return NULL;
    memset(g, 0, sizeof *g);
    g->state = SPN_TASK_QUEUED;
    g->remaining = count;
    g->count = count;
    g->row_stride = row_stride;
    memset(spn_group_skipped(g), 0, (size_t) count + SPN_CALL_ROW_OVERREAD);
    return g;
}

SPN_EXPORT struct spn_group *spn_group_create(struct spn_sched *s, int64_t count)
{
    return count < 0 ? NULL : group_alloc(s, count, sizeof(int64_t));
}

/* A callAll batch of count calls of fn with int_args integer or pointer and fp_args
 * floating-point arguments, and a result of ret_kind: one row per call, laid out here only
 * (struct spn_group). NULL for a shape no register set holds, or without memory. */
SPN_EXPORT struct spn_group *spn_call_group_create(struct spn_sched *s, int64_t count, int64_t fn, int32_t int_args, int32_t fp_args, int32_t ret_kind)
{
    if (count < 0 || !fn || int_args < 0 || int_args > SPN_CALL_INT_ARG_REGS || fp_args < 0 || fp_args > SPN_CALL_FP_REGS
        || ret_kind < SPN_RET_NONE || ret_kind > SPN_RET_FP)
        return NULL;
    int32_t slots = int_args + fp_args + (ret_kind != SPN_RET_NONE);
    struct spn_group *g = group_alloc(s, count, (slots > 0 ? slots : 1) * (int32_t) sizeof(int64_t));
    if (!g)
        return NULL;
    g->call_fn = fn;
    g->row_fps = (int16_t) (int_args * sizeof(int64_t));
    g->row_ret = (int16_t) ((int_args + fp_args) * sizeof(int64_t));
    g->ret_kind = ret_kind;
    return g;
}

SPN_EXPORT void spn_group_destroy(struct spn_sched *s, struct spn_group *g) { memory_free(region_of(s), g); }

/* ---- an isolated pool's child died (isolated.c) ------------------------------------------- */

/*
 * The JVM side, once the child is reaped, while Java threads go on submitting and joining.
 * Every task the dead child had taken ends as SPN_TASK_CRASHED: those started on a green
 * thread (QUEUED with a fiber), those in a worker's deque, and the one a worker held between
 * a queue and a green thread (spn_hold). Tasks still in the submission ring stay queued for
 * the next child, with the slots a dead worker had claimed but not released put back. Then
 * what the child's code held goes: run references of tasks that ended, native handles
 * (spn_spawn, spn_retain), the workers' descriptor caches; and the workers' state is reset.
 * Returns the number of tasks and batch chunks that crashed.
 */
static int crash_task(struct spn_sched *s, struct spn_task *t, int64_t crash_number)
{
    if ((__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & SPN_TASK_STATE_MASK) != SPN_TASK_QUEUED)
        return 0; /* ended, or crashed already through another list */
    struct spn_group *g = (struct spn_group *) t->group;
    if (g) {
        int64_t members = t->group_end - t->group_slot;
        if (members < 0 || t->group_slot < 0 || t->group_end > g->count)
            return 0; /* not a chunk of this group any more: a stale entry */
        memset(spn_group_skipped(g) + t->group_slot, 1, (size_t) members);
        __atomic_store_n(&g->cancelled, SPN_GROUP_CRASHED, __ATOMIC_RELAXED);
        spn_task_set_state(t, SPN_TASK_CRASHED);
        spn_task_set_owners(t, spn_task_gen(t), 0);
        pool_push_one(s, t);
        if (xadd(&g->remaining, -members) == members)
            finish_word(s, &g->state, SPN_TASK_CRASHED, (int64_t) g | 1);
        return 1;
    }
    t->result = crash_number;
    finish_word(s, &t->state, SPN_TASK_CRASHED, (int64_t) t);
    if ((uint32_t) __atomic_sub_fetch(&t->owners, SPN_REF_RUN, __ATOMIC_ACQ_REL) == 0)
        pool_push_one(s, t);
    return 1;
}

/* Drops the references only the dead child's code could have held: the run of a task that
 * ended (its worker died before it let go), and the handles beyond those Java Tasks hold. */
static void drop_child_references(struct spn_sched *s, struct spn_task *t)
{
    uint64_t owners = __atomic_load_n(&t->owners, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t refs = (uint32_t) owners;
        if (refs == 0)
            return;
        uint32_t java = refs & SPN_REF_JAVA_MASK;
        uint32_t java_handles = (java / SPN_REF_JAVA) * SPN_REF_HANDLE;
        int ended = (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & SPN_TASK_STATE_MASK) >= SPN_TASK_DONE;
        uint32_t run = ended ? 0 : refs & SPN_REF_RUN;
        uint32_t kept = run | java | java_handles;
        if (kept == refs)
            return;
        uint64_t updated = (owners & ~(uint64_t) UINT32_MAX) | kept;
        if (__atomic_compare_exchange_n(&t->owners, &owners, updated, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            if (kept == 0)
                pool_push_one(s, t);
            return;
        }
    }
}

int64_t spn_isolated_recover(struct spn_sched *s, int64_t crash_number)
{
    struct spn_ring *submit = (struct spn_ring *) s->submit;
    int64_t requeue[SPN_MAX_WORKERS_RECOVERED];
    int nrequeue = 0;
    int64_t consumed = __atomic_load_n(&submit->consumer_index, __ATOMIC_ACQUIRE);
    for (int64_t i = consumed > submit->capacity ? consumed - submit->capacity : 0; i < consumed; i++) {
        struct spn_ring_slot *slot = &submit->slots[i & submit->mask];
        if (__atomic_load_n(&slot->sequence, __ATOMIC_ACQUIRE) == i + 1 && nrequeue < SPN_MAX_WORKERS_RECOVERED) {
            requeue[nrequeue++] = slot->element;
            __atomic_store_n(&slot->sequence, i + submit->capacity, __ATOMIC_RELEASE);
        }
    }
    int64_t crashed = 0;
    int64_t known = __atomic_load_n(&s->pool_chunk_count, __ATOMIC_ACQUIRE) * SPN_POOL_CHUNK;
    for (int64_t i = 0; i < known; i++) {
        struct spn_task *t = task_at(s, (int32_t) i);
        if (__atomic_load_n(&t->fiber, __ATOMIC_ACQUIRE) != 0)
            crashed += crash_task(s, t, crash_number);
    }
    for (int k = 0; k < s->nworkers; k++) {
        struct spn_worker *w = worker_at(s, k);
        int64_t top = __atomic_load_n(&w->deque.top, __ATOMIC_ACQUIRE);
        int64_t bottom = __atomic_load_n(&w->deque.bottom, __ATOMIC_ACQUIRE);
        for (int64_t i = top; i < bottom && i - top < SPN_DEQUE_CAPACITY; i++) {
            struct spn_task *t = w->deque.slots[i & (SPN_DEQUE_CAPACITY - 1)];
            if (t)
                crashed += crash_task(s, t, crash_number);
        }
        struct spn_task *held = __atomic_load_n(&w->holding, __ATOMIC_ACQUIRE);
        if (held)
            crashed += crash_task(s, held, crash_number);
    }
    for (int64_t i = 0; i < known; i++)
        drop_child_references(s, task_at(s, (int32_t) i));
    /* The dead workers' descriptor caches, as far as their links can be trusted. */
    for (int k = 0; k < s->nworkers; k++) {
        struct spn_task *t = worker_at(s, k)->task_cache;
        for (int n = 0; t && n <= TASK_CACHE_MAX; n++) {
            if (t->index < 0 || t->index >= known || task_at(s, t->index) != t || t->refs != 0)
                break;
            struct spn_task *next = (struct spn_task *) t->arg;
            pool_push_one(s, t);
            t = next;
        }
    }
    for (int k = 0; k < s->nworkers; k++) {
        spn_worker_reset(s, k);
        __atomic_store_n(&s->stats[k].tid, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s->stats[k].stacks, 0, __ATOMIC_RELAXED); /* they died with the child */
    }
    __atomic_store_n(&s->nspinning, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->nparked, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->watcher, 0, __ATOMIC_SEQ_CST);
    s->fibers = 0;
    for (int i = 0; i < nrequeue; i++)
        while (!ring_offer(submit, requeue[i]))
            sched_yield(); /* the ring was full before the slots went back: there is room now */
    return crashed;
}

/* The worker whose green thread has run its task for longer than deadline_ns, or -1. */
int spn_isolated_overdue(struct spn_sched *s, int64_t deadline_ns)
{
    int64_t now = now_ns();
    for (int k = 0; k < s->nworkers; k++) {
        int64_t since = __atomic_load_n(&worker_at(s, k)->running_since, __ATOMIC_RELAXED);
        if (since != 0 && now - since > deadline_ns)
            return k;
    }
    return -1;
}

/* No child will take them: every task still in the submission ring ends as crashed. The
 * ring is closed or no child runs, so only offers claimed before that can still appear:
 * wait for those too. */
int64_t spn_isolated_fail_queued(struct spn_sched *s, int64_t crash_number)
{
    struct spn_ring *submit = (struct spn_ring *) s->submit;
    int64_t failed = 0;
    for (;;) {
        int64_t e = ring_poll(submit);
        if (e) {
            failed += crash_task(s, (struct spn_task *) e, crash_number);
            continue;
        }
        if (ring_is_drained(submit) || !(__atomic_load_n(&submit->producer_index, __ATOMIC_ACQUIRE) & SPN_RING_CLOSED))
            return failed;
        sched_yield(); /* a producer claimed a slot before the close and publishes it now */
    }
}
