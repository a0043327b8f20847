/*
 * stack.c: guarded stacks, one mapping each (see the picture in spindle_runtime.h).
 *
 * The guard is made with mprotect inside the same mmap, so a stack costs two VMAs (the
 * kernel splits the mapping at the protection boundary) and one munmap releases both.
 */
#define _GNU_SOURCE
#include "spindle_runtime.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#define STACK_MAGIC 0x5350535441434bULL /* "SPSTACK": catches a foreign or freed pointer */

struct spn_stack {
    uint64_t magic;
    void *base;           /* the mapping's start: the guard page */
    size_t map_size;      /* guard + usable + header page share */
    size_t usable_size;
    size_t guard_size;
    char pad[24];
};
_Static_assert(sizeof(struct spn_stack) == 64, "the stack header is one cache line");

static _Atomic int64_t stacks_live;

int spn_stack_alloc(size_t size, struct spn_stack **out)
{
    size_t page = (size_t) sysconf(_SC_PAGESIZE);
    if (size < SPN_STACK_MIN_SIZE || size % page != 0)
        return EINVAL;
    /* The header takes the top of one extra page so the usable size is what was asked. */
    size_t map_size = page + size + page;
    char *base = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (base == MAP_FAILED)
        return errno;
    if (mprotect(base, page, PROT_NONE) != 0) {
        int err = errno;
        munmap(base, map_size);
        return err;
    }
    struct spn_stack *s = (struct spn_stack *) (base + map_size - sizeof(struct spn_stack));
    s->magic = STACK_MAGIC;
    s->base = base;
    s->map_size = map_size;
    s->usable_size = size;
    s->guard_size = page;
    atomic_fetch_add_explicit(&stacks_live, 1, memory_order_relaxed);
    *out = s;
    return 0;
}

void spn_stack_free(struct spn_stack *s)
{
    if (!s || s->magic != STACK_MAGIC)
        return;
    s->magic = 0;
    munmap(s->base, s->map_size);
    atomic_fetch_sub_explicit(&stacks_live, 1, memory_order_relaxed);
}

void *spn_stack_top(const struct spn_stack *s)
{
    return (void *) s; /* the header is 64-byte aligned and sits just above the stack */
}

size_t spn_stack_size(const struct spn_stack *s)
{
    return s->usable_size;
}

void *spn_stack_guard(const struct spn_stack *s)
{
    return s->base;
}

int64_t spn_stacks_live(void)
{
    return atomic_load_explicit(&stacks_live, memory_order_relaxed);
}
