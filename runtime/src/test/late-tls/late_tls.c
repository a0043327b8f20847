/*
 * late_tls.c: a library the thread-local tests dlopen long after the runtime started, built
 * twice under two names (two modules, two sets of blocks). One variable of each TLS model a
 * shared library can use: general dynamic (the default with -fPIC: a block per thread,
 * allocated on first use through the dtv) and initial exec (the block is carved out of
 * every thread's static TLS when the library is loaded; glibc initialises it on the threads
 * it knows of).
 */
#include <stdint.h>

#define SPN_LATE_DYNAMIC_INITIAL 41
#define SPN_LATE_STATIC_INITIAL 43

static __thread int late_dynamic = SPN_LATE_DYNAMIC_INITIAL;
static __thread int late_static __attribute__((tls_model("initial-exec"))) = SPN_LATE_STATIC_INITIAL;

int spn_late_dynamic_get(void) { return late_dynamic; }
void spn_late_dynamic_set(int value) { late_dynamic = value; }
int spn_late_static_get(void) { return late_static; }
void spn_late_static_set(int value) { late_static = value; }
int spn_late_dynamic_initial(void) { return SPN_LATE_DYNAMIC_INITIAL; }
int spn_late_static_initial(void) { return SPN_LATE_STATIC_INITIAL; }
