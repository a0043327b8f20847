/*
 * region.h: the shared region of an isolated pool (region.c) and what the JVM and the child
 * keep in it besides the scheduler (isolated.c). Defined here only; Java reaches these
 * fields through the spn_region_* and spn_isolated_* functions, never by offset.
 */
#ifndef SPINDLE_REGION_H
#define SPINDLE_REGION_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SPN_REGION_MIN_SIZE (8u << 20)
#define SPN_ISOLATED_MAX_LIBRARIES 32
#define SPN_ISOLATED_PATH_MAX 512
#define SPN_ISOLATED_MAX_ALLOWED 64

#define SPN_ISOLATED_MAX_LOADED 64

/* A library: one the JVM asks the child to load (path only), or one the child has loaded,
 * itself or as a dependency, and where (so the JVM can turn the address of a function in
 * its own copy of the file into the child's). */
struct spn_isolated_library {
    char path[SPN_ISOLATED_PATH_MAX];
    uint64_t child_base; /* dl_iterate_phdr's dlpi_addr in the child */
};

/* Why the child died, as its own fatal-signal handler saw it (the first one to get there). */
struct spn_isolated_crash {
    int32_t claimed;   /* 0 until a handler writes the record, then 1, then 2 when complete */
    int32_t signal;
    int32_t code;      /* si_code */
    int32_t worker;    /* the worker whose thread took the signal, or -1 */
    uint64_t address;  /* si_addr */
    uint64_t pc;
    uint64_t task_fn;  /* the function of the task that worker ran, child address, or 0 */
    char symbol[160];  /* that function, "name in libfoo.so", or empty */
};

struct spn_isolation {
    /* Start-up: the child sets ready to 1 (or error to an errno and message) and wakes it. */
    int32_t ready;
    int32_t error;
    char message[256];
    int64_t tcb_layout[4];  /* the JVM's glibc layout, for the child's green threads */
    int64_t green_stack_size;
    int64_t worker_stack_size; /* Spindle.builder().workerStackSize: the child's worker threads */
    int64_t guard_budget;   /* green stacks that may get a guard page (sched.c) */
    int32_t library_count;
    int32_t seccomp;        /* 1: the child installs its system call filter */
    int32_t allowed_count;  /* system calls the filter allows beyond its own list */
    int32_t allowed[SPN_ISOLATED_MAX_ALLOWED];
    struct spn_isolated_library libraries[SPN_ISOLATED_MAX_LIBRARIES]; /* to load, in order */
    int32_t loaded_count;
    struct spn_isolated_library loaded[SPN_ISOLATED_MAX_LOADED]; /* what the child has */
    struct spn_isolated_crash crash;
};

struct spn_region {
    uint64_t magic;
    uint64_t size;
    uint64_t address;      /* where both sides map it */
    uint64_t free_head;    /* offset of the first free block */
    uint64_t in_use;       /* bytes in used blocks, headers included */
    int64_t sched;         /* struct spn_sched * */
    int64_t isolation;     /* struct spn_isolation * */
    pthread_mutex_t lock;  /* the allocator's: robust, process-shared */
    pthread_mutex_t grow_lock; /* the descriptor pool's growth (sched.c), the same kind */
};

/* The JVM side: a new region of size bytes (a multiple of 2 MiB, at least
 * SPN_REGION_MIN_SIZE) and its memfd (close-on-exec; the child gets a copy of its own). */
int spn_region_create(size_t size, int *fd_out, struct spn_region **out);
/* The child: maps the region at the address the JVM has it. EPROTO if it is not one. */
int spn_region_attach(int fd, uint64_t address, size_t size, struct spn_region **out);
void spn_region_destroy(struct spn_region *r, int fd);
/* 64-byte aligned, or NULL when full. */
void *spn_region_alloc(struct spn_region *r, size_t bytes);
/* EINVAL if p is not a block spn_region_alloc returned (or was freed already). */
int spn_region_free(struct spn_region *r, void *p);
int spn_region_contains(const struct spn_region *r, const void *p, size_t bytes);
/* Locks one of the region's robust mutexes; a lock the child died holding is taken over. */
int spn_region_lock(pthread_mutex_t *lock);
uint64_t spn_region_in_use(struct spn_region *r);

#endif /* SPINDLE_REGION_H */
