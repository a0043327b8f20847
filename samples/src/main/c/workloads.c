/*
 * workloads.c: the native half of the samples' workloads (mandelbrot, fib, sort, hash).
 *
 * Every workload is written once here and run three ways by its Java command
 * (io.spindle.samples.workloads):
 *
 *  - on Spindle: the *_task functions (intptr_t fn(void *arg)) run as green threads on the
 *    workers; fib and sort fork and join with spindle.h from inside the task;
 *  - on virtual threads: each virtual thread calls the plain functions below through JNA
 *    direct mapping (WorkloadNative), so both parallel ways run the same compiled code;
 *  - sequentially: one JNA call that does all of the work on the caller's thread.
 *
 * The results are compared byte for byte (sample_first_difference), so any difference is a
 * bug in the scheduling, never in the arithmetic: each pixel, each partition and each CRC is
 * computed by the same function in all three runs.
 *
 * Green-thread rules that shape this code (spindle.h): stacks are small (64 KiB by default),
 * so nothing large lives on the stack and recursion depth stays logarithmic; a handle from
 * spn_spawn is joined exactly once, even when the other half failed; a failed spn_* call
 * becomes the task's result SAMPLE_SPN_FAILED(result) (negative: -1000 - result), which the
 * Java side turns back into the result's name.
 *
 * The argument blocks Java writes into native memory (8-byte fields only, so the Java mirror
 * is a table of offsets; WorkloadNative checks it against sample_layout() when it loads):
 *
 *   struct sample_image  pixels(8b) | width(8b) | height(8b) | max_iter(8b)    32 bytes
 *   struct sample_row    image(8b) | row(8b)                                   16 bytes, one per row task
 *   struct sample_range  a(8b) | n(8b) | split_min(8b)                         24 bytes, a sort task's range
 *   struct sample_chunk  address(8b) | length(8b)                              16 bytes, one per hash task
 */
#define _GNU_SOURCE
#include "spindle.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#define SAMPLE_EXPORT __attribute__((visibility("default")))

/* A task's result when a spn_* call failed: negative, and far from any real result. */
#define SAMPLE_SPN_FAILED(result) ((intptr_t) (-1000 - (result)))

/* "SPN_E_NO_STACK: ..." for Java's messages (Java cannot look spn_* up in this library). */
SAMPLE_EXPORT const char *sample_spn_describe(int32_t result)
{
    return spn_result_describe(result);
}

/* ---- the argument blocks ------------------------------------------------------------------- */

struct sample_image {
    int32_t *pixels;  /* width * height iteration counts, row after row */
    int64_t width;
    int64_t height;
    int64_t max_iter; /* a pixel that reaches it is inside the set */
};

struct sample_row {
    const struct sample_image *image;
    int64_t row;
};

struct sample_range {
    int32_t *a;
    int64_t n;
    int64_t split_min; /* ranges this long or shorter are sorted on the spot, not split */
};

struct sample_chunk {
    const uint8_t *address;
    int64_t length;
};

/* What WorkloadNative's mirror checks, in this order. */
enum sample_layout_item {
    IMAGE_SIZE, IMAGE_PIXELS, IMAGE_WIDTH, IMAGE_HEIGHT, IMAGE_MAX_ITER,
    ROW_SIZE, ROW_IMAGE, ROW_ROW,
    RANGE_SIZE, RANGE_A, RANGE_N, RANGE_SPLIT_MIN,
    CHUNK_SIZE, CHUNK_ADDRESS, CHUNK_LENGTH,
    LAYOUT_ITEMS
};

/* A size or an offset of the blocks above, or -1 for an item that does not exist. */
SAMPLE_EXPORT int64_t sample_layout(int32_t item)
{
    switch (item) {
    case IMAGE_SIZE:      return sizeof(struct sample_image);
    case IMAGE_PIXELS:    return offsetof(struct sample_image, pixels);
    case IMAGE_WIDTH:     return offsetof(struct sample_image, width);
    case IMAGE_HEIGHT:    return offsetof(struct sample_image, height);
    case IMAGE_MAX_ITER:  return offsetof(struct sample_image, max_iter);
    case ROW_SIZE:        return sizeof(struct sample_row);
    case ROW_IMAGE:       return offsetof(struct sample_row, image);
    case ROW_ROW:         return offsetof(struct sample_row, row);
    case RANGE_SIZE:      return sizeof(struct sample_range);
    case RANGE_A:         return offsetof(struct sample_range, a);
    case RANGE_N:         return offsetof(struct sample_range, n);
    case RANGE_SPLIT_MIN: return offsetof(struct sample_range, split_min);
    case CHUNK_SIZE:      return sizeof(struct sample_chunk);
    case CHUNK_ADDRESS:   return offsetof(struct sample_chunk, address);
    case CHUNK_LENGTH:    return offsetof(struct sample_chunk, length);
    default:              return -1;
    }
}

/* ---- checks and set-up, shared by the workloads ---------------------------------------------- */

/* The first byte at which a and b differ, or -1 if the bytes are equal. */
SAMPLE_EXPORT int64_t sample_first_difference(int64_t a, int64_t b, int64_t bytes)
{
    const uint8_t *p = (const uint8_t *) a, *q = (const uint8_t *) b;
    const int64_t block = 64 * 1024;
    for (int64_t at = 0; at < bytes; at += block) {
        int64_t len = bytes - at < block ? bytes - at : block;
        if (memcmp(p + at, q + at, (size_t) len) != 0) {
            for (int64_t i = at; ; i++)
                if (p[i] != q[i])
                    return i;
        }
    }
    return -1;
}

SAMPLE_EXPORT void sample_copy(int64_t dst, int64_t src, int64_t bytes)
{
    memcpy((void *) dst, (const void *) src, (size_t) bytes);
}

/* splitmix64 (Steele, Lea and Flood): fills `bytes` bytes with a sequence fixed by `seed`. */
SAMPLE_EXPORT void sample_fill_random(int64_t address, int64_t bytes, int64_t seed)
{
    uint8_t *p = (uint8_t *) address;
    uint64_t state = (uint64_t) seed;
    for (int64_t at = 0; at < bytes; at += 8) {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        int64_t len = bytes - at < 8 ? bytes - at : 8;
        memcpy(p + at, &z, (size_t) len);
    }
}

/* ---- mandelbrot: one task per row ------------------------------------------------------------ */

/* The region drawn: x in [-2.2, 0.8], y in [-1, 1] (3:2, so a 3:2 image has square pixels). */
#define MANDEL_X_MIN (-2.2)
#define MANDEL_X_SPAN 3.0
#define MANDEL_Y_MAX 1.0
#define MANDEL_Y_SPAN 2.0

static void mandelbrot_row(const struct sample_image *image, int64_t row)
{
    const int64_t width = image->width, max_iter = image->max_iter;
    int32_t *out = image->pixels + row * width;
    const double ci = MANDEL_Y_MAX - ((double) row + 0.5) * MANDEL_Y_SPAN / (double) image->height;
    for (int64_t x = 0; x < width; x++) {
        const double cr = MANDEL_X_MIN + ((double) x + 0.5) * MANDEL_X_SPAN / (double) width;
        double zr = 0, zi = 0, zr2 = 0, zi2 = 0;
        int64_t i = 0;
        while (i < max_iter && zr2 + zi2 <= 4.0) {
            zi = 2 * zr * zi + ci;
            zr = zr2 - zi2 + cr;
            zr2 = zr * zr;
            zi2 = zi * zi;
            i++;
        }
        out[x] = (int32_t) i;
    }
}

/* Spindle: arg is a struct sample_row. */
SAMPLE_EXPORT intptr_t sample_mandelbrot_row_task(void *arg)
{
    const struct sample_row *r = arg;
    mandelbrot_row(r->image, r->row);
    return 0;
}

/* Virtual threads: one row per call. */
SAMPLE_EXPORT void sample_mandelbrot_row(int64_t image, int64_t row)
{
    mandelbrot_row((const struct sample_image *) image, row);
}

/* Sequential: every row. */
SAMPLE_EXPORT void sample_mandelbrot(int64_t image)
{
    const struct sample_image *img = (const struct sample_image *) image;
    for (int64_t row = 0; row < img->height; row++)
        mandelbrot_row(img, row);
}

/* ---- fib: fork-join, a spawn per call above the cutoff --------------------------------------- */

static int64_t fib_sequential(int64_t n)
{
    return n < 2 ? n : fib_sequential(n - 1) + fib_sequential(n - 2);
}

/* Sequential, and the leaves of the virtual threads' recursion. */
SAMPLE_EXPORT int64_t sample_fib(int64_t n)
{
    return fib_sequential(n);
}

/* arg: n | cutoff << 32. Calls at or below the cutoff run sequentially. */
SAMPLE_EXPORT intptr_t sample_fib_task(void *arg)
{
    const int64_t packed = (intptr_t) arg;
    const int64_t n = packed & 0xffffffff, cutoff = packed >> 32;
    if (n <= cutoff || n < 2)
        return fib_sequential(n);
    spn_task_t *left;
    int r = spn_spawn(sample_fib_task, (void *) (intptr_t) ((n - 1) | cutoff << 32), &left);
    if (r != SPN_OK)
        return SAMPLE_SPN_FAILED(r);
    intptr_t right = sample_fib_task((void *) (intptr_t) ((n - 2) | cutoff << 32));
    intptr_t l;
    r = spn_join(left, &l); /* always, even if `right` failed: the handle is given back once */
    if (r != SPN_OK)
        return SAMPLE_SPN_FAILED(r);
    if (l < 0)
        return l;
    if (right < 0)
        return right;
    return l + right;
}

/* ---- sort: quicksort of int32s, one half spawned, the other recursed on ---------------------- */

/* Below this many ints every quicksort finishes with insertion sort. */
#define INSERTION_SORT_MAX 24

static void insertion_sort(int32_t *a, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        const int32_t v = a[i];
        int64_t j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static inline void swap32(int32_t *a, int64_t i, int64_t j)
{
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/*
 * Hoare's partition around the median of the first, middle and last ints, moved to a[0] so
 * that the pivot is a[0] (the form for which Hoare's scheme provably returns a split
 * strictly inside the range). Returns k, 1 <= k <= n - 1: every int of [0, k) is <= every
 * int of [k, n). Needs n >= 2.
 */
static int64_t partition(int32_t *a, int64_t n)
{
    const int64_t mid = n / 2, last = n - 1;
    if (a[mid] < a[0])
        swap32(a, mid, 0);
    if (a[last] < a[0])
        swap32(a, last, 0);
    if (a[last] < a[mid])
        swap32(a, last, mid);
    swap32(a, 0, mid); /* the median to the front */
    const int32_t pivot = a[0];
    int64_t i = -1, j = n;
    for (;;) {
        do
            i++;
        while (a[i] < pivot);
        do
            j--;
        while (a[j] > pivot);
        if (i >= j)
            return j + 1;
        swap32(a, i, j);
    }
}

/* Recurses on the shorter side and loops on the longer: the depth stays below log2(n). */
static void quicksort_sequential(int32_t *a, int64_t n)
{
    while (n > INSERTION_SORT_MAX) {
        const int64_t k = partition(a, n);
        if (k < n - k) {
            quicksort_sequential(a, k);
            a += k;
            n -= k;
        } else {
            quicksort_sequential(a + k, n - k);
            n = k;
        }
    }
    insertion_sort(a, n);
}

/* Sequential: the whole array in one call; also the leaves of the virtual threads' recursion. */
SAMPLE_EXPORT void sample_sort(int64_t a, int64_t n)
{
    quicksort_sequential((int32_t *) a, n);
}

/* The virtual threads' split step: partitions [a, a + n) and returns k (see partition). */
SAMPLE_EXPORT int64_t sample_partition(int64_t a, int64_t n)
{
    return partition((int32_t *) a, n);
}

SAMPLE_EXPORT intptr_t sample_sort_task(void *arg);

static intptr_t sort_parallel(int32_t *a, int64_t n, int64_t split_min)
{
    if (n <= split_min || n < 2) {
        quicksort_sequential(a, n);
        return 0;
    }
    const int64_t k = partition(a, n);
    /* On this green thread's stack: it outlives the child, which is joined below. */
    struct sample_range left = { a, k, split_min };
    spn_task_t *child;
    int r = spn_spawn(sample_sort_task, &left, &child);
    if (r != SPN_OK)
        return SAMPLE_SPN_FAILED(r);
    intptr_t right = sort_parallel(a + k, n - k, split_min);
    intptr_t l;
    r = spn_join(child, &l); /* always: `left` must not go away while the child may read it */
    if (r != SPN_OK)
        return SAMPLE_SPN_FAILED(r);
    return l < 0 ? l : right;
}

/* Spindle: arg is a struct sample_range. 0, or SAMPLE_SPN_FAILED(...). */
SAMPLE_EXPORT intptr_t sample_sort_task(void *arg)
{
    const struct sample_range *r = arg;
    return sort_parallel(r->a, r->n, r->split_min);
}

/* The first i with a[i] > a[i + 1], or -1 if the ints are in order. */
SAMPLE_EXPORT int64_t sample_first_descent(int64_t address, int64_t n)
{
    const int32_t *a = (const int32_t *) address;
    for (int64_t i = 0; i + 1 < n; i++)
        if (a[i] > a[i + 1])
            return i;
    return -1;
}

/*
 * An order-independent hash of the ints (a sum of mixed values): two arrays with different
 * hashes are not permutations of each other; equal hashes make a permutation very likely.
 */
SAMPLE_EXPORT int64_t sample_multiset_hash(int64_t address, int64_t n)
{
    const int32_t *a = (const int32_t *) address;
    uint64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t z = (uint64_t) (uint32_t) a[i] * 0x9e3779b97f4a7c15ull;
        z ^= z >> 29;
        z *= 0xbf58476d1ce4e5b9ull;
        sum += z ^ (z >> 32);
    }
    return (int64_t) sum;
}

/* ---- hash: CRC32C (Castagnoli, as java.util.zip.CRC32C) per 64 KiB chunk ---------------------- */

/* Bit by bit, reflected polynomial 0x82F63B78: for CPUs without SSE4.2 (and other ISAs). */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, int64_t n)
{
    while (n-- > 0) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return crc;
}

#if defined(__x86_64__)
/* Eight bytes per crc32 instruction, then the tail a byte at a time. */
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *p, int64_t n)
{
    uint64_t c = crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint64_t word;
        memcpy(&word, p, 8); /* unaligned-safe; compiles to one load */
        c = __builtin_ia32_crc32di(c, word);
    }
    uint32_t c32 = (uint32_t) c;
    for (; n > 0; p++, n--)
        c32 = __builtin_ia32_crc32qi(c32, *p);
    return c32;
}

/* 0 unknown, 1 no, 2 yes. Racy, but the race is benign: every thread computes the same value. */
static int has_sse42;

static int sse42(void)
{
    int known = __atomic_load_n(&has_sse42, __ATOMIC_RELAXED);
    if (known == 0) {
        unsigned int eax, ebx, ecx, edx;
        known = (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_SSE4_2)) ? 2 : 1;
        __atomic_store_n(&has_sse42, known, __ATOMIC_RELAXED);
    }
    return known == 2;
}
#endif

static uint32_t crc32c(const uint8_t *p, int64_t n)
{
#if defined(__x86_64__)
    if (sse42())
        return ~crc32c_sse42(~0u, p, n);
#endif
    return ~crc32c_bitwise(~0u, p, n);
}

/* Spindle: arg is a struct sample_chunk; the result is its CRC32C (0 .. 2^32 - 1). */
SAMPLE_EXPORT intptr_t sample_crc32c_task(void *arg)
{
    const struct sample_chunk *c = arg;
    return (intptr_t) crc32c(c->address, c->length);
}

/* Virtual threads: one chunk per call. */
SAMPLE_EXPORT int64_t sample_crc32c(int64_t address, int64_t length)
{
    return crc32c((const uint8_t *) address, length);
}

/* Sequential: the CRC32C of each of `count` struct sample_chunk at `chunks` into out[i]. */
SAMPLE_EXPORT void sample_crc32c_chunks(int64_t chunks, int64_t count, int64_t out)
{
    const struct sample_chunk *c = (const struct sample_chunk *) chunks;
    int64_t *crcs = (int64_t *) out;
    for (int64_t i = 0; i < count; i++)
        crcs[i] = crc32c(c[i].address, c[i].length);
}
