/*
 * fiber.c: green-thread stacks, carved from slabs.
 *
 * The mapping limit decides the design. A guard page is a PROT_NONE range inside a mapping,
 * and the kernel keeps it as a VMA of its own, so a guarded stack costs two mappings
 * wherever it lives. vm.max_map_count is 65,530 by default, and the JVM already uses
 * thousands: 100,000 guarded stacks cannot exist. So:
 *   - stacks come from slabs of SLAB_STACKS, one mapping per slab;
 *   - the first max_map_count / 8 stacks get a guard page (two VMAs each, ~8,000 by default);
 *     later ones have none, and cost 1/SLAB_STACKS of a mapping each;
 *   - every stack has a red zone at its bottom. Each call into spindle.h checks that the
 *     stack pointer is above it and that the pattern's highest word is intact; the end of
 *     every task, a join that parks and a yield check every word of the pattern. An
 *     overflow that reached it stops the process with a message instead of corrupting the
 *     neighbour silently.
 * A frame larger than the red zone can skip it: into the guard page (a crash without a
 * report, as for any native thread) or, for an unguarded stack, into its slot's spare page
 * and then its neighbour. The README states this limit.
 *
 * Stacks are never unmapped while the runtime lives: they are cached per worker (up to
 * WORKER_CACHE) and in a shared free list, and every slab goes when the runtime closes.
 */
#define _GNU_SOURCE
#include "worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLAB_STACKS 32
#define WORKER_CACHE 64
#define RED_ZONE 2048

struct slab {
    struct slab *next;
    void *base;
    size_t size;
};

struct fiber_allocator {
    pthread_mutex_t lock; /* taken only when a worker's own cache is empty or full */
    size_t page;
    size_t stack_size;    /* usable bytes asked for */
    size_t slot_size;     /* spare/guard page + red zone + stack + fiber, page multiple */
    int64_t guard_budget; /* stacks that may still get a guard page */
    struct slab *slabs;
    struct spn_fiber *free;
};

void spn_fiber_runtime_init(struct spn_sched *s, size_t stack_size, int64_t guard_budget)
{
    struct fiber_allocator *a = calloc(1, sizeof *a);
    if (!a)
        return;
    pthread_mutex_init(&a->lock, NULL);
    a->page = (size_t) sysconf(_SC_PAGESIZE);
    a->stack_size = stack_size;
    a->slot_size = a->page + RED_ZONE + stack_size + sizeof(struct spn_fiber);
    a->slot_size = (a->slot_size + a->page - 1) & ~(a->page - 1);
    a->guard_budget = guard_budget;
    s->fibers = (int64_t) a;
}

void spn_fiber_runtime_destroy(struct spn_sched *s)
{
    struct fiber_allocator *a = (struct fiber_allocator *) s->fibers;
    if (!a)
        return;
    for (struct slab *sl = a->slabs, *next; sl; sl = next) {
        next = sl->next;
        munmap(sl->base, sl->size);
        free(sl);
    }
    pthread_mutex_destroy(&a->lock);
    free(a);
    s->fibers = 0;
}

/* Lays out a new slab's slots and puts their fibers on the free list. Lock held. */
static int add_slab(struct fiber_allocator *a)
{
    size_t size = a->slot_size * SLAB_STACKS;
    char *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return errno;
    struct slab *sl = malloc(sizeof *sl);
    if (!sl) {
        munmap(base, size);
        return ENOMEM;
    }
    sl->base = base;
    sl->size = size;
    sl->next = a->slabs;
    a->slabs = sl;
    for (int i = 0; i < SLAB_STACKS; i++) {
        char *slot = base + (size_t) i * a->slot_size;
        int guarded = 0;
        if (a->guard_budget > 0 && mprotect(slot, a->page, PROT_NONE) == 0) {
            a->guard_budget--;
            guarded = 1;
        }
        struct spn_fiber *f = (struct spn_fiber *) (slot + a->slot_size) - 1;
        memset(f, 0, sizeof *f);
        f->stack_size = a->stack_size;
        f->guarded = guarded;
        f->red_zone_top = (uint64_t *) (slot + a->page + RED_ZONE) - SPN_RED_ZONE_WORDS;
        for (int k = 0; k < SPN_RED_ZONE_WORDS; k++)
            f->red_zone_top[k] = SPN_RED_ZONE_PATTERN;
        f->state = SPN_FIBER_IDLE;
        f->next = a->free;
        a->free = f;
    }
    return 0;
}

/* The frame spn_ctx_switch pops to enter spn_fiber_trampoline (see the .S files). */
static void prepare_first_switch(struct spn_fiber *f)
{
#if defined(__x86_64__)
    uint64_t *sp = (uint64_t *) ((char *) f - 128); /* 16-aligned: f is 64-aligned */
    uint32_t mxcsr = __builtin_ia32_stmxcsr();
    uint16_t fpcw;
    __asm__ volatile("fnstcw %0" : "=m"(fpcw));
    sp[0] = (uint64_t) mxcsr | (uint64_t) fpcw << 32;
    sp[1] = sp[2] = sp[3] = 0;   /* r15 r14 r13 */
    sp[4] = (uint64_t) f;        /* r12: the trampoline's argument */
    sp[5] = sp[6] = 0;           /* rbx rbp */
    extern void spn_fiber_trampoline(void);
    sp[7] = (uint64_t) spn_fiber_trampoline;
    f->sp = sp;
#elif defined(__aarch64__)
    uint64_t *sp = (uint64_t *) ((char *) f - 192);
    memset(sp, 0, 176);
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    extern void spn_fiber_trampoline(void);
    sp[0] = (uint64_t) f;                        /* x19 */
    sp[11] = (uint64_t) spn_fiber_trampoline;    /* x30 at +88 */
    sp[20] = fpcr;                               /* +160 */
    f->sp = sp;
#else
#error "no green-thread context switch for this architecture"
#endif
}

struct spn_fiber *spn_fiber_get(struct spn_worker *w)
{
    struct spn_fiber *f = w->free_fibers;
    if (f) {
        w->free_fibers = f->next;
        w->free_count--;
    } else {
        struct fiber_allocator *a = (struct fiber_allocator *) w->sched->fibers;
        pthread_mutex_lock(&a->lock);
        if (!a->free)
            add_slab(a);
        f = a->free;
        if (f)
            a->free = f->next;
        pthread_mutex_unlock(&a->lock);
        if (!f)
            return NULL;
        __atomic_store_n(&w->stats->stacks, w->stats->stacks + 1, __ATOMIC_RELAXED);
    }
    f->owner = w;
    f->next = NULL;
    if (!f->sp)
        prepare_first_switch(f); /* never ran: enter through the trampoline */
    return f;
}

void spn_fiber_put(struct spn_worker *w, struct spn_fiber *f)
{
    f->state = SPN_FIBER_IDLE;
    f->task = NULL;
    if (w->free_count < WORKER_CACHE) {
        f->next = w->free_fibers;
        w->free_fibers = f;
        w->free_count++;
        return;
    }
    struct fiber_allocator *a = (struct fiber_allocator *) w->sched->fibers;
    pthread_mutex_lock(&a->lock);
    f->next = a->free;
    a->free = f;
    pthread_mutex_unlock(&a->lock);
    __atomic_store_n(&w->stats->stacks, w->stats->stacks - 1, __ATOMIC_RELAXED);
}

/* Appends text, or a number in decimal or hex, to a fixed buffer: the overflow report must
 * not use stdio, whose unbuffered stderr path wants kilobytes of the stack that just ran out. */
static size_t append(char *buf, size_t at, size_t cap, const char *text)
{
    while (*text && at + 1 < cap)
        buf[at++] = *text++;
    return at;
}

static size_t append_number(char *buf, size_t at, size_t cap, uint64_t v, unsigned base)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v && n < (int) sizeof digits);
    if (base == 16)
        at = append(buf, at, cap, "0x");
    while (n > 0 && at + 1 < cap)
        buf[at++] = digits[--n];
    return at;
}

void spn_fiber_overflow(struct spn_fiber *f)
{
    static char message[512]; /* static: not on the exhausted stack */
    struct spn_task *t = f->task;
    size_t n = 0, cap = sizeof message;
    n = append(message, n, cap, "spindle: green thread stack overflow: task ");
    n = append_number(message, n, cap, (uint64_t) (uintptr_t) t, 16);
    n = append(message, n, cap, " (fn ");
    n = append_number(message, n, cap, t ? (uint64_t) t->fn : 0, 16);
    n = append(message, n, cap, ") ran into the red zone of its ");
    n = append_number(message, n, cap, f->stack_size, 10);
    n = append(message, n, cap, f->guarded ? "-byte stack (guarded). " : "-byte stack (unguarded). ");
    n = append(message, n, cap, "Raise Spindle.builder().greenStackSize(...), or spawn instead of recursing deeply.\n");
    ssize_t ignored = write(STDERR_FILENO, message, n);
    (void) ignored;
    abort();
}

/* Two checks: the caller's stack pointer must be above the red zone (exact for the frame
 * that calls into the API, whatever its size), and the pattern words must be intact (an
 * overflow deeper down that has returned since). */
void spn_fiber_check_stack(struct spn_fiber *f)
{
    if (spn_stack_pointer() < (char *) (f->red_zone_top + SPN_RED_ZONE_WORDS))
        spn_fiber_overflow(f);
    for (int k = 0; k < SPN_RED_ZONE_WORDS; k++)
        if (f->red_zone_top[k] != SPN_RED_ZONE_PATTERN)
            spn_fiber_overflow(f);
}
