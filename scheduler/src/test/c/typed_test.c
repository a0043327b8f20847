/*
 * typed_test.c: ordinary C functions of many signatures, for Spindle.call (typed calls
 * with no glue). None of them knows about Spindle.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

int8_t spn_t_i8_minus_two(void) { return -2; }
uint8_t spn_t_u8_254(void) { return 254; }
int16_t spn_t_i16_minus_two(void) { return -2; }
uint16_t spn_t_u16_65534(void) { return 65534; }
int32_t spn_t_i32_identity(int32_t a) { return a; }
uint32_t spn_t_u32_max_minus_one(void) { return UINT32_MAX - 1; }
uint64_t spn_t_u64_max(void) { return UINT64_MAX; }

/* What the callee saw, widened by the callee itself: the caller must pass them extended. */
int64_t spn_t_widen_i8(int8_t x) { return x; }
int64_t spn_t_widen_i16(int16_t x) { return x; }
uint64_t spn_t_widen_u16(uint16_t x) { return x; }
uint64_t spn_t_widen_u32(uint32_t x) { return x; }

/* Every integer register, in order: a weighted sum tells them apart. */
int64_t spn_t_six(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

/* Every vector register, in order. */
double spn_t_eight(double a, double b, double c, double d, double e, double f, double g, double h)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

/* Integers and floating point interleaved: each class takes its registers in its own order. */
double spn_t_mixed(int32_t a, double x, int8_t b, float y, uint16_t c, double z)
{
    return a + 10.0 * x + 100.0 * b + 1000.0 * y + 10000.0 * c + 100000.0 * z;
}

float spn_t_fmul(float a, float b) { return a * b; }

void spn_t_store(int64_t *where, int64_t value) { *where = value; }

int64_t spn_t_deref(const int64_t *p) { return *p; }

/* Every argument register of both classes at once: the register limit, in one row. */
double spn_t_fourteen(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f,
                      double p, double q, double r, double s, double t, double u, double v, double w)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f
           + 7 * p + 8 * q + 9 * r + 10 * s + 11 * t + 12 * u + 13 * v + 14 * w;
}

/* Counts its calls (so a test sees each row run exactly once) and gives its value back. */
int64_t spn_t_count(int64_t *calls, int64_t value)
{
    __atomic_fetch_add(calls, 1, __ATOMIC_RELAXED);
    return value;
}

/* As spn_t_count, slowly: a batch still running when the test stops the runtime. */
int64_t spn_t_count_slowly(int64_t *calls, int64_t value)
{
    __atomic_fetch_add(calls, 1, __ATOMIC_RELAXED);
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
    return value;
}

/* The thread that ran the call, after sleeping sleep_us: which worker took which row. */
int64_t spn_t_tid_after(int64_t sleep_us)
{
    if (sleep_us > 0) {
        struct timespec t = {0, sleep_us * 1000};
        nanosleep(&t, NULL);
    }
    return syscall(SYS_gettid);
}

/* An odd value ends the call with pthread_exit(10 * value); an even one is returned. */
int64_t spn_t_exit_if_odd(int64_t value)
{
    if (value & 1)
        pthread_exit((void *) (intptr_t) (10 * value));
    return value;
}
