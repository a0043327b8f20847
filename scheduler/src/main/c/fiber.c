/*
 * fiber.c: green-thread stacks, carved from slabs, and what happens when one runs out.
 *
 * The mapping limit decides the design. A guard is a PROT_NONE range inside a mapping, and
 * the kernel keeps it as a VMA of its own, so a guarded stack costs two mappings wherever it
 * lives. vm.max_map_count is 65,530 by default, and the JVM already uses thousands: 100,000
 * guarded stacks cannot exist. So:
 *   - stacks come from slabs of SLAB_STACKS, one mapping per slab;
 *   - below every stack lies a GUARD_SIZE range of its slot. For the first max_map_count / 8
 *     stacks (two VMAs each, ~8,000 by default) it is PROT_NONE; for later ones it is a
 *     spare range, mapped and never used, so they cost 1/SLAB_STACKS of a mapping each;
 *   - every stack has a red zone at its bottom. Each call into spindle.h checks that the
 *     stack pointer is above it and that the pattern's highest word is intact; the end of
 *     every task, a join that parks and a yield check every word of the pattern.
 * The guard catches what the red zone checks cannot see in time: a task that recurses
 * without calling spindle.h, or one huge frame. Code built with -fstack-clash-protection
 * (this library, and task libraries as spindle.h asks) touches every page of a large frame
 * as it allocates it, so no frame can step over a guard of a page or more; GUARD_SIZE is
 * 64 KiB so that code built without it is caught too, for frames up to that much beyond
 * the stack. A fault there ends the process with the report (on_fault). On an unguarded
 * stack such a frame lands in its own spare range, untouched by anyone else, and the next
 * red zone check reports it; a task that goes further than that without calling spindle.h
 * (deep recursion) reaches the slot below, and nothing catches it in time.
 *
 * The report (report_stack_end) names the task, its function (dladdr), the stack size and
 * whether it was guarded, and runs on the worker's alternate signal stack: the kernel needs
 * one to deliver SIGSEGV at all when the stack pointer is in the guard, and HotSpot's hs_err
 * report for a genuine crash in a task needs more stack than a small green thread has left.
 *
 * Stacks are never unmapped while the runtime lives: they are cached per worker (up to
 * WORKER_CACHE) and in a shared free list, and every slab goes when the runtime closes.
 */
#define _GNU_SOURCE
#include "worker.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define SLAB_STACKS 32
#define WORKER_CACHE 64
#define GUARD_SIZE (64 * 1024)    /* a multiple of every Linux page size (4, 16, 64 KiB) */
#define RED_ZONE 4096             /* room for the red zone check's report before the guard */
#define SIGNAL_STACK (256 * 1024) /* HotSpot's hs_err report runs here for a crash in a task */

struct slab {
    struct slab *next;
    void *base;
    size_t size;
};

struct fiber_allocator {
    pthread_mutex_t lock; /* taken only when a worker's own cache is empty or full */
    size_t page;
    size_t stack_size;    /* usable bytes asked for */
    size_t slot_size;     /* guard or spare range + red zone + stack + fiber, page multiple */
    int64_t guard_budget; /* stacks that may still get a PROT_NONE guard */
    struct slab *slabs;
    struct spn_fiber *free;
};

static void install_fault_handler(void);

void spn_fiber_runtime_init(struct spn_sched *s, size_t stack_size, int64_t guard_budget)
{
    static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
    pthread_once(&handler_once, install_fault_handler);
    struct fiber_allocator *a = calloc(1, sizeof *a);
    if (!a)
        return;
    pthread_mutex_init(&a->lock, NULL);
    a->page = (size_t) sysconf(_SC_PAGESIZE);
    a->stack_size = stack_size;
    a->slot_size = GUARD_SIZE + RED_ZONE + stack_size + sizeof(struct spn_fiber);
    a->slot_size = (a->slot_size + a->page - 1) & ~(a->page - 1);
    a->guard_budget = guard_budget;
    s->fibers = (int64_t) a;
}

void spn_fiber_runtime_destroy(struct spn_sched *s)
{
    struct fiber_allocator *a = (struct fiber_allocator *) s->fibers;
    if (!a)
        return;
    /* Every worker was joined: no thread runs on these signal stacks any more. */
    struct spn_worker *workers = (struct spn_worker *) s->workers;
    for (int i = 0; workers && i < s->nworkers; i++)
        if (workers[i].signal_stack)
            munmap(workers[i].signal_stack, a->page + SIGNAL_STACK);
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
        if (a->guard_budget > 0 && mprotect(slot, GUARD_SIZE, PROT_NONE) == 0) {
            a->guard_budget--;
            guarded = 1;
        }
        struct spn_fiber *f = (struct spn_fiber *) (slot + a->slot_size) - 1;
        memset(f, 0, sizeof *f);
        f->stack_size = a->stack_size;
        f->guarded = guarded;
        f->red_zone_top = (uint64_t *) (slot + GUARD_SIZE + RED_ZONE) - SPN_RED_ZONE_WORDS;
        for (int k = 0; k < SPN_RED_ZONE_WORDS; k++)
            f->red_zone_top[k] = SPN_RED_ZONE_PATTERN;
        f->state = SPN_FIBER_IDLE;
        f->next = a->free;
        a->free = f;
    }
    return 0;
}

/* ---- what glibc sees of the stack ------------------------------------------------------- */

/* struct pthread offsets (spindle_runtime.h: stack, exit buffer, result, cancelhandling);
 * the first -1 until Java passes them on. */
static int64_t tcb_layout[4] = {-1, -1, -1, -1};

SPN_EXPORT void spn_fiber_use_tcb_layout(const int64_t *layout)
{
    memcpy(tcb_layout + 1, layout + 1, 3 * sizeof(int64_t));
    __atomic_store_n(&tcb_layout[0], layout[0], __ATOMIC_RELEASE);
}

/* This thread's struct pthread, or NULL while the layout is unknown. */
static inline char *tcb_if_known(void)
{
    return __atomic_load_n(&tcb_layout[0], __ATOMIC_ACQUIRE) < 0 ? NULL : (char *) pthread_self();
}

#define TCB_WORD(tcb, field) ((uintptr_t *) ((tcb) + tcb_layout[(field)]))

/* A slot: | guard (if guarded) | red zone | usable stack | struct spn_fiber |. glibc's view:
 * the block from the slot's start to the fiber, the guard as its guard (none unguarded: the
 * red zone is stack then, as far as anyone outside can tell). */
void spn_tcb_show_fiber(struct spn_fiber *f)
{
    char *tcb = tcb_if_known();
    if (!tcb)
        return;
    uintptr_t *stack = TCB_WORD(tcb, 0);
    char *slot = (char *) (f->red_zone_top + SPN_RED_ZONE_WORDS) - RED_ZONE - GUARD_SIZE;
    stack[0] = (uintptr_t) slot;
    stack[1] = (uintptr_t) ((char *) f - slot);
    stack[2] = stack[3] = f->guarded ? GUARD_SIZE : 0;
    *TCB_WORD(tcb, 1) = (uintptr_t) f->exit_buf;
}

void spn_tcb_save_thread(struct spn_worker *w)
{
    char *tcb = tcb_if_known();
    if (!tcb)
        return;
    memcpy(w->thread_stack, TCB_WORD(tcb, 0), sizeof w->thread_stack);
    w->thread_exit_buf = (void *) *TCB_WORD(tcb, 1);
}

void spn_tcb_show_thread(struct spn_worker *w)
{
    char *tcb = tcb_if_known();
    if (!tcb)
        return;
    memcpy(TCB_WORD(tcb, 0), w->thread_stack, sizeof w->thread_stack);
    *TCB_WORD(tcb, 1) = (uintptr_t) w->thread_exit_buf;
}

void spn_tcb_show_worker_stack(struct spn_worker *w)
{
    char *tcb = tcb_if_known();
    if (!tcb)
        return;
    memcpy(TCB_WORD(tcb, 0), w->thread_stack, sizeof w->thread_stack);
    *TCB_WORD(tcb, 1) = 0; /* a pthread_exit there would end the worker: let glibc refuse it */
}

intptr_t spn_tcb_take_fiber_exit(struct spn_fiber *f)
{
    char *tcb = tcb_if_known();
    if (!tcb)
        return 0;
    *(int *) (tcb + tcb_layout[3]) = 0; /* pthread_exit marked the worker exiting: it is not */
    *TCB_WORD(tcb, 1) = (uintptr_t) f->exit_buf;
    return (intptr_t) *TCB_WORD(tcb, 2);
}

/* The frame spn_ctx_switch pops to enter spn_fiber_trampoline (see the .S files). */
static void prepare_first_switch(struct spn_fiber *f)
{
#if defined(__x86_64__)
    uint64_t *sp = (uint64_t *) ((char *) f - 128); /* 16-aligned: f is 64-aligned */
    sp[0] = SPN_FP_ENV_DEFAULT; /* mxcsr, x87 control word: as a new thread's */
    sp[1] = sp[2] = sp[3] = 0;   /* r15 r14 r13 */
    sp[4] = (uint64_t) f;        /* r12: the trampoline's argument */
    sp[5] = sp[6] = 0;           /* rbx rbp */
    extern void spn_fiber_trampoline(void);
    sp[7] = (uint64_t) spn_fiber_trampoline;
    f->sp = sp;
#elif defined(__aarch64__)
    uint64_t *sp = (uint64_t *) ((char *) f - 192);
    memset(sp, 0, 176);
    extern void spn_fiber_trampoline(void);
    sp[0] = (uint64_t) f;                        /* x19 */
    sp[11] = (uint64_t) spn_fiber_trampoline;    /* x30 at +88 */
    sp[20] = SPN_FP_ENV_DEFAULT;                 /* fpcr at +160 */
    f->sp = sp;
#else
#error "no green-thread context switch for this architecture"
#endif
}

static void give_signal_stack(struct spn_worker *w, size_t page);

/* On the worker's own thread (sigaltstack is per thread). */
struct spn_fiber *spn_fiber_get(struct spn_worker *w)
{
    if (__builtin_expect(!w->signal_stack, 0))
        give_signal_stack(w, ((struct fiber_allocator *) w->sched->fibers)->page);
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

/* ---- the overflow report -------------------------------------------------------------------
 * No stdio anywhere on this path: its unbuffered stderr path wants kilobytes of stack, and it
 * takes locks a crashed task may hold. Text is assembled in a fixed buffer, then write(2). */

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

/* "name+0x1c in libfoo.so", else "0x7f... in libfoo.so+0x2280", else the bare address. The
 * symbol must contain the address: dladdr alone gives the nearest exported symbol below it,
 * which for a static function is somebody else's name. dladdr takes the loader's lock and is
 * not async-signal-safe; acceptable on this path, which only ever ends in abort(). */
static size_t append_code(char *buf, size_t at, size_t cap, uintptr_t address)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!address || !dladdr1((void *) address, &info, (void **) &sym, RTLD_DL_SYMENT) || !info.dli_fname)
        return append_number(buf, at, cap, address, 16);
    const char *file = strrchr(info.dli_fname, '/');
    file = file ? file + 1 : info.dli_fname;
    uintptr_t start = (uintptr_t) info.dli_saddr;
    if (info.dli_sname && sym && address >= start && address - start < (sym->st_size ? sym->st_size : 1)) {
        at = append(buf, at, cap, info.dli_sname);
        if (address != start) {
            at = append(buf, at, cap, "+");
            at = append_number(buf, at, cap, address - start, 16);
        }
        at = append(buf, at, cap, " in ");
        return append(buf, at, cap, file);
    }
    at = append_number(buf, at, cap, address, 16);
    at = append(buf, at, cap, " in ");
    at = append(buf, at, cap, file);
    at = append(buf, at, cap, "+");
    return append_number(buf, at, cap, address - (uintptr_t) info.dli_fbase, 16);
}

/* The same words for Java, which names the tasks it leaves running at close (Spindle.java). */
SPN_EXPORT int spn_symbolize(int64_t address, char *out, int capacity)
{
    return capacity > 0 ? (int) append_code(out, 0, (size_t) capacity, (uintptr_t) address) : 0;
}

/* The first worker to report owns the process's last words; another one that overflows
 * meanwhile waits for the abort, and a fault inside the report itself ends at once. */
static struct spn_worker *_Atomic reporting;

/* How the end of a green stack was found. */
enum stack_end_cause {
    RED_ZONE_CHECKED,   /* an API call's check: the stack pointer or the pattern words */
    GUARD_FAULTED,      /* a fault in the guard page (or with the stack pointer there) */
    RED_ZONE_PROTECTED, /* a fault in the red zone, which is writable unless someone else
                         * protected it: HotSpot does, with its own guard zones, when native
                         * code attaches to the JVM on the green thread */
};

/* fault_address and pc: where a fault was (GUARD_FAULTED, RED_ZONE_PROTECTED). */
static void report_stack_end(struct spn_fiber *f, enum stack_end_cause cause, uintptr_t fault_address, uintptr_t pc)
    __attribute__((noreturn));
static void report_stack_end(struct spn_fiber *f, enum stack_end_cause cause, uintptr_t fault_address, uintptr_t pc)
{
    struct spn_worker *expected = NULL;
    if (!__atomic_compare_exchange_n(&reporting, &expected, f->owner, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        if (expected == f->owner) {
            static const char nested[] = "spindle: a fault while reporting a green thread stack overflow\n";
            ssize_t ignored = write(STDERR_FILENO, nested, sizeof nested - 1);
            (void) ignored;
            abort();
        }
        for (;;)
            pause();
    }
    char message[1024];
    struct spn_task *t = f->task;
    size_t n = 0, cap = sizeof message;
    n = append(message, n, cap, cause == RED_ZONE_PROTECTED ? "spindle: the red zone of task "
                                                            : "spindle: green thread stack overflow: task ");
    n = append_number(message, n, cap, (uint64_t) (uintptr_t) t, 16);
    n = append(message, n, cap, " (fn ");
    n = append_code(message, n, cap, t ? (uintptr_t) t->fn : 0);
    n = append(message, n, cap, cause == GUARD_FAULTED        ? ") ran past the red zone into the guard of its "
                                : cause == RED_ZONE_CHECKED ? ") ran into the red zone of its "
                                                            : ") was made inaccessible by other code, at the bottom of its ");
    n = append_number(message, n, cap, f->stack_size, 10);
    n = append(message, n, cap, f->guarded ? "-byte stack (guarded" : "-byte stack (unguarded");
    if (cause != RED_ZONE_CHECKED) {
        n = append(message, n, cap, "; a fault at ");
        n = append_number(message, n, cap, fault_address, 16);
        n = append(message, n, cap, ", pc in ");
        n = append_code(message, n, cap, pc);
    }
    n = append(message, n, cap, cause == RED_ZONE_PROTECTED
            ? "). HotSpot puts its stack guard pages there when native code attaches to the JVM (JNI "
              "AttachCurrentThread) on a green thread: call Java from a task through spn_call_on_worker_stack.\n"
            : "). Raise Spindle.builder().greenStackSize(...), or spawn instead of recursing deeply.\n");
    ssize_t ignored = write(STDERR_FILENO, message, n);
    (void) ignored;
    abort();
}

static void report_red_zone(void *fiber) __attribute__((noreturn));
static void report_red_zone(void *fiber)
{
    report_stack_end(fiber, RED_ZONE_CHECKED, 0, 0);
}

static size_t signal_stack_mapping; /* a guard page + SIGNAL_STACK */

void spn_fiber_overflow(struct spn_fiber *f)
{
    struct spn_worker *w = f->owner;
    if (w->signal_stack) { /* the green stack is nearly gone: report from the worker's other one */
        size_t mapping = __atomic_load_n(&signal_stack_mapping, __ATOMIC_RELAXED);
        spn_call_on_stack((char *) w->signal_stack + mapping, report_red_zone, f);
    }
    report_red_zone(f);
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

/* ---- the SIGSEGV handler -------------------------------------------------------------------
 * HotSpot owns SIGSEGV in the JVM: implicit null checks, safepoint polls, its own stack
 * guard zones and its crash reports all arrive there. This handler is put in front of it
 * once, and hands every fault that is not a green-thread overflow on to it exactly as the
 * kernel would have: the same (signal, info, context), under the same signal mask (it was
 * installed with the previous handler's sa_mask). It tells the two apart without thread-
 * locals (which a raw thread that is no worker may not have set up): a fault on a Spindle
 * worker's signal stack finds its worker in the header at the bottom of that stack, read
 * through the kernel's record of the stack in the context (uc_stack). Any other thread costs
 * a few loads on its way to HotSpot. Under libjsig (which would keep this handler away from
 * the kernel and call it only after HotSpot's) it is not installed at all. */

#define SIGNAL_STACK_MAGIC UINT64_C(0x4b43415453495053) /* "SPISTACK" */

struct signal_stack_header {
    uint64_t magic;
    struct spn_worker *worker;
};

static struct sigaction previous_action;

/* Exactly what the kernel would have done with the previous disposition. */
static void forward_fault(int sig, siginfo_t *info, void *context)
{
    if (previous_action.sa_flags & SA_SIGINFO) {
        previous_action.sa_sigaction(sig, info, context);
    } else if (previous_action.sa_handler == SIG_DFL || previous_action.sa_handler == SIG_IGN) {
        /* A fault cannot be ignored: back to the default, and returning faults again. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
    } else {
        previous_action.sa_handler(sig);
    }
}

static char *context_sp(ucontext_t *uc)
{
#if defined(__x86_64__)
    return (char *) uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (char *) uc->uc_mcontext.sp;
#endif
}

static uintptr_t context_pc(ucontext_t *uc)
{
#if defined(__x86_64__)
    return (uintptr_t) uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t) uc->uc_mcontext.pc;
#endif
}

static int in_range(const void *p, const char *low, const char *high)
{
    return (const char *) p >= low && (const char *) p < high;
}

static void on_fault(int sig, siginfo_t *info, void *context)
{
    ucontext_t *uc = context;
    if (uc->uc_stack.ss_sp && !(uc->uc_stack.ss_flags & SS_DISABLE)) {
        struct signal_stack_header *h = uc->uc_stack.ss_sp;
        struct spn_fiber *f = h->magic == SIGNAL_STACK_MAGIC ? h->worker->current : NULL;
        if (f) {
            /* The guard and the red zone above it: an address there, or a stack pointer
             * there (the frame that faulted had reached them). */
            char *usable = (char *) (f->red_zone_top + SPN_RED_ZONE_WORDS);
            char *red_zone = usable - RED_ZONE;
            char *guard = red_zone - GUARD_SIZE;
            if (info->si_code == SEGV_ACCERR && in_range(info->si_addr, red_zone, usable))
                report_stack_end(f, RED_ZONE_PROTECTED, (uintptr_t) info->si_addr, context_pc(uc));
            if (in_range(info->si_addr, guard, usable) || in_range(context_sp(uc), guard, usable))
                report_stack_end(f, GUARD_FAULTED, (uintptr_t) info->si_addr, context_pc(uc));
        }
    }
    forward_fault(sig, info, context);
}

static void install_fault_handler(void)
{
    if (dlsym(RTLD_DEFAULT, "JVM_get_signal_action"))
        return; /* libjsig: see above */
    struct sigaction current;
    if (sigaction(SIGSEGV, NULL, &current) != 0)
        return;
    previous_action = current;
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = on_fault;
    ours.sa_mask = current.sa_mask; /* what the previous handler expects to run under */
    /* SA_ONSTACK: on a worker, the kernel delivers on its signal stack (the green stack may
     * be the problem); threads without one, HotSpot's among them, stay on their own stack. */
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | (current.sa_flags & (SA_RESTART | SA_NODEFER));
    sigaction(SIGSEGV, &ours, NULL);
}

/* A signal stack for this worker's thread, with a guard page below it, and the header that
 * tells on_fault whose it is. Without one (no memory) a fault in the guard kills the process
 * without a report, as before. */
static void give_signal_stack(struct spn_worker *w, size_t page)
{
    __atomic_store_n(&signal_stack_mapping, page + SIGNAL_STACK, __ATOMIC_RELAXED); /* every worker stores the same */
    char *base = mmap(NULL, page + SIGNAL_STACK, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return;
    mprotect(base, page, PROT_NONE);
    struct signal_stack_header *h = (struct signal_stack_header *) (base + page);
    h->magic = SIGNAL_STACK_MAGIC;
    h->worker = w;
    stack_t ss = {.ss_sp = h, .ss_size = SIGNAL_STACK, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(base, page + SIGNAL_STACK);
        return;
    }
    w->signal_stack = base;
}
