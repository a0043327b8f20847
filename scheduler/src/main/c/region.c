/*
 * region.c: the memory an isolated pool's JVM and its child process share.
 *
 * One memfd, mapped MAP_SHARED at the same address in both, so that a pointer into it means
 * the same thing on either side: the scheduler's control block, rings, descriptors and
 * batches live here (sched.c allocates them from the region instead of the heap), and so
 * does every buffer a task may read or write (Java hands them out as shared memory). Memory
 * outside the region does not exist in the child, which is a fresh program (spindle-host),
 * not a copy of the JVM.
 *
 * The allocator is first-fit over an address-ordered free list of 64-byte-aligned blocks,
 * under a robust process-shared mutex: the child may die holding it (it allocates descriptor
 * chunks when task code spawns more than the pool holds), and the next locker is told so
 * (EOWNERDEAD). Each change to the list is ordered so that one cut short leaves the list
 * whole: at worst a block is lost, never linked twice.
 */
#define _GNU_SOURCE
#include "region.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#define REGION_MAGIC UINT64_C(0x4e4f49474552504e) /* "NPREGION" */
#define BLOCK_USED UINT64_C(0x444553554b4c4253)   /* "SBLKUSED" */
#define BLOCK_ALIGN 64

/* Every block, free or used, starts with this header; a used one's memory follows it. */
struct block {
    uint64_t size; /* bytes, header included, a multiple of BLOCK_ALIGN */
    uint64_t next; /* free: offset of the next free block (0 ends); used: BLOCK_USED */
    char pad[BLOCK_ALIGN - 16];
};

static struct block *block_at(struct spn_region *r, uint64_t offset)
{
    return (struct block *) ((char *) r + offset);
}

static uint64_t offset_of(struct spn_region *r, const void *p)
{
    return (uint64_t) ((const char *) p - (const char *) r);
}

int spn_region_lock(pthread_mutex_t *lock)
{
    int err = pthread_mutex_lock(lock);
    if (err == EOWNERDEAD) /* the child died holding it; what it guards is whole (see the top) */
        return pthread_mutex_consistent(lock);
    return err;
}

/* Addresses the JVM does not use on x86-64 and AArch64 (48-bit): above its heap and code,
 * below where the kernel puts libraries and thread stacks. The child, a small program,
 * has nothing there either. */
#define REGION_ADDRESS_LOW UINT64_C(0x100000000000)
#define REGION_ADDRESS_HIGH UINT64_C(0x500000000000)

int spn_region_create(size_t size, int *fd_out, struct spn_region **out)
{
    if (size < SPN_REGION_MIN_SIZE || size % (2 * 1024 * 1024) != 0)
        return EINVAL;
    int fd = memfd_create("spindle-isolated", MFD_CLOEXEC);
    if (fd < 0)
        return errno;
    if (ftruncate(fd, (off_t) size) != 0) {
        int err = errno;
        close(fd);
        return err;
    }
    void *at = MAP_FAILED;
    for (int attempt = 0; attempt < 64 && at == MAP_FAILED; attempt++) {
        uint64_t random = 0;
        if (getrandom(&random, sizeof random, 0) != sizeof random)
            random = (uint64_t) attempt * 0x9e3779b97f4a7c15u;
        uint64_t span = (REGION_ADDRESS_HIGH - REGION_ADDRESS_LOW - size) >> 21;
        void *hint = (void *) (REGION_ADDRESS_LOW + (random % span << 21));
        at = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
        if (at != MAP_FAILED && at != hint) { /* a kernel without MAP_FIXED_NOREPLACE */
            munmap(at, size);
            at = MAP_FAILED;
        }
    }
    if (at == MAP_FAILED) {
        close(fd);
        return ENOMEM;
    }
    struct spn_region *r = at;
    memset(r, 0, sizeof *r);
    r->magic = REGION_MAGIC;
    r->size = size;
    r->address = (uint64_t) (uintptr_t) r;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&r->lock, &attr);
    pthread_mutex_init(&r->grow_lock, &attr);
    pthread_mutexattr_destroy(&attr);
    uint64_t first = (sizeof *r + BLOCK_ALIGN - 1) & ~(uint64_t) (BLOCK_ALIGN - 1);
    struct block *b = block_at(r, first);
    b->size = size - first;
    b->next = 0;
    r->free_head = first;
    *fd_out = fd;
    *out = r;
    return 0;
}

int spn_region_attach(int fd, uint64_t address, size_t size, struct spn_region **out)
{
    void *want = (void *) (uintptr_t) address;
    void *at = mmap(want, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (at == MAP_FAILED)
        return errno;
    struct spn_region *r = at;
    if (at != want || r->magic != REGION_MAGIC || r->address != address || r->size != size) {
        munmap(at, size);
        return EPROTO;
    }
    *out = r;
    return 0;
}

void spn_region_destroy(struct spn_region *r, int fd)
{
    if (!r)
        return;
    size_t size = r->size;
    munmap(r, size);
    close(fd);
}

void *spn_region_alloc(struct spn_region *r, size_t bytes)
{
    if (bytes == 0 || bytes > r->size)
        return NULL;
    uint64_t need = (bytes + sizeof(struct block) + BLOCK_ALIGN - 1) & ~(uint64_t) (BLOCK_ALIGN - 1);
    if (spn_region_lock(&r->lock) != 0)
        return NULL;
    uint64_t *link = &r->free_head;
    struct block *found = NULL;
    while (*link) {
        struct block *b = block_at(r, *link);
        if (b->size >= need) {
            found = b;
            break;
        }
        link = &b->next;
    }
    if (found) {
        if (found->size - need >= 2 * sizeof(struct block)) {
            /* Split: the rest becomes a free block of its own, written whole before the
             * list points at it. */
            struct block *rest = (struct block *) ((char *) found + need);
            rest->size = found->size - need;
            rest->next = found->next;
            *link = offset_of(r, rest);
            found->size = need;
        } else {
            *link = found->next;
        }
        found->next = BLOCK_USED;
        r->in_use += found->size;
    }
    pthread_mutex_unlock(&r->lock);
    return found ? found + 1 : NULL;
}

/* The block of a pointer spn_region_alloc returned, or NULL if it is not one. */
static struct block *used_block(struct spn_region *r, void *p)
{
    char *c = p;
    if (c < (char *) r + sizeof *r + sizeof(struct block) || c >= (char *) r + r->size
        || ((uintptr_t) c & (BLOCK_ALIGN - 1)) != 0)
        return NULL;
    struct block *b = (struct block *) c - 1;
    return b->next == BLOCK_USED ? b : NULL;
}

int spn_region_free(struct spn_region *r, void *p)
{
    if (!p)
        return 0;
    if (spn_region_lock(&r->lock) != 0)
        return EDEADLK;
    struct block *b = used_block(r, p);
    if (!b) {
        pthread_mutex_unlock(&r->lock);
        return EINVAL;
    }
    r->in_use -= b->size;
    uint64_t at = offset_of(r, b);
    uint64_t *link = &r->free_head;
    struct block *before = NULL;
    while (*link && *link < at) {
        before = block_at(r, *link);
        link = &before->next;
    }
    b->next = *link;
    /* Merge with the free block after it, then with the one before it. */
    if (b->next && at + b->size == b->next) {
        struct block *after = block_at(r, b->next);
        b->next = after->next;
        b->size += after->size;
    }
    if (before && offset_of(r, before) + before->size == at) {
        before->next = b->next;
        before->size += b->size;
    } else {
        *link = at;
    }
    pthread_mutex_unlock(&r->lock);
    return 0;
}

int spn_region_contains(const struct spn_region *r, const void *p, size_t bytes)
{
    const char *c = p, *low = (const char *) r, *high = low + r->size;
    return c >= low + sizeof *r && c <= high && bytes <= (size_t) (high - c);
}

uint64_t spn_region_in_use(struct spn_region *r)
{
    return __atomic_load_n(&r->in_use, __ATOMIC_RELAXED);
}
