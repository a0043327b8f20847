/*
 * worker.h: what only C sees of a worker: its green threads (fibers), its work-stealing
 * deque and its queue of green threads ready to resume. Internal to the scheduler library.
 */
#ifndef SPINDLE_WORKER_H
#define SPINDLE_WORKER_H

#include "spindle.h"
#include "spindle_sched.h"

#include <stddef.h>
#include <stdint.h>

/* ---- fibers ---------------------------------------------------------------------------------
 * A fiber's stack, carved from a slab (fiber.c):
 *
 *   | guard, 64 KiB | red zone, 4 KiB | ...stack grows down... | spn_fiber |
 *
 * The guard is PROT_NONE for the stacks within the mapping budget ("guarded"), and a spare
 * range of the slot, mapped but never used, for the others: a frame that runs past the red
 * zone lands in its own slot first, not in the neighbour's. The red zone's top words hold a
 * pattern, checked at every entry into spindle.h's API and when a task ends: a stack that
 * reached them has overflowed. A fault in the guard ends the process with the same report
 * (fiber.c's SIGSEGV handler, on the worker's signal stack).
 */
enum spn_fiber_state {
    SPN_FIBER_IDLE,     /* no task: in a free list */
    SPN_FIBER_RUNNING,
    SPN_FIBER_BLOCKED,  /* parked in spn_join on a task's waiter list */
    SPN_FIBER_READY,    /* in its worker's ready queue */
    SPN_FIBER_FINISHED, /* its task ended; the scheduler takes the fiber back */
};

struct spn_fiber {
    void *sp;                   /* saved stack pointer while not running */
    struct spn_task *task;
    struct spn_worker *owner;   /* a started fiber never leaves its worker */
    struct spn_fiber *_Atomic next; /* waiter list, ready queue or free list: one at a time */
    uint64_t *red_zone_top;     /* the checked words */
    size_t stack_size;
    int32_t state;
    int32_t guarded;
    int64_t batch_slot;         /* running a chunk of a batch: the member (or row) running now */
    void *exit_buf;             /* where pthread_exit from this green thread's task ends (green.c) */
    int64_t started_ns;         /* when its task started: isolated pools with a deadline only */
} __attribute__((aligned(64)));

/* ---- the deque (Chase-Lev, as corrected for C11 by Lê, Pop, Cohen and Zappa Nardelli) ------
 * The owner pushes and pops at the bottom (LIFO: the newest child, hot in cache); thieves
 * take from the top (FIFO: the oldest, usually the biggest piece of work). Fixed capacity:
 * a spawn that finds it full runs the child at once instead.
 */
#define SPN_DEQUE_CAPACITY 8192

struct spn_deque {
    int64_t top;
    char pad0[56];
    int64_t bottom;
    char pad1[56];
    struct spn_task *_Atomic slots[SPN_DEQUE_CAPACITY];
};

/* ---- the ready queue (Vyukov's intrusive MPSC queue) -----------------------------------------
 * Any worker pushes a fiber it woke (the end of a task this fiber joined); only the owner
 * pops. FIFO, so two green threads that yield to each other alternate strictly.
 */
struct spn_mpsc {
    struct spn_fiber *_Atomic head; /* producers exchange here */
    char pad0[56];
    struct spn_fiber *tail;         /* the owner pops here */
    struct spn_fiber stub;
};

enum spn_park {
    SPN_AWAKE = 0,
    SPN_PARKED = 1,  /* asleep, or about to be */
    SPN_CLAIMED = 2, /* a waker chose it and counted it as spinning: it must not count itself */
};

struct spn_worker {
    struct spn_sched *sched;
    struct spn_worker_stats *stats;
    int32_t index;
    void *scheduler_sp;         /* the worker loop's own context while a fiber runs */
    struct spn_fiber *current;  /* the fiber running now, or NULL in the worker loop */
    int64_t live_fibers;        /* started and not yet finished (running, blocked or ready) */
    struct spn_fiber *free_fibers;
    int32_t free_count;
    int32_t task_cache_count;
    struct spn_task *task_cache; /* free descriptors, linked through arg: no atomics */
    int32_t yielded;            /* the last fiber yielded: look for new work before resuming */
    uint32_t rng;
    uint32_t tick;
    void *signal_stack;         /* the worker's sigaltstack (fiber.c), set before its first fiber runs */
    uintptr_t thread_stack[4];  /* its TCB's stack fields as the runtime set them (spn_tcb_show_*) */
    void *thread_exit_buf;      /* and its TCB's exit buffer (the worker thread's entry) */
    int *errno_addr;            /* its errno, which its green threads share (green.c, spn_join) */
    /* An isolated pool's (isolated.c): what the JVM needs to know if this worker's process
     * dies. holding: a task taken from a queue and not yet on a green thread (set before
     * it leaves the queue); running_since: when the task on its green thread now started. */
    struct spn_task *_Atomic holding;
    int64_t running_since;
    int64_t running_fn;         /* the function of the task on its green thread now, or 0 */
    /* Parking, on a line of its own: wakers on other CPUs write it. */
    int32_t parked __attribute__((aligned(64))); /* enum spn_park */
    uint32_t park_seq;          /* the futex this worker sleeps on; every wake-up bumps it */
    int32_t poked;              /* woken to take the watcher's place (sched.c), not for work */
    char pad[52];
    struct spn_deque deque;
    struct spn_mpsc ready;
};

/* fiber.c */
/* What glibc believes of the running code: its stack (pthread_getattr_np,
 * __libc_alloca_cutoff) and where pthread_exit unwinds to, in the worker's struct pthread at
 * the offsets the runtime found (spn_tcb_layout; unknown until Java passes them on). While a
 * green thread runs they are the green thread's, and the worker's own again once the worker
 * loop has it back. */
void spn_tcb_show_fiber(struct spn_fiber *f);
void spn_tcb_save_thread(struct spn_worker *w);
void spn_tcb_show_thread(struct spn_worker *w);
/* After a pthread_exit caught at f's exit buffer: the value it gave, with the worker's TCB
 * no longer marked exiting and f's buffer shown again. */
intptr_t spn_tcb_take_fiber_exit(struct spn_fiber *f);
/* The worker's own stack, and no exit buffer: for code run on that stack from a green thread. */
void spn_tcb_show_worker_stack(struct spn_worker *w);
void spn_fiber_runtime_init(struct spn_sched *s, size_t stack_size, int64_t guard_budget);
void spn_fiber_runtime_destroy(struct spn_sched *s);
struct spn_fiber *spn_fiber_get(struct spn_worker *w);
void spn_fiber_put(struct spn_worker *w, struct spn_fiber *f);
void spn_ctx_switch(void **save_sp, void *load_sp);
void spn_call_on_stack(void *stack_top, void (*fn)(void *), void *arg) __attribute__((noreturn));
intptr_t spn_run_on_stack(void *stack_top, intptr_t (*fn)(void *), void *arg);
/* The full red-zone check (the stack pointer and every word of the pattern), where a task
 * ends or its green thread leaves the worker (a join that parks, a yield): it also catches
 * an overflow that has returned since. */
void spn_fiber_check_stack(struct spn_fiber *f);
void spn_fiber_overflow(struct spn_fiber *f) __attribute__((noreturn, cold));

#define SPN_RED_ZONE_WORDS 8
#define SPN_RED_ZONE_PATTERN UINT64_C(0x21454c444e495053) /* "SPINDLE!" */

static inline char *spn_stack_pointer(void)
{
    char *sp;
#if defined(__x86_64__)
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#else
#error "no green-thread context switch for this architecture"
#endif
    return sp;
}

/* The check on the hot paths (spawn, a join that runs its child inline): the caller's stack
 * pointer is above the red zone and the red zone's highest word, the first a growing stack
 * reaches, is intact. Inline and two compares: fork-join code calls it twice per child, and
 * the full eight-word loop as a call cost a third of fib(25)'s time. */
static inline void spn_fiber_check_stack_fast(struct spn_fiber *f)
{
    uint64_t *top_word = f->red_zone_top + SPN_RED_ZONE_WORDS - 1;
    if (__builtin_expect(spn_stack_pointer() <= (char *) top_word || *top_word != SPN_RED_ZONE_PATTERN, 0))
        spn_fiber_overflow(f);
}

/* ---- the floating-point environment of a task ------------------------------------------
 * Every task that starts on a green thread (from a queue, or as a member of a batch) starts
 * with the environment a thread gets when nothing set it: round to nearest, every exception
 * masked, no flush-to-zero (x86-64: MXCSR 0x1f80 and the x87 control word 0x037f; AArch64:
 * FPCR 0). The context switch keeps each fiber's control state, so without this a task
 * would inherit whatever the last task on its recycled fiber left behind. The reset is two
 * loads (ldmxcsr, fldcw: ~4 ns here), not a read and a compare: reading MXCSR (stmxcsr)
 * costs ~6 ns on this machine's AMD EPYC, and two reads per inline child took a third of fork-join
 * fib's samples (perf). For the same reason a child that runs inline in its parent's spn_join is a
 * call on the parent's green thread and shares its environment, as any function call does
 * (spindle.h says so). */
typedef uint64_t spn_fp_env;

#if defined(__x86_64__)
#define SPN_FP_ENV_DEFAULT (UINT64_C(0x1f80) | UINT64_C(0x037f) << 32)

static inline void spn_fp_env_set(spn_fp_env env)
{
    uint16_t cw = (uint16_t) (env >> 32);
    __builtin_ia32_ldmxcsr((uint32_t) env);
    __asm__ volatile("fldcw %0" : : "m"(cw));
}
#elif defined(__aarch64__)
#define SPN_FP_ENV_DEFAULT UINT64_C(0)

static inline void spn_fp_env_set(spn_fp_env env)
{
    __asm__ volatile("msr fpcr, %0" : : "r"(env));
}
#else
#error "no green-thread context switch for this architecture"
#endif

/* Gives the task about to start the default environment. */
static inline void spn_fp_env_reset(void)
{
    spn_fp_env_set(SPN_FP_ENV_DEFAULT);
}

/* A descriptor's shared words are only ever accessed atomically. A stale or misused handle
 * may read or cas owners, and read state, from another thread at any moment, and in C11 a
 * plain store racing with that is undefined (x86 forgives it; the language, and a weaker
 * machine, do not). Relaxed is enough for these stores: the queue, the deque or the word that
 * hands the descriptor on orders everything else. owners is one 64-bit word: never half of
 * it (gen or refs alone), as the handles' cas takes it whole. */
static inline uint32_t spn_task_gen(struct spn_task *t)
{
    return (uint32_t) (__atomic_load_n(&t->owners, __ATOMIC_RELAXED) >> 32);
}

static inline void spn_task_set_owners(struct spn_task *t, uint32_t gen, uint32_t refs)
{
    __atomic_store_n(&t->owners, (uint64_t) gen << 32 | refs, __ATOMIC_RELAXED);
}

static inline void spn_task_set_state(struct spn_task *t, int32_t state)
{
    __atomic_store_n(&t->state, state, __ATOMIC_RELAXED);
}

/* A descriptor of one's own (refs 0) starts a life as fn(arg), queued, with these owners. */
static inline void spn_task_prepare(struct spn_task *t, int64_t fn, int64_t arg, uint32_t refs)
{
    t->fn = fn;
    t->arg = arg;
    t->result = 0;
    t->group = 0;
    t->waiters = 0;
    t->fiber = 0;
    spn_task_set_owners(t, spn_task_gen(t), refs);
    spn_task_set_state(t, SPN_TASK_QUEUED);
}

/* sched.c, for green.c */
void spn_complete(struct spn_worker *w, struct spn_task *t, int64_t result, int32_t final_state);
/* Whether owners (a descriptor's gen << 32 | refs) holds, in life gen, a handle reference
 * that native code may give back: one of those no Java Task holds. */
static inline int spn_native_ref_of(uint64_t owners, uint32_t gen)
{
    uint32_t refs = (uint32_t) owners;
    return (uint32_t) (owners >> 32) == gen
        && (refs & SPN_REF_HANDLE_MASK) / SPN_REF_HANDLE > (refs & SPN_REF_JAVA_MASK) / SPN_REF_JAVA;
}

/* Drops the handle reference a spindle.h caller gives back; SPN_E_INVALID if handle names no
 * live reference (given back already, or held by a Java Task). */
int spn_handle_release(struct spn_worker *w, struct spn_task *t, uint32_t gen);
/* Gives a descriptor nobody owns any more to w's cache (no atomics). */
void spn_task_free(struct spn_worker *w, struct spn_task *t);
/* A free descriptor with its generation advanced (a new life), or NULL. */
struct spn_task *spn_task_alloc(struct spn_worker *w);
/* Runs rows first..end-1 of a callAll batch (call_*.S), writing each row's index to
 * *running_row before its call; returns the first row it did not run: end, or earlier once
 * shutdownNow() came, or when may_split and a worker is hungry. */
int64_t spn_call_rows(struct spn_group *g, int64_t first, int64_t end, const struct spn_sched *s, int64_t may_split,
                      int64_t *running_row);
/* The descriptor a handle names, and the life it names; NULL for 0 or a foreign value. */
struct spn_task *spn_task_of_handle(struct spn_sched *s, spn_task_t *handle, uint32_t *gen);
spn_task_t *spn_handle_of(struct spn_task *t);
void spn_wakep(struct spn_sched *s);
void spn_ready(struct spn_sched *s, struct spn_fiber *f);
extern __thread struct spn_worker *spn_current_worker;

/* deque and ready queue operations (green.c) */
int spn_deque_push(struct spn_deque *d, struct spn_task *t);
struct spn_task *spn_deque_pop(struct spn_deque *d);
struct spn_task *spn_deque_steal(struct spn_deque *d, int *lost_race);
int spn_deque_is_empty(struct spn_deque *d);
void spn_mpsc_init(struct spn_mpsc *q);
void spn_worker_reset(struct spn_sched *s, int i);
struct spn_task *spn_deque_pop_held(struct spn_worker *w);
struct spn_task *spn_deque_steal_held(struct spn_worker *w, struct spn_deque *d, int *lost_race);
int64_t spn_now_ns(void);
/* Green stacks that may get a PROT_NONE guard: an eighth of the kernel's mapping limit. */
int64_t spn_default_guard_budget(void);

/* struct spn_sched's isolated: its workers are in a child process, and tasks have a deadline. */
#define SPN_ISOLATED 1
#define SPN_ISOLATED_DEADLINE 2

/* An isolated pool (isolated.c): the worker is about to take t from a queue (t may be NULL:
 * nothing held). A store, and only in an isolated pool. */
static inline void spn_hold(struct spn_worker *w, struct spn_task *t)
{
    if (__builtin_expect(w->sched->isolated, 0))
        __atomic_store_n(&w->holding, t, __ATOMIC_SEQ_CST);
}
void spn_mpsc_push(struct spn_mpsc *q, struct spn_fiber *f);
struct spn_fiber *spn_mpsc_pop(struct spn_mpsc *q);
int spn_mpsc_is_empty(struct spn_mpsc *q);

#endif /* SPINDLE_WORKER_H */
