/*
 * spindle_sched.h: every off-heap structure the scheduler shares between Java and C,
 * defined once, here. The Java mirror (io.spindle.scheduler.internal.Layout) reads the same
 * fields through VarHandles and checks its offsets against spn_sched_layout() when the
 * library loads; a mismatch stops the load.
 *
 * Access discipline (JCTools' names, on both sides of the language boundary):
 *   lv_/lvX  load-acquire ("volatile load")     sv_  seq-cst store
 *   lp_      plain (relaxed) load                sp_  plain (relaxed) store
 *   so_      store-release ("ordered store")     cas_ compare-and-swap (seq-cst)
 *   xchg_    atomic exchange                     xadd_ atomic fetch-and-add
 */
#ifndef SPINDLE_SCHED_H
#define SPINDLE_SCHED_H

/* Constants the assembly (call_*.S) includes this header for; the rest is C only. What the
 * row loop reads: offsets in the group header (struct spn_group), and the return kinds. */
#define SPN_GROUP_CALL_FN 24
#define SPN_GROUP_ROW_STRIDE 32
#define SPN_GROUP_ROW_FPS 36
#define SPN_GROUP_ROW_RET 38
#define SPN_GROUP_RET_KIND 40
#define SPN_GROUP_ROWS 64
#define SPN_RET_NONE 0
#define SPN_RET_INT 1 /* rax / x0 */
#define SPN_RET_FP 2  /* xmm0 / d0, as raw bits */
/* The loop may load argument registers from each row past the arguments the row has (all of
 * them on AArch64): a register the callee does not read may hold anything, but the load must
 * not fault. */
#define SPN_CALL_ROW_OVERREAD 128
/* enum spn_shutdown's SPN_CANCEL: from it on a batch's remaining rows are cancelled. */
#define SPN_SHUTDOWN_CANCEL 2
/* Where the row loop looks in struct spn_sched: shutdown, and whether a worker is hungry. */
#define SPN_SCHED_NSPINNING_OFFSET 128
#define SPN_SCHED_NPARKED_OFFSET 132
#define SPN_SCHED_SHUTDOWN_OFFSET 140

#ifndef __ASSEMBLER__
#include <stdint.h>

#define SPN_EXPORT __attribute__((visibility("default")))
#define SPN_CACHE_LINE 64

/* ---------------------------------------------------------------------------------------
 * The ring: a bounded MPMC queue of non-zero 64-bit elements, Vyukov's algorithm as JCTools'
 * MpmcArrayQueue implements it (sequence-numbered slots), off-heap. Java threads offer
 * submissions; C workers poll them; the completion ring runs the other way.
 *
 * producerIndex(8b), pad(56b) | pad(64b) | consumerIndex(8b), pad(56b) | pad(64b) |
 * capacity(8b), mask(8b), pad(48b) | slot[0] = sequence(8b), element(8b) | slot[1] ...
 *
 * Slot i starts with sequence i. A producer that claims index p (cas on producerIndex)
 * writes the element, then so_ sequence = p + 1. A consumer that claims index c waits for
 * sequence c + 1, takes the element, then so_ sequence = c + capacity (free for the
 * producer one lap later). Bit 62 of producerIndex closes the ring: no offer succeeds after
 * it is set, so "accepted" and "rejected" are decided by one cas.
 * ------------------------------------------------------------------------------------- */
#define SPN_RING_CLOSED (INT64_C(1) << 62)

struct spn_ring_slot {
    int64_t sequence;
    int64_t element;
};

struct spn_ring {
    int64_t producer_index;
    char pad0[56];
    char pad1[64];
    int64_t consumer_index;
    char pad2[56];
    char pad3[64];
    int64_t capacity;
    int64_t mask;
    char pad4[48];
    struct spn_ring_slot slots[];
};

/* ---------------------------------------------------------------------------------------
 * A task descriptor: one cache line, recycled through the pool below.
 *
 * fn(8b), arg|group_end(8b), result|{next_free(4b), group_slot(4b)}(8b), refs(4b), gen(4b) |
 * state(4b), index(4b), group(8b), waiters(8b), fiber(8b)
 *
 * state is the futex joiners sleep on. refs counts owners (SPN_REF_*): the run (dropped by
 * the worker when the task ends) and the handles (from spn_spawn or spn_retain, a Java Task;
 * dropped by a join or a detach). The last owner pushes the descriptor back to the pool.
 * gen counts the descriptor's lives: a handle is (gen << 32 | index + 1), not an address, so
 * a handle used after it was given back (a second join, a second detach) names an old life
 * and is refused instead of touching the task that lives there now. refs and gen share one
 * 64-bit word so that checking a handle's life and dropping its reference are one cas.
 * next_free (while free) and group_slot (a chunk of a batch) share a word with result, which
 * neither uses. waiters lists the green threads parked in spn_join on this task; the task's
 * end swaps in SPN_WAITERS_CLOSED. fiber is 0 until the task starts: only such tasks may be
 * stolen.
 *
 * A descriptor with a group is a *chunk* of a batch (spawnAll): the batch's tasks
 * group_slot .. group_end-1, run one after another on one green thread. Their arguments are
 * in the group's results array (below), each replaced by its task's result. A member that
 * parks or yields first moves the members after it to a chunk of their own on its worker's
 * deque (green.c), so no member ever waits for a sibling that happens to share its chunk.
 * ------------------------------------------------------------------------------------- */
enum spn_task_state {
    SPN_TASK_FREE = 0,
    SPN_TASK_QUEUED = 1,
    SPN_TASK_RUNNING = 2,
    SPN_TASK_DONE = 3,
    SPN_TASK_CANCELLED = 4,
    SPN_TASK_FAILED = 5,  /* could not start: no stack for its green thread */
    SPN_TASK_CRASHED = 6, /* an isolated pool's child died while it ran (isolated.c) */
};
#define SPN_TASK_STATE_MASK 0xff
#define SPN_TASK_WAITER_FUTEX 0x100 /* a platform thread sleeps on the word: FUTEX_WAKE it */
#define SPN_TASK_WAITER_JAVA 0x200  /* a Java waiter is registered: tell the poller */
#define SPN_WAITERS_CLOSED 1        /* in waiters: the task has ended, join without parking */

/* refs: bit 0 the run, bits 1-22 the handles (100,000 green threads may each retain one
 * gate task), bits 23-31 how many of those Java Tasks hold (native code may give back only
 * the handles Java does not hold). */
#define SPN_REF_RUN 1u
#define SPN_REF_HANDLE 2u
#define SPN_REF_HANDLE_MASK 0x007ffffeu
#define SPN_REF_JAVA (1u << 23)
#define SPN_REF_JAVA_MASK 0xff800000u

struct spn_task {
    int64_t fn;
    union {
        int64_t arg;
        int64_t group_end; /* a chunk of a batch: one past its last slot */
    };
    union {
        int64_t result;
        struct {
            int32_t next_free; /* index + 1 of the next free descriptor; 0 ends the list */
            int32_t group_slot;
        };
    };
    union {
        uint64_t owners; /* gen << 32 | refs */
        struct {
            uint32_t refs;
            uint32_t gen;
        };
    };
    int32_t state;
    int32_t index;
    int64_t group;   /* struct spn_group * or 0 */
    int64_t waiters; /* struct spn_fiber * list, or SPN_WAITERS_CLOSED */
    int64_t fiber;   /* struct spn_fiber * once started */
};

/* ---------------------------------------------------------------------------------------
 * A group: a batch (spawnAll or callAll), one allocation for the whole batch.
 *
 * state(4b), cancelled(4b), remaining(8b), count(8b), call_fn(8b), row_stride(4b),
 * row_fps(2b), row_ret(2b), ret_kind(4b), pad(20b) | rows[count] (row_stride bytes each) |
 * skipped[count] (1b each) | SPN_CALL_ROW_OVERREAD bytes the row loop may read past the rows
 *
 * A spawnAll batch (call_fn 0) has rows of one slot: row i holds task i's argument until the
 * task replaces it with its result. A callAll batch (call_fn the C function) has a row per
 * call, as compact as its signature allows: its integer and pointer arguments from byte 0,
 * its floating-point ones from row_fps, then the one result slot at row_ret (ret_kind
 * says which register goes there, or none). spn_call_group_create lays a row out; Java reads
 * the layout back from the header, so it is defined here only.
 *
 * Each chunk subtracts its task count from remaining when it ends; the one that takes it to
 * zero sets state to DONE (CANCELLED if any task was skipped) and wakes the joiners, as a task
 * does. skipped[i] is set for a task that never ran (shutdownNow() cancelled it, or the
 * runtime closed before the batch could be queued), so the results of those that did run
 * are kept.
 * ------------------------------------------------------------------------------------- */
/* In a group's cancelled word: tasks of the batch were skipped because an isolated pool's
 * child died while a chunk of it ran (1 is shutdownNow's). */
#define SPN_GROUP_CRASHED 2

struct spn_group {
    int32_t state;
    int32_t cancelled; /* some task of the batch was skipped: 1, or SPN_GROUP_CRASHED */
    int64_t remaining;
    int64_t count;
    int64_t call_fn;    /* callAll: the function every row calls; spawnAll: 0 */
    int32_t row_stride; /* bytes per row: 8 for spawnAll */
    int16_t row_fps;    /* callAll: the first floating-point argument's offset in a row */
    int16_t row_ret;    /* callAll: the result slot's offset in a row */
    int32_t ret_kind;   /* SPN_RET_* */
    char pad1[20];
    int64_t results[];  /* the rows */
};

static inline uint8_t *spn_group_row(struct spn_group *g, int64_t i)
{
    return (uint8_t *) g->results + i * g->row_stride;
}

static inline uint8_t *spn_group_skipped(struct spn_group *g)
{
    return spn_group_row(g, g->count);
}


/* ---------------------------------------------------------------------------------------
 * A typed call (Spindle.call): a C function of any scalar signature, run as the task
 * spn_call_task(row). Java writes the function and its arguments where the ABI wants them
 * (integers and pointers in the integer argument registers, in order, already widened to 64
 * bits as the declared types say; floats and doubles in the vector registers); the worker
 * loads every one of them, calls, and returns the register ret_kind names (xmm0 / d0 as raw
 * bits for SPN_RET_FP, else rax / x0) as the task's result, which Java narrows. No
 * per-signature code, no interpretation.
 *
 * fn(8b), ret_kind(4b), pad(52b) | ints[8] (8b each) | fps[8] (8b each)
 *
 * Every descriptor has a row of its own, after its chunk's descriptors (the descriptor pool
 * below), read only by the run: a call allocates nothing. x86-64 SysV passes 6 integers and
 * 8 floating-point values in registers, AArch64 8 and 8; a signature with more (they would
 * go on the stack) is refused in Java. For a float, the low 32 bits of its slot hold it, as
 * the low half of the register does.
 * ------------------------------------------------------------------------------------- */
#define SPN_CALL_INT_REGS 8
/* The integer argument registers the ABI has (the row loop's jump table has an entry each). */
#if defined(__x86_64__)
#define SPN_CALL_INT_ARG_REGS 6
#else
#define SPN_CALL_INT_ARG_REGS 8
#endif
#define SPN_CALL_FP_REGS 8

struct spn_call {
    int64_t fn;
    int32_t ret_kind; /* SPN_RET_* */
    char pad0[52];
    int64_t ints[SPN_CALL_INT_REGS];
    int64_t fps[SPN_CALL_FP_REGS];
};

/* ---------------------------------------------------------------------------------------
 * The descriptor pool: descriptors live in chunks of SPN_POOL_CHUNK that are allocated as
 * the number of live tasks grows and freed when the runtime closes. A chunk is one mapping:
 * its descriptors, then a typed call row (struct spn_call) for each, at SPN_POOL_CALL_ROWS;
 * a row's pages are touched only once a call uses it. Free descriptors form
 * a Treiber stack linked through next_free; the head packs a 32-bit tag (against ABA on
 * pop) with index + 1:   head = tag << 32 | (index + 1),  0 in the low half = empty.
 * ------------------------------------------------------------------------------------- */
#define SPN_POOL_CHUNK_SHIFT 12
#define SPN_POOL_CHUNK (1 << SPN_POOL_CHUNK_SHIFT)
#define SPN_POOL_MAX_CHUNKS 1024 /* 4 M live tasks */
#define SPN_POOL_CALL_ROWS (SPN_POOL_CHUNK * 64) /* bytes: after the chunk's descriptors */
#define SPN_POOL_CHUNK_BYTES (SPN_POOL_CALL_ROWS + SPN_POOL_CHUNK * 192)

/* ---------------------------------------------------------------------------------------
 * Per-worker counters: written only by their worker (relaxed), read by anyone (racy
 * snapshots, fine for statistics). One line each so workers do not share lines.
 *
 * tasks_run(8b), parks(8b), wakeups(8b), steals(8b), cancelled(8b), tid(8b), index(8b), stacks(8b)
 * ------------------------------------------------------------------------------------- */
struct spn_worker_stats {
    int64_t tasks_run;
    int64_t parks;
    int64_t wakeups;
    int64_t steals;
    int64_t cancelled;
    int64_t tid;
    int64_t index;
    int64_t stacks; /* green-thread stacks this worker holds (running, parked or cached) */
};

/* ---------------------------------------------------------------------------------------
 * The scheduler's control block.
 *
 * submit(8b), completions(8b), pool_chunk_count(8b), spin_ns(8b), nworkers(4b), pad(4b),
 * workers(8b), fibers(8b), pad(8b) |
 * pool_head(8b), pad(56b) |
 * nspinning(4b), nparked(4b), wake_rotor(4b), shutdown(4b), watcher(4b), pad(44b) |
 * poller_sleeping(4b), poller_seq(4b), poller_stop(4b), pad(52b) |
 * space_waiters(4b), space_signalled(4b), space_seq(4b), space_parkers(4b), pad(48b) |
 * chunks[SPN_POOL_MAX_CHUNKS] (8b each) | stats[nworkers] (64b each)
 *
 * Each worker sleeps on a futex word of its own (struct spn_worker, worker.h), so a wake-up
 * reaches one chosen worker: the owner of a green thread that became ready, or any parked
 * worker for new work.
 * ------------------------------------------------------------------------------------- */
enum spn_shutdown {
    SPN_RUNNING = 0,
    SPN_DRAIN = 1,  /* close(): run everything accepted, then exit */
    SPN_CANCEL = SPN_SHUTDOWN_CANCEL, /* shutdownNow(): cancel what has not started, then exit */
};

/* In the completion ring, beside task addresses and groups (address | 1): a worker freed a
 * submission slot while Java producers waited for one. */
#define SPN_COMPLETION_SPACE 2

struct spn_sched {
    int64_t submit;          /* struct spn_ring * */
    int64_t completions;     /* struct spn_ring *: tasks whose Java waiters must be told */
    int64_t pool_chunk_count;
    int64_t spin_ns;
    int32_t nworkers;
    int32_t isolated; /* its workers are in a child process (region.h): shared futexes */
    int64_t workers; /* struct spn_worker[nworkers]: C only (worker.h) */
    int64_t fibers;  /* the fiber stack allocator: C only (fiber.c), the workers' process's */
    int64_t region;  /* struct spn_region * everything above lives in, or 0 */

    uint64_t pool_head;
    char pad1[56];

    int32_t nspinning;  /* workers looking for work without sleeping, and workers woken to */
    int32_t nparked;    /* workers asleep (or about to be) on their own futex */
    uint32_t wake_rotor; /* where the next search for a parked worker starts */
    int32_t shutdown;
    int32_t watcher;    /* 1 while a parked worker sleeps with a timeout to look at the deques */
    char pad2[44];

    int32_t poller_sleeping; /* the Java completion poller sleeps on poller_seq */
    uint32_t poller_seq;
    int32_t poller_stop;
    char pad3[52];

    /* Java producers waiting for a free submission slot: platform threads sleep on space_seq,
     * virtual threads (space_parkers of them) park until the poller hears SPACE. */
    int32_t space_waiters;
    int32_t space_signalled; /* a wake-up for them is on its way: the next one waits for a reset */
    uint32_t space_seq;
    int32_t space_parkers;
    char pad4[48];

    int64_t chunks[SPN_POOL_MAX_CHUNKS];
    struct spn_worker_stats stats[];
};

/* ---------------------------------------------------------------------------------------
 * Layout keys: spn_sched_layout(key) returns the offset or size the Java mirror expects.
 * The Java enum lists the same keys in the same order.
 * ------------------------------------------------------------------------------------- */
enum spn_layout_key {
    SPN_L_RING_PRODUCER_INDEX,
    SPN_L_RING_CONSUMER_INDEX,
    SPN_L_RING_CAPACITY,
    SPN_L_RING_MASK,
    SPN_L_RING_SLOTS,
    SPN_L_RING_SLOT_SIZE,
    SPN_L_RING_SLOT_SEQUENCE,
    SPN_L_RING_SLOT_ELEMENT,
    SPN_L_TASK_SIZE,
    SPN_L_TASK_FN,
    SPN_L_TASK_ARG,
    SPN_L_TASK_RESULT,
    SPN_L_TASK_STATE,
    SPN_L_TASK_REFS,
    SPN_L_TASK_INDEX,
    SPN_L_TASK_NEXT_FREE,
    SPN_L_TASK_GROUP,
    SPN_L_TASK_GROUP_SLOT,
    SPN_L_TASK_WAITERS,
    SPN_L_TASK_FIBER,
    SPN_L_GROUP_STATE,
    SPN_L_GROUP_CANCELLED,
    SPN_L_GROUP_REMAINING,
    SPN_L_GROUP_COUNT,
    SPN_L_GROUP_RESULTS,
    SPN_L_SCHED_SUBMIT,
    SPN_L_SCHED_COMPLETIONS,
    SPN_L_SCHED_POOL_CHUNK_COUNT,
    SPN_L_SCHED_POOL_HEAD,
    SPN_L_SCHED_NSPINNING,
    SPN_L_SCHED_NPARKED,
    SPN_L_SCHED_SHUTDOWN,
    SPN_L_SCHED_CHUNKS,
    SPN_L_SCHED_STATS,
    SPN_L_STATS_SIZE,
    SPN_L_STATS_TASKS_RUN,
    SPN_L_STATS_PARKS,
    SPN_L_STATS_WAKEUPS,
    SPN_L_STATS_STEALS,
    SPN_L_STATS_CANCELLED,
    SPN_L_STATS_TID,
    SPN_L_STATS_STACKS,
    SPN_L_POOL_CHUNK,
    SPN_L_RING_CLOSED_BIT,
    SPN_L_TASK_GROUP_END,
    SPN_L_TASK_GEN,
    SPN_L_TASK_OWNERS,
    SPN_L_REF_RUN,
    SPN_L_REF_HANDLE,
    SPN_L_REF_JAVA,
    SPN_L_SCHED_SPACE_WAITERS,
    SPN_L_SCHED_SPACE_SIGNALLED,
    SPN_L_COMPLETION_SPACE,
    SPN_L_SCHED_SPACE_SEQ,
    SPN_L_SCHED_SPACE_PARKERS,
    SPN_L_CALL_SIZE,
    SPN_L_CALL_FN,
    SPN_L_CALL_RET_KIND,
    SPN_L_CALL_INTS,
    SPN_L_CALL_FPS,
    SPN_L_GROUP_CALL_FN,
    SPN_L_GROUP_ROW_STRIDE,
    SPN_L_GROUP_ROW_FPS,
    SPN_L_GROUP_ROW_RET,
    SPN_L_GROUP_RET_KIND,
    SPN_L_CALL_ROW_OVERREAD,
    SPN_L_RET_INT,
    SPN_L_RET_FP,
    SPN_L_POOL_CALL_ROWS,
    SPN_L_POOL_CHUNK_BYTES,
    SPN_L_KEY_COUNT
};

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "refs is the low half of owners");
_Static_assert(sizeof(struct spn_task) == 64, "a task descriptor is one cache line");
_Static_assert(sizeof(struct spn_worker_stats) == 64, "worker counters are one cache line each");
_Static_assert(sizeof(struct spn_group) == 64 && __builtin_offsetof(struct spn_group, results) == SPN_GROUP_ROWS,
               "the group header is one cache line");
_Static_assert(__builtin_offsetof(struct spn_sched, nspinning) == SPN_SCHED_NSPINNING_OFFSET
                   && __builtin_offsetof(struct spn_sched, nparked) == SPN_SCHED_NPARKED_OFFSET
                   && __builtin_offsetof(struct spn_sched, shutdown) == SPN_SCHED_SHUTDOWN_OFFSET,
               "scheduler: the offsets the assembly of spn_call_rows uses");
_Static_assert(__builtin_offsetof(struct spn_group, call_fn) == SPN_GROUP_CALL_FN
                   && __builtin_offsetof(struct spn_group, row_stride) == SPN_GROUP_ROW_STRIDE
                   && __builtin_offsetof(struct spn_group, row_fps) == SPN_GROUP_ROW_FPS
                   && __builtin_offsetof(struct spn_group, row_ret) == SPN_GROUP_ROW_RET
                   && __builtin_offsetof(struct spn_group, ret_kind) == SPN_GROUP_RET_KIND,
               "group header: the offsets the assembly of spn_call_rows uses");
_Static_assert(sizeof(struct spn_call) == 192 && __builtin_offsetof(struct spn_call, ints) == 64
                   && __builtin_offsetof(struct spn_call, fps) == 128
                   && __builtin_offsetof(struct spn_call, ret_kind) == 8,
               "call rows: the offsets the assembly of spn_call_task uses");
_Static_assert(SPN_POOL_CALL_ROWS == SPN_POOL_CHUNK * sizeof(struct spn_task)
                   && SPN_POOL_CHUNK_BYTES == SPN_POOL_CALL_ROWS + SPN_POOL_CHUNK * sizeof(struct spn_call),
               "a pool chunk: its descriptors, then a call row each");

/* ---------------------------------------------------------------------------------------
 * Driving the scheduler from C, with no JVM: what an isolated pool's child does (isolated.c)
 * and the native self-test (scheduler/src/test/selftest) does. Java calls the same entry
 * points through JNA (SchedNative). Workers may be any threads (pthreads here) that call
 * spn_worker_main with their own stats block. */
int spn_sched_create(int nworkers, int64_t ring_capacity, int64_t spin_ns, int64_t green_stack_size,
                     struct spn_sched **out);
struct spn_worker_stats *spn_sched_worker(struct spn_sched *s, int index);
intptr_t spn_worker_main(void *stats);
int spn_sched_execute(struct spn_sched *s, intptr_t (*fn)(void *), void *arg);
void spn_sched_shutdown(struct spn_sched *s, int mode);
void spn_sched_destroy(struct spn_sched *s);
intptr_t spn_call_task(struct spn_call *row);
struct spn_ring *spn_ring_create(int64_t capacity);
void spn_ring_destroy(struct spn_ring *r);

#endif /* !__ASSEMBLER__ */
#endif /* SPINDLE_SCHED_H */
