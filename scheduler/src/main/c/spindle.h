/*
 * spindle.h: the C API for task code that runs on Spindle's workers.
 *
 * A task is a function `intptr_t fn(void *arg)`. Java submits tasks (Spindle.spawn); task
 * code may spawn more, wait for them and yield, without blocking its worker thread: every
 * task runs as a green thread (a fiber with its own small stack), and a green thread that
 * waits is parked while its worker runs other work.
 *
 *     static intptr_t fib(void *arg) {
 *         intptr_t n = (intptr_t) arg;
 *         if (n < 20) return fib_sequential(n);
 *         spn_task_t *left;
 *         if (spn_spawn(fib, (void *) (n - 1), &left) != SPN_OK) abort();
 *         intptr_t right = fib((void *) (n - 2));     // meanwhile, on this green thread
 *         intptr_t l;
 *         spn_join(left, &l);                          // runs `left` right here if nobody took it
 *         return l + right;
 *     }
 *
 * Rules:
 *  - Call these only from task code running on a Spindle worker (SPN_E_NOT_ON_WORKER
 *    otherwise).
 *  - Every handle from spn_spawn (or spn_retain) is given back exactly once: by spn_join
 *    (which also returns the result) or by spn_detach (the result is not wanted), or handed
 *    to Java (Spindle.adopt), which then owns it.
 *  - MISUSE is refused, never carried out: a handle names one life of its task's
 *    descriptor (a generation beside its reference count, checked and dropped by one cas),
 *    so giving a reference back twice (a second spn_join or spn_detach), using it after
 *    that, retaining it after that, joining the caller's own task (spn_current(): it would
 *    wait for ever), giving back a reference a Java Task holds, or passing a value that is
 *    no handle of this runtime returns SPN_E_INVALID and touches no task, in particular not
 *    the one that lives in that descriptor now. Two green threads joining one reference at
 *    once is a race in the caller: one of them gets SPN_E_INVALID (it may have waited for
 *    the descriptor's next task meanwhile, but it changes nothing of it).
 *  - MIGRATION: a green thread that has started stays on the worker it started on until it
 *    ends. Compiled code may keep the address of a thread-local (errno is one) across a
 *    call, so moving a started green thread to another kernel thread would break it. Only
 *    tasks that have not started are stolen by idle workers.
 *  - PER-WORKER STATE: tasks on one worker share its kernel thread, and so its thread-locals
 *    (__thread variables, pthread keys, uselocale's locale, the resolver state, OpenSSL's
 *    error queue) and its identity as a lock owner. spn_spawn, spn_join and spn_yield leave
 *    errno as they found it, though other tasks run inside them. Do not hold a pthread mutex,
 *    rwlock or condition variable's mutex across spn_yield or a spn_join that may park:
 *    another task of the same worker would take a recursive mutex as its owner, get EDEADLK
 *    from an errorcheck one, or block the worker on a normal one (and with it the task that
 *    would release it). Thread-locals set before such a call may be another task's after it.
 *  - pthread_exit in a task ends the task (its result is the value), not the worker.
 *  - Stacks are small (Spindle.builder().greenStackSize, default 64 KiB, at least 16 KiB): no
 *    large arrays on the stack, no deep recursion without spawning. An overflow ends the
 *    process with a message naming the task, its function, the stack size and whether the
 *    stack was guarded; it is found by every call into this API (the stack pointer against a
 *    red zone at the bottom of each stack), at the end of each task, and, on the ~8,000
 *    stacks that have a PROT_NONE guard below them, by the first touch of the guard (deep
 *    recursion without calls here, one huge frame). Build task libraries with
 *    -fstack-clash-protection: it touches every page of a large frame as it is allocated, so
 *    the frame hits the guard instead of stepping over it into another green thread's stack
 *    (the guard is 64 KiB, so code built without it is caught only for frames up to that
 *    much beyond the stack). On an unguarded stack a frame lands in a 64 KiB spare range of
 *    its own first and is reported at the next call here; a task that goes further without
 *    calling here writes into another stack before anything can see it. README: "Stacks
 *    and their limits".
 *  - FLOATING POINT: every task that starts on a green thread (from Java, stolen, or as a
 *    member of a batch) starts with the default environment (round to nearest, all
 *    exceptions masked; x86-64: MXCSR 0x1f80, x87 control word 0x037f; AArch64: FPCR 0),
 *    whatever the task before it on that recycled green thread left. A child that runs
 *    inline in its parent's spn_join is a call on the parent's green thread: it shares the
 *    parent's environment both ways, as any function call does (resetting and restoring it
 *    around every inline child cost a third of fork-join fib's time: reading MXCSR is slow).
 *    A task that changes its environment and wants its children unaffected restores it
 *    before it spawns.
 *  - Finding these symbols: the scheduler library is loaded with RTLD_GLOBAL (JNA's default)
 *    when the Spindle class loads (Spindle.loadNativeLibrary()), and a task library resolves
 *    spn_* against it: at its first call (lazy binding, the default), or when it is loaded
 *    (-z now: then load it after the Spindle class). Build task libraries with undefined
 *    spn_* symbols allowed (the default for shared libraries; not -Wl,--no-undefined or
 *    -z defs), and with -fstack-clash-protection (see the stacks rule above). The
 *    scheduler's tests build theirs exactly so (scheduler/pom.xml, build/build-native.sh).
 */
#ifndef SPINDLE_H
#define SPINDLE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The scheduler library hides everything else; these are its API for task code. */
#define SPN_API __attribute__((visibility("default")))

typedef struct spn_task spn_task_t;
typedef intptr_t (*spn_task_fn)(void *arg);

/* Every call that can fail returns one of these. spn_result_describe() gives the text. */
typedef enum spn_result {
    SPN_OK = 0,
    SPN_E_NOT_ON_WORKER = 1, /* called from a thread that is not a Spindle worker */
    SPN_E_INVALID = 2,       /* a null function, or a handle that is no live reference (see MISUSE) */
    SPN_E_NO_MEMORY = 3,     /* no task descriptor could be allocated (4 M live tasks) */
    SPN_E_CANCELLED = 4,     /* the joined task was cancelled by shutdownNow() before it started */
    SPN_E_NO_STACK = 5,      /* the joined task could not start: no stack could be mapped
                                (vm.max_map_count or memory exhausted) */
    SPN_E_CLOSING = 6,       /* spn_spawn after shutdownNow() began: no new task is accepted
                                (close() still lets running tasks spawn: it drains their children) */
} spn_result;

/* Starts fn(arg) as a new green thread; *out receives its handle. The child first goes to
 * this worker's own queue; an idle worker may steal it. */
SPN_API int spn_spawn(spn_task_fn fn, void *arg, spn_task_t **out);

/* Waits for the task and gives its handle back; *result receives fn's return value (may be
 * NULL). A child that has not started and still sits on this worker's queue runs at once on
 * the caller's stack (no switch); a finished one costs no switch either; otherwise this
 * green thread is parked and the worker runs other work until the child ends. */
SPN_API int spn_join(spn_task_t *task, intptr_t *result);

/* Another reference to the same task, for a second joiner (say, every green thread that
 * waits on one gate task): each reference is given back once, by spn_join or spn_detach.
 * The caller must hold a reference (its own, or one a Java Task holds) while it retains;
 * SPN_E_NO_MEMORY past 4 M references to one task. */
SPN_API int spn_retain(spn_task_t *task);

/* Gives a handle back without waiting: the task runs on, its result is dropped. */
SPN_API int spn_detach(spn_task_t *task);

/* Lets the other green threads of this worker (and new work) run; resumes after them. */
SPN_API int spn_yield(void);

/* Runs fn(arg) on this worker's own stack instead of the green thread's, and gives its
 * result back (when result is not NULL). For code that needs a thread's real stack: a JNI
 * upcall (AttachCurrentThread, calls into Java, DetachCurrentThread) must be made this way,
 * since HotSpot puts guard pages at the bottom of the stack it is told of (made directly on
 * a green thread, an attach covers its red zone, and the process ends with a report that
 * says so). fn must not call this API (it gets SPN_E_NOT_ON_WORKER), yield or park, nor
 * call pthread_exit; the worker's stack is Spindle.builder().workerStackSize (256 KiB by
 * default: give an upcall more). */
SPN_API int spn_call_on_worker_stack(intptr_t (*fn)(void *), void *arg, intptr_t *result);

/* The index of the worker running the caller (0..workers-1), or -1 off a worker. */
SPN_API int spn_worker_id(void);

/* The task the caller is running, or NULL off a worker: its name, not a reference (joining
 * it is refused). The tasks of a batch (Spindle.spawnAll) run in chunks, a few after one
 * another on one green thread, and those of one chunk see the chunk's name here. */
SPN_API spn_task_t *spn_current(void);

/* "SPN_E_CANCELLED" and a sentence, for any spn_result value. */
SPN_API const char *spn_result_name(int result);
SPN_API const char *spn_result_describe(int result);

#ifdef __cplusplus
}
#endif

#endif /* SPINDLE_H */
