/*
 * green.c: tasks as green threads. spindle.h's API, the fiber life cycle, and the two
 * queues every worker owns: a Chase-Lev deque of tasks not yet started (stealable) and an
 * MPSC queue of started green threads ready to resume (never stolen: see MIGRATION in
 * spindle.h).
 *
 * Lazy task creation: spn_spawn only queues the child; a child that is still at the bottom
 * of its parent's deque when the parent joins it runs right there, on the parent's stack, as
 * a plain call. A task gets a stack of its own only when a worker starts it from a queue or
 * steals it. Fork-join recursion therefore costs a deque push and pop per spawn in the
 * common case, not a context switch.
 *
 * Every task that starts on a green thread, from a queue or as a member of a batch, starts
 * with the default floating-point environment (worker.h); a child run inline is a call on
 * its parent's green thread and shares its parent's.
 */
#define _GNU_SOURCE
#include "spindle.h"
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <string.h>

#include <stddef.h>

#define lv_ptr(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

__thread struct spn_worker *spn_current_worker __attribute__((tls_model("initial-exec")));

/* ---- the deque ----------------------------------------------------------------------------- */

int spn_deque_push(struct spn_deque *d, struct spn_task *t)
{
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_RELAXED);
    int64_t top = __atomic_load_n(&d->top, __ATOMIC_ACQUIRE);
    if (b - top >= SPN_DEQUE_CAPACITY)
        return 0;
    __atomic_store_n(&d->slots[b & (SPN_DEQUE_CAPACITY - 1)], t, __ATOMIC_RELAXED);
    /* Release: the slot and the task's fields before the new bottom, for a thief's acquire of
     * bottom (a store-release rather than the paper's fence and relaxed store: the same
     * order, and one ThreadSanitizer can follow). */
    __atomic_store_n(&d->bottom, b + 1, __ATOMIC_RELEASE);
    return 1;
}

struct spn_task *spn_deque_pop(struct spn_deque *d)
{
    /* Empty for sure (only the owner moves bottom, and top only grows): skip the fence,
     * which the worker loop would otherwise pay on every look for work. */
    if (__atomic_load_n(&d->bottom, __ATOMIC_RELAXED) <= __atomic_load_n(&d->top, __ATOMIC_RELAXED))
        return NULL;
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_RELAXED) - 1;
    __atomic_store_n(&d->bottom, b, __ATOMIC_RELAXED);
    /* Claim bottom before reading top: against a thief who reads them the other way round. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int64_t top = __atomic_load_n(&d->top, __ATOMIC_RELAXED);
    if (top > b) { /* empty */
        __atomic_store_n(&d->bottom, b + 1, __ATOMIC_RELAXED);
        return NULL;
    }
    struct spn_task *t = __atomic_load_n(&d->slots[b & (SPN_DEQUE_CAPACITY - 1)], __ATOMIC_RELAXED);
    if (top == b) {
        /* The last one: a thief may be taking it at this moment; the cas on top decides. */
        if (!__atomic_compare_exchange_n(&d->top, &top, top + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            t = NULL;
        __atomic_store_n(&d->bottom, b + 1, __ATOMIC_RELAXED);
    }
    return t;
}

struct spn_task *spn_deque_steal(struct spn_deque *d, int *lost_race)
{
    int64_t top = __atomic_load_n(&d->top, __ATOMIC_ACQUIRE);
    /* A cheap look first: an idle worker sweeps often, and reading both indices costs the
     * owner nothing, while the fence and the cas below would take its cache lines away. */
    if (top >= __atomic_load_n(&d->bottom, __ATOMIC_ACQUIRE))
        return NULL;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_ACQUIRE);
    if (top >= b)
        return NULL;
    struct spn_task *t = __atomic_load_n(&d->slots[top & (SPN_DEQUE_CAPACITY - 1)], __ATOMIC_RELAXED);
    if (!__atomic_compare_exchange_n(&d->top, &top, top + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        *lost_race = 1; /* another thief, or the owner's last pop */
        return NULL;
    }
    return t; /* its fields: ordered by the acquire of bottom above, which read the push's release */
}

/* The owner's pop and a thief's steal for an isolated pool: the task is named in the
 * worker's holding word before it leaves the deque (spn_hold), and the word is cleared again
 * if it was not taken after all, so that it never names a task another worker runs. */
static struct spn_task *deque_peek_bottom(struct spn_deque *d);

struct spn_task *spn_deque_pop_held(struct spn_worker *w)
{
    if (__builtin_expect(w->sched->isolated, 0)) {
        struct spn_task *next = deque_peek_bottom(&w->deque);
        if (!next)
            return NULL;
        spn_hold(w, next);
    }
    struct spn_task *t = spn_deque_pop(&w->deque);
    if (!t)
        spn_hold(w, NULL);
    return t;
}

struct spn_task *spn_deque_steal_held(struct spn_worker *w, struct spn_deque *d, int *lost_race)
{
    if (__builtin_expect(w->sched->isolated, 0)) {
        int64_t top = __atomic_load_n(&d->top, __ATOMIC_ACQUIRE);
        if (top >= __atomic_load_n(&d->bottom, __ATOMIC_ACQUIRE))
            return NULL;
        spn_hold(w, __atomic_load_n(&d->slots[top & (SPN_DEQUE_CAPACITY - 1)], __ATOMIC_RELAXED));
    }
    struct spn_task *t = spn_deque_steal(d, lost_race);
    if (!t)
        spn_hold(w, NULL);
    return t;
}

int spn_deque_is_empty(struct spn_deque *d)
{
    return __atomic_load_n(&d->top, __ATOMIC_ACQUIRE) >= __atomic_load_n(&d->bottom, __ATOMIC_ACQUIRE);
}

/* The bottom task, without taking it (owner only). */
static struct spn_task *deque_peek_bottom(struct spn_deque *d)
{
    int64_t b = __atomic_load_n(&d->bottom, __ATOMIC_RELAXED) - 1;
    if (b < __atomic_load_n(&d->top, __ATOMIC_ACQUIRE))
        return NULL;
    return __atomic_load_n(&d->slots[b & (SPN_DEQUE_CAPACITY - 1)], __ATOMIC_RELAXED);
}

/* ---- the ready queue (Vyukov's intrusive MPSC) -------------------------------------------- */

void spn_mpsc_init(struct spn_mpsc *q)
{
    q->stub.next = NULL;
    q->head = &q->stub;
    q->tail = &q->stub;
}

void spn_mpsc_push(struct spn_mpsc *q, struct spn_fiber *f)
{
    __atomic_store_n(&f->next, NULL, __ATOMIC_RELAXED);
    struct spn_fiber *prev = __atomic_exchange_n(&q->head, f, __ATOMIC_ACQ_REL);
    /* Between the exchange and this store the queue is briefly cut: pop sees the tail's next
     * as NULL and reports empty; the pusher finishes at once, and the worker that pushed
     * makes sure the owner looks again (spn_ready). */
    __atomic_store_n(&prev->next, f, __ATOMIC_RELEASE);
}

struct spn_fiber *spn_mpsc_pop(struct spn_mpsc *q)
{
    struct spn_fiber *tail = q->tail;
    struct spn_fiber *next = lv_ptr(&tail->next);
    if (tail == &q->stub) {
        if (!next)
            return NULL;
        q->tail = next;
        tail = next;
        next = lv_ptr(&next->next);
    }
    if (next) {
        q->tail = next;
        return tail;
    }
    if (tail != lv_ptr(&q->head))
        return NULL; /* a push is half-way: treat as empty for now */
    spn_mpsc_push(q, &q->stub);
    next = lv_ptr(&tail->next);
    if (next) {
        q->tail = next;
        return tail;
    }
    return NULL;
}

int spn_mpsc_is_empty(struct spn_mpsc *q)
{
    struct spn_fiber *tail = q->tail;
    return tail == &q->stub ? lv_ptr(&tail->next) == NULL && lv_ptr(&q->head) == &q->stub : 0;
}

/* ---- green threads --------------------------------------------------------------------------- */

/* Only the worker itself writes its counters: a plain increment, published relaxed. */
static inline void count_task_run(struct spn_worker *w)
{
    __atomic_store_n(&w->stats->tasks_run, w->stats->tasks_run + 1, __ATOMIC_RELAXED);
}

static int64_t chunk_size(struct spn_task *t)
{
    return t->group_end - t->group_slot;
}

static int split_chunk(struct spn_worker *w, struct spn_task *t, int64_t from);

/* Typed calls (callAll): the chunk's rows in one loop, in assembly. When a worker is parked
 * and none is looking for work, the loop stops after a row and the second half of what is
 * left becomes a chunk of its own on this worker's deque, with a worker woken to take it
 * (lazy binary splitting): rows of any length end up spread over the idle workers, and a
 * busy runtime pays only two loads per row. The FP environment is reset once per chunk: a C
 * function leaves the control modes as it found them (both ABIs make them callee-saved),
 * so its neighbours in the chunk start from the default too. */
static void run_call_rows(struct spn_worker *w, struct spn_fiber *f, struct spn_task *t, struct spn_group *g, int64_t from)
{
    struct spn_sched *s = w->sched;
    int64_t first = from, i = first, may_split = 1;
    int32_t final_state = SPN_TASK_DONE;
    spn_fp_env_reset();
    for (;;) {
        i = spn_call_rows(g, i, t->group_end, s, may_split, &f->batch_slot);
        if (i >= t->group_end)
            break;
        if (__atomic_load_n(&s->shutdown, __ATOMIC_ACQUIRE) == SPN_CANCEL) {
            __atomic_store_n(&w->stats->cancelled, w->stats->cancelled + (t->group_end - i), __ATOMIC_RELAXED);
            final_state = SPN_TASK_CANCELLED;
            break;
        }
        if (split_chunk(w, t, i + (t->group_end - i) / 2))
            spn_wakep(s);
        else
            may_split = 0; /* no descriptor or no room: run the rest here */
    }
    __atomic_store_n(&w->stats->tasks_run, w->stats->tasks_run + (i - first), __ATOMIC_RELAXED);
    spn_fiber_check_stack(f);
    spn_complete(w, t, i, final_state); /* i: the first row that did not run */
}

/* Runs a chunk of a batch from member from on: its members one after another on this green
 * thread, each replacing its argument with its result. group_end may shrink meanwhile: a member that
 * parks or yields hands the members after it to another chunk (spill_batch_rest). Members
 * not started when shutdownNow() comes are cancelled with the chunk. */
static void run_batch(struct spn_fiber *f, struct spn_task *t, int64_t from)
{
    struct spn_worker *w = f->owner;
    struct spn_group *g = (struct spn_group *) t->group;
    spn_task_fn fn = (spn_task_fn) t->fn;
    int32_t final_state = SPN_TASK_DONE;
    int64_t i;
    if (g->call_fn) {
        run_call_rows(w, f, t, g, from);
        return;
    }
    for (i = from; i < t->group_end; i++) {
        if (__builtin_expect(__atomic_load_n(&w->sched->shutdown, __ATOMIC_ACQUIRE) == SPN_CANCEL, 0)) {
            __atomic_store_n(&w->stats->cancelled, w->stats->cancelled + (t->group_end - i), __ATOMIC_RELAXED);
            final_state = SPN_TASK_CANCELLED;
            break;
        }
        f->batch_slot = i;
        spn_fp_env_reset(); /* each member is a task of its own: a load, not a read and a compare */
        g->results[i] = fn((void *) g->results[i]);
        count_task_run(w);
    }
    spn_fiber_check_stack(f);
    spn_complete(w, t, i, final_state); /* i: the first member that did not run */
}

/* The members from..group_end-1 of chunk t become a chunk of their own on this worker's
 * deque, where this or any idle worker starts them on another green thread. 0, and t keeps
 * them, with no descriptor or no room on the deque. */
static int split_chunk(struct spn_worker *w, struct spn_task *t, int64_t from)
{
    struct spn_task *rest = spn_task_alloc(w);
    if (!rest)
        return 0;
    rest->fn = t->fn;
    rest->group_end = t->group_end;
    rest->result = 0;
    rest->group = t->group;
    rest->group_slot = (int32_t) from;
    rest->waiters = 0;
    rest->fiber = 0;
    spn_task_set_owners(rest, spn_task_gen(rest), 0); /* a chunk has no handle: nothing ever joins it */
    spn_task_set_state(rest, SPN_TASK_QUEUED);
    spn_hold(w, rest); /* in no queue yet: its rows are in neither chunk for a moment */
    t->group_end = from; /* only this green thread reads it (and the JVM after a crash) */
    if (!spn_deque_push(&w->deque, rest)) {
        t->group_end = rest->group_end;
        spn_hold(w, NULL);
        spn_task_free(w, rest);
        return 0;
    }
    spn_hold(w, NULL);
    return 1;
}

/* A member of a batch is about to give its worker up (it parks in spn_join, or yields): the
 * members after it in its chunk must not wait for it, so they become a chunk of their own
 * (split_chunk). With no descriptor or no room on the deque they stay, and run after it
 * resumes. */
static void spill_batch_rest(struct spn_worker *w, struct spn_fiber *f)
{
    struct spn_task *t = f->task;
    int64_t next = f->batch_slot + 1;
    /* A typed call that parks holds up the rest of its chunk: the row loop keeps no slot. */
    if (!t->group || ((struct spn_group *) t->group)->call_fn || next >= t->group_end)
        return;
    if (split_chunk(w, t, next))
        spn_wakep(w->sched);
}

/* The body of every fiber. A fiber is reused: after its task ends it switches to the worker
 * loop, which may later hand it a new task and switch back here. It never returns. Reads
 * its owner afresh after each switch (the fiber may serve another worker next time), and
 * never touches thread-locals (compiled code may cache their address across the switch). */
void spn_fiber_main(struct spn_fiber *f) __attribute__((noreturn, used));

/* A task called pthread_exit (glibc unwound its frames to the fiber's exit buffer): it ends
 * as if it had returned pthread_exit's value. A member of a batch, or a row of a typed
 * batch, ends so; the rest of its chunk runs on. */
static void finish_exited(struct spn_fiber *f, struct spn_task *t)
{
    intptr_t value = spn_tcb_take_fiber_exit(f);
    count_task_run(f->owner);
    if (!t->group) {
        spn_fiber_check_stack(f);
        spn_complete(f->owner, t, value, SPN_TASK_DONE);
        return;
    }
    struct spn_group *g = (struct spn_group *) t->group;
    int64_t member = f->batch_slot;
    if (!g->call_fn)
        g->results[member] = value;
    else if (g->ret_kind == SPN_RET_INT)
        *(int64_t *) (spn_group_row(g, member) + g->row_ret) = value;
    else if (g->ret_kind == SPN_RET_FP)
        *(int64_t *) (spn_group_row(g, member) + g->row_ret) = 0; /* no floating-point value to give */
    run_batch(f, t, member + 1);
}

void spn_fiber_main(struct spn_fiber *first)
{
    /* Where pthread_exit from any task of this green thread ends up: set once, since this
     * frame lives as long as the fiber (start_thread's setjmp does the same for a pthread). */
    struct spn_fiber *volatile fiber = first;
    __pthread_unwind_buf_t exit_buf;
    memset(&exit_buf, 0, sizeof exit_buf);
    int exited = __sigsetjmp_cancel(exit_buf.__cancel_jmp_buf, 0);
    struct spn_fiber *f = fiber;
    if (!exited) {
        f->exit_buf = &exit_buf;
        spn_tcb_show_fiber(f); /* running already: show the buffer now */
    }
    for (;;) {
        struct spn_task *t = f->task;
        if (exited) {
            exited = 0;
            finish_exited(f, t);
        } else if (t->group) {
            run_batch(f, t, t->group_slot);
        } else {
            spn_fp_env_reset(); /* not what the fiber's last task left */
            intptr_t result = ((spn_task_fn) t->fn)((void *) t->arg);
            spn_fiber_check_stack(f);
            count_task_run(f->owner);
            spn_complete(f->owner, t, result, SPN_TASK_DONE);
        }
        f->state = SPN_FIBER_FINISHED;
        spn_ctx_switch(&f->sp, f->owner->scheduler_sp);
    }
}

/* Worker loop side: run or resume a fiber until it finishes, blocks or yields. */
static void switch_to(struct spn_worker *w, struct spn_fiber *f)
{
    w->current = f;
    f->state = SPN_FIBER_RUNNING;
    /* An isolated pool's JVM cannot read the child's fibers: what it needs is copied here. */
    if (__builtin_expect(w->sched->isolated, 0)) {
        __atomic_store_n(&w->running_since, f->started_ns, __ATOMIC_RELAXED);
        __atomic_store_n(&w->running_fn, f->task->fn, __ATOMIC_RELAXED);
    }
    spn_tcb_show_fiber(f);
    spn_ctx_switch(&w->scheduler_sp, f->sp);
    spn_tcb_show_thread(w);
    if (__builtin_expect(w->sched->isolated, 0)) {
        __atomic_store_n(&w->running_since, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&w->running_fn, 0, __ATOMIC_RELAXED);
    }
    /* Fibers may have handed the worker to each other (spn_yield): the one that came back
     * to the loop is whichever is current now. */
    f = w->current;
    w->current = NULL;
    /* Atomic: a fiber that parked in spn_join may be made READY by another worker already. */
    if (__atomic_load_n(&f->state, __ATOMIC_RELAXED) == SPN_FIBER_FINISHED) {
        w->live_fibers--;
        spn_fiber_put(w, f);
    }
    /* BLOCKED: on a waiter list; READY: in the ready queue (maybe already popped by us next). */
}

void spn_start_task(struct spn_worker *w, struct spn_task *t)
{
    struct spn_sched *s = w->sched;
    if (__builtin_expect(__atomic_load_n(&s->shutdown, __ATOMIC_ACQUIRE) == SPN_CANCEL, 0)) {
        int64_t tasks = t->group ? chunk_size(t) : 1;
        spn_complete(w, t, t->group ? t->group_slot : 0, SPN_TASK_CANCELLED);
        spn_hold(w, NULL);
        __atomic_store_n(&w->stats->cancelled, w->stats->cancelled + tasks, __ATOMIC_RELAXED);
        return;
    }
    struct spn_fiber *f = spn_fiber_get(w);
    if (!f) {
        /* No stack could be mapped: fail this task with a reason its joiners can report. */
        spn_complete(w, t, t->group ? t->group_slot : SPN_E_NO_STACK, SPN_TASK_FAILED);
        spn_hold(w, NULL);
        return;
    }
    f->task = t;
    __atomic_store_n(&t->fiber, (int64_t) f, __ATOMIC_SEQ_CST);
    spn_hold(w, NULL); /* found through its fiber from now on */
    if (s->isolated & SPN_ISOLATED_DEADLINE)
        f->started_ns = spn_now_ns();
    w->live_fibers++;
    switch_to(w, f);
}

void spn_resume(struct spn_worker *w, struct spn_fiber *f)
{
    switch_to(w, f);
}

/* From a fiber: back to the worker loop (the fiber is blocked or ready elsewhere). */
static void switch_out(struct spn_worker *w, struct spn_fiber *f)
{
    spn_fiber_check_stack(f);
    spn_ctx_switch(&f->sp, w->scheduler_sp);
}

static void run_inline(struct spn_worker *w, struct spn_task *t)
{
    __atomic_store_n(&t->fiber, (int64_t) w->current, __ATOMIC_SEQ_CST);
    spn_hold(w, NULL);
    intptr_t result = ((spn_task_fn) t->fn)((void *) t->arg); /* a call: the parent's FP environment */
    if (w->current)
        spn_fiber_check_stack_fast(w->current);
    count_task_run(w);
    spn_complete(w, t, result, SPN_TASK_DONE);
}

static int on_worker(struct spn_worker **w)
{
    *w = spn_current_worker;
    return *w && (*w)->current ? SPN_OK : SPN_E_NOT_ON_WORKER;
}

static int spawn(struct spn_worker *w, spn_task_fn fn, void *arg, spn_task_t **out)
{
    if (!fn || !out)
        return SPN_E_INVALID;
    spn_fiber_check_stack_fast(w->current);
    struct spn_sched *s = w->sched;
    /* shutdownNow() would cancel the child before it starts: refuse it now. close() drains:
     * a running task's children are part of the work it accepted. */
    if (__atomic_load_n(&s->shutdown, __ATOMIC_ACQUIRE) == SPN_CANCEL)
        return SPN_E_CLOSING;
    struct spn_task *t = spn_task_alloc(w);
    if (!t)
        return SPN_E_NO_MEMORY;
    spn_task_prepare(t, (int64_t) fn, (int64_t) arg, SPN_REF_RUN | SPN_REF_HANDLE);
    spn_hold(w, t); /* in no queue yet */
    *out = spn_handle_of(t);
    if (!spn_deque_push(&w->deque, t)) {
        run_inline(w, t); /* the deque is full: no room to defer, so do it now */
        return SPN_OK;
    }
    spn_hold(w, NULL);
    /* Wake an idle worker to steal only when more than this child is queued: a parent that
     * joins its only child at once would see it stolen, park and be woken back, a cross-CPU
     * round trip per spawn (waking on every spawn, as Go does, made spawn + join 10x slower:
     * 17 -> 150-180 ns). Fork-join recursion queues many and does wake. A lone child that
     * waits while its parent computes is found by the watcher, an idle worker that looks
     * every SPN_WATCH_NS while others run (sched.c, park): "spawn one, compute, join" runs
     * in parallel, a millisecond late at most. */
    if (__atomic_load_n(&w->deque.bottom, __ATOMIC_RELAXED) - __atomic_load_n(&w->deque.top, __ATOMIC_RELAXED) >= 2)
        spn_wakep(s);
    return SPN_OK;
}

/* The descriptor behind a handle the caller gives us, if the handle names a live reference
 * native code may use: its life (gen) is the descriptor's current one, and it has more
 * handle references than Java Tasks hold. Anything else is a misused handle. */
static struct spn_task *live_handle(struct spn_worker *w, spn_task_t *handle, uint32_t *gen)
{
    struct spn_task *t = spn_task_of_handle(w->sched, handle, gen);
    if (!t)
        return NULL;
    return spn_native_ref_of(__atomic_load_n(&t->owners, __ATOMIC_ACQUIRE), *gen) ? t : NULL;
}

static int join(struct spn_worker *w, spn_task_t *handle, intptr_t *result)
{
    uint32_t gen;
    struct spn_task *t = live_handle(w, handle, &gen);
    struct spn_fiber *f = w->current;
    if (!t || t == f->task)
        return SPN_E_INVALID; /* given back already, foreign, or the caller itself (it would wait for ever) */
    spn_fiber_check_stack_fast(f);
    if ((__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & SPN_TASK_STATE_MASK) < SPN_TASK_DONE) {
        if (deque_peek_bottom(&w->deque) == t && (spn_hold(w, t), spn_deque_pop(&w->deque) == t)) {
            /* Lazy task creation: nobody took it, so it is just a call. If the run and this
             * handle are its only owners (no spn_retain, no Java Task), both are ours now and
             * nobody else can see it: finish it without atomics. */
            if ((uint32_t) __atomic_load_n(&t->owners, __ATOMIC_ACQUIRE) == (SPN_REF_RUN | SPN_REF_HANDLE)) {
                if (__builtin_expect(w->sched->isolated, 0)) { /* findable while it runs (isolated.c) */
                    __atomic_store_n(&t->fiber, (int64_t) f, __ATOMIC_SEQ_CST);
                    spn_hold(w, NULL);
                }
                intptr_t r = ((spn_task_fn) t->fn)((void *) t->arg);
                spn_fiber_check_stack_fast(f);
                count_task_run(w);
                if (result)
                    *result = r;
                spn_task_set_state(t, SPN_TASK_DONE);
                spn_task_set_owners(t, spn_task_gen(t), 0);
                spn_task_free(w, t);
                return SPN_OK;
            }
            run_inline(w, t);
        } else {
            /* Started elsewhere or stolen: park this green thread on the task's waiter list;
             * the worker that ends the task puts us back in our worker's ready queue. */
            spill_batch_rest(w, f);
            f->state = SPN_FIBER_BLOCKED;
            for (;;) {
                int64_t head = __atomic_load_n(&t->waiters, __ATOMIC_ACQUIRE);
                if (head == SPN_WAITERS_CLOSED) {
                    f->state = SPN_FIBER_RUNNING; /* it ended meanwhile */
                    break;
                }
                f->next = (struct spn_fiber *) head;
                if (__atomic_compare_exchange_n(&t->waiters, &head, (int64_t) f, 0, __ATOMIC_SEQ_CST,
                                                __ATOMIC_ACQUIRE)) {
                    switch_out(w, f);
                    break;
                }
            }
        }
    }
    int32_t state = __atomic_load_n(&t->state, __ATOMIC_ACQUIRE) & SPN_TASK_STATE_MASK;
    intptr_t value = (intptr_t) t->result;
    /* Two joiners of one reference (a race in the caller): one of them gets SPN_E_INVALID
     * here, and neither drops a reference that is not theirs. */
    if (spn_handle_release(w, t, gen) != SPN_OK)
        return SPN_E_INVALID;
    if (result)
        *result = value;
    return state == SPN_TASK_CANCELLED ? SPN_E_CANCELLED : state == SPN_TASK_FAILED ? SPN_E_NO_STACK : SPN_OK;
}

/* The calling worker, and the descriptor and life a handle names (its life not yet checked). */
static int decode_on_worker(spn_task_t *handle, struct spn_worker **w, struct spn_task **t, uint32_t *gen)
{
    int r = on_worker(w);
    if (r != SPN_OK)
        return r;
    spn_fiber_check_stack_fast((*w)->current); /* as every call into spindle.h does */
    *t = spn_task_of_handle((*w)->sched, handle, gen);
    return *t ? SPN_OK : SPN_E_INVALID;
}

int spn_retain(spn_task_t *handle)
{
    struct spn_worker *w;
    struct spn_task *t;
    uint32_t gen;
    int r = decode_on_worker(handle, &w, &t, &gen);
    if (r != SPN_OK)
        return r;
    uint64_t owners = __atomic_load_n(&t->owners, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t handles = ((uint32_t) owners & SPN_REF_HANDLE_MASK) / SPN_REF_HANDLE;
        /* The caller must hold a reference (its own or a Java Task's) of this life. */
        if ((uint32_t) (owners >> 32) != gen || handles == 0)
            return SPN_E_INVALID;
        if (handles == SPN_REF_HANDLE_MASK / SPN_REF_HANDLE)
            return SPN_E_NO_MEMORY; /* 4 M references to one task */
        if (__atomic_compare_exchange_n(&t->owners, &owners, owners + SPN_REF_HANDLE, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return SPN_OK;
    }
}

int spn_detach(spn_task_t *handle)
{
    struct spn_worker *w;
    struct spn_task *t;
    uint32_t gen;
    int r = decode_on_worker(handle, &w, &t, &gen);
    return r != SPN_OK ? r : spn_handle_release(w, t, gen);
}

static int yield(struct spn_worker *w)
{
    struct spn_fiber *f = w->current;
    spill_batch_rest(w, f);
    f->state = SPN_FIBER_READY;
    spn_mpsc_push(&w->ready, f); /* our own queue: nobody pops it before we have switched */
    /* Straight to the next ready green thread: two switches per hand-over instead of four.
     * Every 64th yield goes through the worker loop instead, which looks for new work
     * first, so green threads yielding to each other cannot starve the queues. */
    if ((++w->tick & 63) != 0) {
        struct spn_fiber *next = spn_mpsc_pop(&w->ready);
        if (next != f && next != NULL) {
            spn_fiber_check_stack(f);
            w->current = next;
            next->state = SPN_FIBER_RUNNING;
            spn_tcb_show_fiber(next);
            spn_ctx_switch(&f->sp, next->sp);
            return SPN_OK; /* whoever switched back to us made us current again */
        }
        if (next == f)
            spn_mpsc_push(&w->ready, f); /* alone: back in the queue, and on to the loop */
    }
    w->yielded = 1;
    switch_out(w, f);
    return SPN_OK;
}

int spn_worker_id(void)
{
    struct spn_worker *w = spn_current_worker;
    if (w && w->current)
        spn_fiber_check_stack_fast(w->current);
    return w ? w->index : -1;
}

spn_task_t *spn_current(void)
{
    struct spn_worker *w = spn_current_worker;
    if (!w || !w->current)
        return NULL;
    spn_fiber_check_stack_fast(w->current);
    return spn_handle_of(w->current->task);
}

const char *spn_result_name(int result)
{
    switch ((spn_result) result) {
    case SPN_OK: return "SPN_OK";
    case SPN_E_NOT_ON_WORKER: return "SPN_E_NOT_ON_WORKER";
    case SPN_E_INVALID: return "SPN_E_INVALID";
    case SPN_E_NO_MEMORY: return "SPN_E_NO_MEMORY";
    case SPN_E_CANCELLED: return "SPN_E_CANCELLED";
    case SPN_E_NO_STACK: return "SPN_E_NO_STACK";
    case SPN_E_CLOSING: return "SPN_E_CLOSING";
    }
    return "SPN_E_UNKNOWN";
}

const char *spn_result_describe(int result)
{
    switch ((spn_result) result) {
    case SPN_OK: return "success";
    case SPN_E_NOT_ON_WORKER: return "called from a thread that is not a Spindle worker";
    case SPN_E_INVALID: return "a null function, or a handle that is not a live reference: given back already "
                               "(joined or detached), held by a Java Task, not a task's, or the caller's own task";
    case SPN_E_NO_MEMORY: return "no task descriptor could be allocated";
    case SPN_E_CANCELLED: return "the task was cancelled by shutdownNow() before it started";
    case SPN_E_NO_STACK: return "the task could not start: no stack could be mapped for its green thread "
                                "(vm.max_map_count or memory exhausted)";
    case SPN_E_CLOSING: return "the runtime is shutting down";
    }
    return "unknown result code";
}

/* The API leaves errno as it found it. Every switch away from a green thread happens inside
 * these calls (a yield, a join that parks) and so does every child run inline (a join that
 * finds its child not taken, a spawn that finds the deque full): without this, C code that
 * reads errno after them would read another task's. errno is the worker's thread-local, and
 * a green thread never leaves its worker, so the address the worker noted at its start
 * (spn_worker_main) is the green thread's errno, with no call to find it. */
int spn_spawn(spn_task_fn fn, void *arg, spn_task_t **out)
{
    struct spn_worker *w;
    int r = on_worker(&w);
    if (r != SPN_OK)
        return r;
    int saved_errno = *w->errno_addr;
    r = spawn(w, fn, arg, out);
    *w->errno_addr = saved_errno;
    return r;
}

int spn_join(spn_task_t *handle, intptr_t *result)
{
    struct spn_worker *w;
    int r = on_worker(&w);
    if (r != SPN_OK)
        return r;
    int saved_errno = *w->errno_addr;
    r = join(w, handle, result);
    *w->errno_addr = saved_errno;
    return r;
}

int spn_yield(void)
{
    struct spn_worker *w;
    int r = on_worker(&w);
    if (r != SPN_OK)
        return r;
    int saved_errno = *w->errno_addr;
    r = yield(w);
    *w->errno_addr = saved_errno;
    return r;
}

/* The worker loop waits in switch_to while one of its green threads runs, so the worker's
 * own stack below the loop's saved frame is free: fn runs there, with glibc told that stack
 * (so HotSpot, attaching this thread for a JNI upcall, sees the worker's stack and puts its
 * guard pages there, not in the green thread's), as Go runs cgo callbacks off the goroutine's
 * stack. While fn runs this thread is on no green thread: the API refuses calls from it. */
#define WORKER_STACK_GAP 256 /* below the loop's saved sp: its red zone, and more */

int spn_call_on_worker_stack(intptr_t (*fn)(void *), void *arg, intptr_t *result)
{
    struct spn_worker *w;
    int r = on_worker(&w);
    if (r != SPN_OK)
        return r;
    if (!fn)
        return SPN_E_INVALID;
    struct spn_fiber *f = w->current;
    spn_fiber_check_stack_fast(f);
    w->current = NULL;
    spn_tcb_show_worker_stack(w);
    intptr_t value = spn_run_on_stack((char *) w->scheduler_sp - WORKER_STACK_GAP, fn, arg);
    w->current = f;
    spn_tcb_show_fiber(f);
    if (result)
        *result = value;
    return SPN_OK;
}
