/*
 * tls.c: making a raw clone(2) thread a glibc citizen.
 *
 * glibc keeps each thread's identity in its TCB (struct pthread, whose first bytes are the
 * x86-64 tcbhead_t that %fs points at). pthread_create fills it in; we clone threads
 * ourselves, so we fill in the same fields: spn_tcb_prepare() below says at each one why it
 * is needed, and the README ("What native code on a raw thread may do") what works. The
 * layout is glibc's private business, so nothing is assumed blindly: spn_runtime_init()
 * finds the offsets from glibc's own exports (the descriptors it publishes for debuggers)
 * or answers (the stack fields, find_stack_fields), checks them on a thread glibc made, and
 * refuses to run when anything does not match.
 *
 * What glibc 2.36's pthread_create and start_thread do for a pthread, and what a raw thread
 * gets instead:
 *   TLS from a cached stack re-initialised               the same, libc's own block kept
 *     (_dl_allocate_tls_init)                            (restart_tls, "TCBs and their
 *                                                        thread-locals" below)
 *   specific[0] pointed at the first block of key values the same (spn_tcb_prepare)
 *   rseq registration, __ctype_init, the robust list     the same (spn_tcb_adopt)
 *   __resp = &pd->res (the resolver state)               the same (spn_tcb_adopt)
 *   the signal mask the creator asked for                every asynchronous signal blocked
 *   setjmp into cleanup_jmp_buf (pthread_exit's target)  the same, in the thread's entry
 *   the stack fields allocate_stack filled in            the same (spn_tcb_set_stack)
 *   at exit, in spn_tcb_thread_ending:
 *   __call_tls_dtors (C++ thread_local destructors)      the same
 *   __nptl_deallocate_tsd (pthread key destructors)      the same, written from glibc's
 *                                                        descriptors (run_key_destructors)
 *   __libc_thread_freeres: the resolver's sockets and    the same, through res_nclose
 *     name servers
 *   __libc_thread_freeres: dlerror's message, strerror's freed the same (dlerror; the two
 *     and strsignal's buffers                            buffers' fields found by a probe)
 *   __libc_thread_freeres: malloc's per-thread cache and kept: libc's block goes on to the
 *     arena, Sun RPC's state                             next TCB (no leak, no re-creation)
 *   pthread_mutex PRIO_PROTECT priority data (tpp)       not freed: lost with a freed TCB
 *   the thread list, thread_db events, setxid sync       not on the list (README limits)
 *   the tid cleared and its futex woken at exit          the kernel does it (CLONE_CHILD_CLEARTID)
 */
#define _GNU_SOURCE
#include "spindle_runtime.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <locale.h>
#include <netdb.h>
#include <pthread.h>
#include <resolv.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#undef p_type /* resolv.h renames its p_type(); here it is only the ELF header field */

#if !defined(__x86_64__)
#error "Spindle's TLS set-up is written and verified for x86-64 glibc only"
#endif

/* tcbhead_t, x86-64, stable since glibc 2.3 (sysdeps/x86_64/nptl/tls.h). */
#define TCB_OFF_TCB              0x00 /* void *tcb: %fs:0, what &errno is computed from */
#define TCB_OFF_SELF             0x10 /* struct pthread *self: pthread_self(), stdio lock owner */
#define TCB_OFF_MULTIPLE_THREADS 0x18 /* int: 0 makes malloc drop its lock prefixes */
#define TCB_OFF_STACK_GUARD      0x28 /* -fstack-protector canary */
#define TCB_OFF_POINTER_GUARD    0x30 /* PTR_MANGLE key (setjmp, atexit) */

#define RSEQ_SIG 0x53053053         /* glibc's x86 rseq signature */
#define RSEQ_CPU_ID_UNINITIALIZED (-1)
#define RSEQ_CPU_ID_REGISTRATION_FAILED (-2)
#define RSEQ_AREA_SIZE 32           /* struct rseq's original size; what glibc 2.35+ registers */

/* struct robust_list_head, linux/futex.h. */
struct robust_head {
    void *list;
    long futex_offset;
    void *list_op_pending;
};

/* struct pthread_key_struct (the process's key table, __pthread_keys) and struct
 * pthread_key_data (a thread's value of one key): glibc 2.36's shapes, checked against its
 * thread_db descriptors at start-up. */
struct key_slot {
    uintptr_t seq;  /* key table: odd while the key exists; a value: the seq it was set under */
    void *value;    /* key table: the destructor; a value: the thread's value */
};

/* One entry of a thread's dtv (dtv_t: the module's block and what to free), checked too. */
struct dtv_slot {
    void *block;
    void *to_free; /* NULL for static TLS; a dynamic block's allocation */
};

#define LIBC_TLS_MAX 512 /* bytes: glibc 2.36's own TLS block is 144 */

static struct {
    void *(*allocate_tls)(void *);
    void *(*allocate_tls_init)(void *, _Bool);
    void (*deallocate_tls)(void *, int);
    void (*ctype_init)(void);
    void (*call_tls_dtors)(void);
    ptrdiff_t rseq_offset;
    unsigned int rseq_size;
    size_t tid_offset;
    size_t robust_offset;
    long robust_futex_offset;
    size_t stack_offset; /* stackblock, then stackblock_size, guardsize, reported_guardsize */
    size_t res_offset;   /* struct pthread's resolver state (res) */
    ptrdiff_t resp_tls;  /* libc's __resp, the thread's resolver state pointer: thread-pointer relative */
    size_t exit_buf_offset;   /* cleanup_jmp_buf: where pthread_exit's unwinding ends */
    size_t result_offset;     /* result: pthread_exit's value */
    size_t cancel_offset;     /* cancelhandling: pthread_exit sets EXITING in it */
    ptrdiff_t message_buffers[2]; /* strerror's and strsignal's buffers; -1: not found, not freed */
    size_t dtv_offset;        /* the TCB header's dtv pointer */
    size_t specific_offset;   /* struct pthread's specific[]: per 32 keys, the block of values */
    size_t first_keys_offset; /* specific_1stblock: the values of keys 0..31, in the TCB */
    size_t key_blocks;        /* entries of specific[] */
    size_t keys_per_block;
    struct key_slot *keys;    /* __pthread_keys */
    ptrdiff_t libc_tls_offset;/* libc's own static TLS block: thread pointer minus this */
    size_t libc_tls_size;
    size_t pthread_size;
    size_t page_size;
    int ready;
    int init_error;
    char init_message[256];
} glibc;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static inline char *thread_pointer(void)
{
    char *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    return tp;
}

static int init_fail(int err, const char *what)
{
    glibc.init_error = err;
    snprintf(glibc.init_message, sizeof glibc.init_message,
             "Spindle cannot make raw threads in this process: %s. Raw-clone threads need "
             "glibc 2.35+ on x86-64 (this check reads glibc's private TLS layout).", what);
    return err;
}

/* The offset of the one word of struct pthread whose value lies in [low, high), or -1. */
static ptrdiff_t unique_word_in(char *self, size_t size, uintptr_t low, uintptr_t high)
{
    ptrdiff_t found = -1;
    for (size_t at = 0; at + sizeof(uintptr_t) <= size; at += sizeof(uintptr_t)) {
        uintptr_t v = *(uintptr_t *) (self + at);
        if (v >= low && v < high) {
            if (found >= 0)
                return -1;
            found = (ptrdiff_t) at;
        }
    }
    return found;
}

/* The stack fields of struct pthread (glibc 2.36: void *stackblock; size_t stackblock_size;
 * size_t guardsize; size_t reported_guardsize; in that order), which pthread_getattr_np reads
 * and __libc_alloca_cutoff sizes its stack allowance by. glibc exports no descriptor for them,
 * so a probe thread that glibc makes, with a stack and a guard of sizes no other field holds,
 * asks pthread_getattr_np for its stack and looks for those values in its own struct pthread.
 * They must appear once, in that order. */
#define PROBE_STACK (384 * 1024)
#define PROBE_GUARD_PAGES 3

struct stack_probe {
    size_t pthread_size;
    size_t page;
    ptrdiff_t offset;     /* -1: not found, or found more than once */
    ptrdiff_t res_offset; /* where __res_state() points on a glibc thread: its own res; -1 if not inside */
    ptrdiff_t resp_tls;   /* &__resp - thread pointer: static TLS, the same on every thread */
    ptrdiff_t message_buffers[2]; /* strerror's and strsignal's, in struct pthread; -1: not found */
};

/* strerror and strsignal format a number they have no text for into a buffer they allocate
 * and keep in struct pthread (tls_state) until the thread exits. The field is the one word
 * of struct pthread that holds the text they return. */
static ptrdiff_t message_buffer(const char *text, size_t pthread_size)
{
    char *self = (char *) pthread_self();
    return unique_word_in(self, pthread_size, (uintptr_t) text, (uintptr_t) text + 1);
}

static void *stack_probe_main(void *p)
{
    struct stack_probe *probe = p;
    probe->offset = -1;
    /* The resolver: start_thread points __resp at the thread's own struct pthread's res. */
    char *me = (char *) pthread_self();
    ptrdiff_t res = (char *) __res_state() - me;
    probe->res_offset = res > 0 && (size_t) res + sizeof(struct __res_state) <= probe->pthread_size ? res : -1;
    char *resp = dlsym(RTLD_DEFAULT, "__resp");
    probe->resp_tls = resp && *(char **) resp == me + res ? resp - thread_pointer() : 0;
    probe->message_buffers[0] = message_buffer(strerror(123456), probe->pthread_size);
    probe->message_buffers[1] = message_buffer(strsignal(123456), probe->pthread_size);
    pthread_attr_t attr;
    void *low;
    size_t size, guard;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return NULL;
    int ok = pthread_attr_getstack(&attr, &low, &size) == 0 && pthread_attr_getguardsize(&attr, &guard) == 0;
    pthread_attr_destroy(&attr);
    if (!ok || guard != PROBE_GUARD_PAGES * probe->page)
        return NULL;
    /* pthread_getattr_np: stack top = stackblock + stackblock_size, size = stackblock_size - guardsize. */
    uintptr_t want[4] = {(uintptr_t) low - guard, size + guard, guard, guard};
    char *self = (char *) pthread_self();
    for (size_t at = 0; at + sizeof want <= probe->pthread_size; at += sizeof(uintptr_t)) {
        if (memcmp(self + at, want, sizeof want) == 0) {
            if (probe->offset >= 0) {
                probe->offset = -1;
                return NULL;
            }
            probe->offset = (ptrdiff_t) at;
        }
    }
    return NULL;
}

static ptrdiff_t find_stack_fields(void)
{
    struct stack_probe probe = {glibc.pthread_size, glibc.page_size, -1, -1, 0, {-1, -1}};
    pthread_attr_t attr;
    pthread_t thread;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    int ok = pthread_attr_setstacksize(&attr, PROBE_STACK) == 0
             && pthread_attr_setguardsize(&attr, PROBE_GUARD_PAGES * glibc.page_size) == 0
             && pthread_create(&thread, &attr, stack_probe_main, &probe) == 0;
    pthread_attr_destroy(&attr);
    if (!ok || pthread_join(thread, NULL) != 0)
        return -1;
    glibc.res_offset = probe.res_offset > 0 ? (size_t) probe.res_offset : 0;
    glibc.resp_tls = probe.res_offset > 0 ? probe.resp_tls : 0;
    glibc.message_buffers[0] = probe.message_buffers[0];
    glibc.message_buffers[1] = probe.message_buffers[1];
    return probe.offset;
}

/* pthread_exit unwinds to the buffer struct pthread's cleanup_jmp_buf points at (start_thread
 * sets it before it calls the thread's function) and leaves its value in result. Neither has
 * a descriptor. A probe thread glibc makes finds the first as the one word of its struct
 * pthread that points into its stack above the probe's own frame, checks it by pushing a
 * cleanup handler (which points the field at the handler's buffer), and finds the second
 * from that handler, run by pthread_exit with a value no other field holds. */
#define EXIT_PROBE_VALUE ((void *) 0x5350494e444c4531ULL)

struct exit_probe {
    size_t pthread_size;
    ptrdiff_t exit_buf_offset; /* -1: not found, or not unique */
    ptrdiff_t result_offset;
    int checked;               /* the field followed pthread_cleanup_push */
};

static void exit_probe_handler(void *p)
{
    struct exit_probe *probe = p;
    char *self = (char *) pthread_self();
    probe->result_offset = unique_word_in(self, probe->pthread_size, (uintptr_t) EXIT_PROBE_VALUE,
                                          (uintptr_t) EXIT_PROBE_VALUE + 1);
}

static void *exit_probe_main(void *p)
{
    struct exit_probe *probe = p;
    volatile char mark = 0;
    char *self = (char *) pthread_self();
    probe->exit_buf_offset = unique_word_in(self, probe->pthread_size, (uintptr_t) &mark, (uintptr_t) self);
    pthread_cleanup_push(exit_probe_handler, probe);
    /* __cancel_buf: the buffer pthread.h's C pthread_cleanup_push declares (this file is
     * built without -fexceptions, so the macro is that one). */
    probe->checked = probe->exit_buf_offset >= 0
                     && *(void **) (self + probe->exit_buf_offset) == (void *) &__cancel_buf;
    pthread_exit(EXIT_PROBE_VALUE);
    pthread_cleanup_pop(0);
    return NULL;
}

static int find_exit_fields(void)
{
    struct exit_probe probe = {glibc.pthread_size, -1, -1, 0};
    pthread_t thread;
    void *value = NULL;
    if (pthread_create(&thread, NULL, exit_probe_main, &probe) != 0 || pthread_join(thread, &value) != 0)
        return -1;
    if (value != EXIT_PROBE_VALUE || !probe.checked || probe.exit_buf_offset < 0 || probe.result_offset < 0)
        return -1;
    glibc.exit_buf_offset = (size_t) probe.exit_buf_offset;
    glibc.result_offset = (size_t) probe.result_offset;
    return 0;
}

/* A thread_db descriptor: {size in bits, count, offset}. NULL when glibc does not export it. */
static const uint32_t *descriptor(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

static int is_field(const uint32_t *d, uint32_t bits, uint32_t count, uint32_t offset)
{
    return d && d[0] == bits && d[1] == count && d[2] == offset;
}

/* pthread keys: the key table and where a thread keeps its values (a first block of 32 in
 * struct pthread, further blocks of 32 allocated as keys above 31 are set). Read from the
 * thread_db descriptors, then checked by setting a key on the calling thread (glibc made it:
 * its specific[0] points at its first block, as pthread_create sets it). */
static int find_key_fields(void)
{
    const uint32_t *table = descriptor("_thread_db___pthread_keys");
    const uint32_t *specific = descriptor("_thread_db_pthread_specific");
    const uint32_t *block = descriptor("_thread_db_pthread_key_data_level2_data");
    glibc.keys = dlsym(RTLD_DEFAULT, "__pthread_keys");
    const int word = (int) sizeof(uintptr_t) * 8;
    if (!glibc.keys || !table || !specific || !block
        || !is_field(descriptor("_thread_db_pthread_key_struct_seq"), word, 1, 0)
        || !is_field(descriptor("_thread_db_pthread_key_struct_destr"), word, 1, 8)
        || !is_field(descriptor("_thread_db_pthread_key_data_seq"), word, 1, 0)
        || !is_field(descriptor("_thread_db_pthread_key_data_data"), word, 1, 8)
        || table[0] != 8 * sizeof(struct key_slot) || block[0] != 8 * sizeof(struct key_slot)
        || specific[1] != 1 || specific[0] % word != 0)
        return -1;
    glibc.key_blocks = specific[0] / word;
    glibc.keys_per_block = block[1];
    glibc.specific_offset = specific[2];
    if (glibc.key_blocks * glibc.keys_per_block != table[1] || table[1] != PTHREAD_KEYS_MAX
        || glibc.specific_offset + specific[0] / 8 > glibc.pthread_size)
        return -1;
    char *self = (char *) pthread_self();
    char *first = *(char **) (self + glibc.specific_offset);
    if (first <= self || first + glibc.keys_per_block * sizeof(struct key_slot) > self + glibc.pthread_size)
        return -1;
    glibc.first_keys_offset = (size_t) (first - self);

    pthread_key_t key;
    if (pthread_key_create(&key, NULL) != 0)
        return -1;
    int ok = pthread_setspecific(key, &glibc) == 0;
    struct key_slot **blocks = (struct key_slot **) (self + glibc.specific_offset);
    struct key_slot *slot = ok ? blocks[key / glibc.keys_per_block] : NULL;
    ok = slot && slot[key % glibc.keys_per_block].value == &glibc
         && slot[key % glibc.keys_per_block].seq == glibc.keys[key].seq && (glibc.keys[key].seq & 1);
    pthread_setspecific(key, NULL);
    pthread_key_delete(key);
    return ok ? 0 : -1;
}

struct libc_tls_search {
    uintptr_t base;   /* libc's load address */
    char *block;      /* its TLS block on the calling thread */
    size_t size;
    size_t modid;
};

static int find_libc_tls(struct dl_phdr_info *info, size_t size, void *p)
{
    struct libc_tls_search *search = p;
    if (info->dlpi_addr != search->base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type == PT_TLS) {
            search->block = info->dlpi_tls_data;
            search->size = info->dlpi_phdr[i].p_memsz;
            search->modid = info->dlpi_tls_modid;
        }
    }
    return 1;
}

/* libc's own static TLS block (errno, the locale, malloc's per-thread cache and arena...)
 * and the dtv, which says where each module's block of a thread is: found on the calling
 * thread, where the dtv entry of libc must point at the block dl_iterate_phdr reports. */
static int find_tls_blocks(void)
{
    const uint32_t *dtvp = descriptor("_thread_db_pthread_dtvp");
    const uint32_t *dtv = descriptor("_thread_db_dtv_dtv");
    if (!dtvp || dtvp[0] != 8 * sizeof(void *) || !dtv || dtv[0] != 8 * sizeof(struct dtv_slot)
        || !is_field(descriptor("_thread_db_dtv_t_pointer_val"), 8 * sizeof(void *), 1, 0))
        return -1;
    glibc.dtv_offset = dtvp[2];
    Dl_info libc;
    struct libc_tls_search search = {0};
    if (!dladdr((void *) &malloc, &libc) || !libc.dli_fbase)
        return -1;
    search.base = (uintptr_t) libc.dli_fbase;
    dl_iterate_phdr(find_libc_tls, &search);
    char *tp = thread_pointer();
    if (!search.block || search.size == 0 || search.size > LIBC_TLS_MAX || search.block + search.size > tp)
        return -1;
    struct dtv_slot *slots = *(struct dtv_slot **) (tp + glibc.dtv_offset);
    if (slots[search.modid].block != search.block || slots[search.modid].to_free != NULL)
        return -1;
    glibc.libc_tls_offset = tp - search.block;
    glibc.libc_tls_size = search.size;
    return 0;
}

static int do_init(void)
{
    glibc.page_size = (size_t) sysconf(_SC_PAGESIZE);

    glibc.allocate_tls = (void *(*)(void *)) dlsym(RTLD_DEFAULT, "_dl_allocate_tls");
    glibc.allocate_tls_init = (void *(*)(void *, _Bool)) dlsym(RTLD_DEFAULT, "_dl_allocate_tls_init");
    glibc.deallocate_tls = (void (*)(void *, int)) dlsym(RTLD_DEFAULT, "_dl_deallocate_tls");
    glibc.ctype_init = (void (*)(void)) dlsym(RTLD_DEFAULT, "__ctype_init");
    glibc.call_tls_dtors = (void (*)(void)) dlsym(RTLD_DEFAULT, "__call_tls_dtors");
    const uint32_t *tid_desc = dlsym(RTLD_DEFAULT, "_thread_db_pthread_tid");
    const uint32_t *sizeof_pthread = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
    const ptrdiff_t *rseq_offset = dlsym(RTLD_DEFAULT, "__rseq_offset");
    const unsigned int *rseq_size = dlsym(RTLD_DEFAULT, "__rseq_size");
    if (!glibc.allocate_tls || !glibc.allocate_tls_init || !glibc.deallocate_tls)
        return init_fail(ENOSYS, "_dl_allocate_tls/_dl_allocate_tls_init/_dl_deallocate_tls not found (not glibc?)");
    if (!glibc.ctype_init)
        return init_fail(ENOSYS, "__ctype_init not found");
    if (!glibc.call_tls_dtors)
        return init_fail(ENOSYS, "__call_tls_dtors not found");
    if (!tid_desc || !sizeof_pthread)
        return init_fail(ENOSYS, "glibc's thread_db descriptors (_thread_db_pthread_tid) not found");
    if (!rseq_offset || !rseq_size)
        return init_fail(ENOSYS, "__rseq_offset/__rseq_size not found (glibc older than 2.35)");

    /* A thread_db descriptor is {size in bits, count, offset}. */
    glibc.tid_offset = tid_desc[2];
    glibc.pthread_size = *sizeof_pthread;
    glibc.rseq_offset = *rseq_offset;
    glibc.rseq_size = *rseq_size;

    /* Check the layout on the calling thread, which glibc made. */
    char *self = (char *) pthread_self();
    if (self != thread_pointer() || *(char **) (self + TCB_OFF_TCB) != self
        || *(char **) (self + TCB_OFF_SELF) != self)
        return init_fail(EPROTO, "the TCB header is not where x86-64 glibc keeps it");
    if (glibc.tid_offset + sizeof(int32_t) > glibc.pthread_size
        || *(int32_t *) (self + glibc.tid_offset) != (int32_t) syscall(SYS_gettid))
        return init_fail(EPROTO, "struct pthread's tid field does not hold gettid()");
    if (*(int *) (self + TCB_OFF_MULTIPLE_THREADS) != 1)
        return init_fail(EPROTO, "the process is not multi-threaded in glibc's eyes");

    /* The robust list head sits inside struct pthread; the kernel tells us where ours is. */
    struct robust_head *head = NULL;
    size_t head_len = 0;
    if (syscall(SYS_get_robust_list, 0, &head, &head_len) != 0 || head == NULL
        || head_len != sizeof(struct robust_head))
        return init_fail(EPROTO, "get_robust_list gave no robust list for this thread");
    ptrdiff_t robust_offset = (char *) head - self;
    if (robust_offset <= 0 || (size_t) robust_offset + head_len > glibc.pthread_size)
        return init_fail(EPROTO, "the robust list head is not inside struct pthread");
    glibc.robust_offset = (size_t) robust_offset;
    glibc.robust_futex_offset = head->futex_offset;

    ptrdiff_t stack_offset = find_stack_fields();
    if (stack_offset < 0)
        return init_fail(EPROTO, "struct pthread's stack fields (stackblock, stackblock_size, guardsize) were not found");
    glibc.stack_offset = (size_t) stack_offset;
    if (!glibc.resp_tls)
        return init_fail(EPROTO, "libc's per-thread resolver state (__resp, struct pthread's res) was not found");
    const uint32_t *cancel_desc = dlsym(RTLD_DEFAULT, "_thread_db_pthread_cancelhandling");
    if (!cancel_desc || cancel_desc[2] + sizeof(int) > glibc.pthread_size)
        return init_fail(EPROTO, "glibc's descriptor of struct pthread's cancelhandling was not found");
    glibc.cancel_offset = cancel_desc[2];
    if (find_exit_fields() != 0)
        return init_fail(EPROTO, "struct pthread's cleanup_jmp_buf and result (what pthread_exit uses) were not found");
    if (find_key_fields() != 0)
        return init_fail(EPROTO, "glibc's pthread key table or struct pthread's key values (specific) do not match its descriptors");
    if (find_tls_blocks() != 0)
        return init_fail(EPROTO, "libc's own TLS block or the dtv (where a thread's TLS blocks are) was not found");

    glibc.ready = 1;
    return 0;
}

static void init_once_fn(void)
{
    do_init();
}

int spn_runtime_init(char *message, size_t message_size)
{
    pthread_once(&init_once, init_once_fn);
    if (!glibc.ready && message && message_size)
        snprintf(message, message_size, "%s", glibc.init_message);
    return glibc.ready ? 0 : glibc.init_error;
}

size_t spn_runtime_page_size(void) { return glibc.page_size; }

/* ---- TCBs and their thread-locals ----------------------------------------------------- */

/*
 * Every raw thread starts with its thread-locals at their initial values, as a pthread does:
 * every module's static TLS block copied from its image (glibc's _dl_allocate_tls_init, as
 * pthread_create does for a stack from its cache), no dynamic TLS block yet (a library
 * dlopen'ed at any time gets a fresh one on first use), no pthread key values.
 *
 * Except libc's own block, which goes from one raw thread to the next as if one long-lived
 * thread ran them in turn: it holds malloc's per-thread cache and arena, which glibc frees
 * at thread exit in code it does not export, so a block thrown away leaks the cache (~770
 * bytes and the chunks in it). What a program can see in it is reset at thread start
 * (errno, h_errno, the locale and ctype tables, the resolver state pointer) or released when
 * the previous thread ended (dlerror's message, the resolver's sockets and name servers).
 * The rest are caches glibc keeps for a thread's lifetime anyway (inet_ntoa's buffer, a
 * link map for C++ thread_local destructors, Sun RPC's state). A TCB that is freed (cached(false),
 * a trim, a full cache) hands its libc block to the next new TCB (libc_blocks below).
 */

#define TCB_CACHE_MAX 1024
#define LIBC_BLOCKS_MAX 1024

struct libc_block {
    struct libc_block *next;
    char bytes[];
};

static pthread_mutex_t tcb_lock = PTHREAD_MUTEX_INITIALIZER;
static void *tcb_cache[TCB_CACHE_MAX];
static int tcb_cache_count;
static struct libc_block *libc_blocks; /* from freed TCBs, for new ones */
static int libc_block_count;
static _Atomic int64_t tcb_live;

static char *libc_tls_of(void *tcb)
{
    return (char *) tcb - glibc.libc_tls_offset;
}

/* A cached TCB's thread-locals back to their images, libc's block kept. */
static void restart_tls(void *tcb)
{
    char libc[LIBC_TLS_MAX];
    memcpy(libc, libc_tls_of(tcb), glibc.libc_tls_size);
    /* As pthread_create does for a cached stack: free the dynamic blocks, empty the dtv,
     * and let glibc fill it again (it grows it for modules loaded since). */
    struct dtv_slot *dtv = *(struct dtv_slot **) ((char *) tcb + glibc.dtv_offset);
    size_t slots = (size_t) dtv[-1].block;
    for (size_t i = 1; i <= slots; i++)
        free(dtv[i].to_free);
    memset(dtv, 0, (slots + 1) * sizeof *dtv);
    glibc.allocate_tls_init(tcb, 0); /* 0: not the main thread's first call; initialise all */
    memcpy(libc_tls_of(tcb), libc, glibc.libc_tls_size);
    /* The resolver state in struct pthread as a new TCB has it, untouched (the previous
     * thread's ending released what it held). glibc leaves fields a thread set without
     * res_init to the next thread on a cached stack; a raw thread starts clean. */
    memset((char *) tcb + glibc.res_offset, 0, sizeof(struct __res_state));
}

/* Keeps the libc block of a TCB about to be freed; false if there is no room (it leaks). */
static int keep_libc_block(void *tcb)
{
    if (libc_block_count >= LIBC_BLOCKS_MAX)
        return 0;
    struct libc_block *b = malloc(sizeof *b + glibc.libc_tls_size);
    if (!b)
        return 0;
    memcpy(b->bytes, libc_tls_of(tcb), glibc.libc_tls_size);
    b->next = libc_blocks;
    libc_blocks = b;
    libc_block_count++;
    return 1;
}

static void free_tcb_locked(void *tcb)
{
    keep_libc_block(tcb);
    /* 1: free the TCB's storage and dtv too (and any dynamic TLS blocks). */
    glibc.deallocate_tls(tcb, 1);
    atomic_fetch_sub_explicit(&tcb_live, 1, memory_order_relaxed);
}

void *spn_tcb_acquire(int use_cache)
{
    void *tcb = NULL;
    struct libc_block *b = NULL;
    pthread_mutex_lock(&tcb_lock);
    if (use_cache && tcb_cache_count > 0) {
        tcb = tcb_cache[--tcb_cache_count];
    } else if (libc_blocks) {
        b = libc_blocks;
        libc_blocks = b->next;
        libc_block_count--;
    }
    pthread_mutex_unlock(&tcb_lock);
    if (tcb) {
        restart_tls(tcb);
        return tcb;
    }
    tcb = glibc.allocate_tls(NULL);
    if (tcb) {
        atomic_fetch_add_explicit(&tcb_live, 1, memory_order_relaxed);
        if (b)
            memcpy(libc_tls_of(tcb), b->bytes, glibc.libc_tls_size);
    } else if (b) {
        pthread_mutex_lock(&tcb_lock); /* not lost: back for the next one */
        b->next = libc_blocks;
        libc_blocks = b;
        libc_block_count++;
        pthread_mutex_unlock(&tcb_lock);
        return NULL;
    }
    free(b);
    return tcb;
}

void spn_tcb_release(void *tcb, int use_cache)
{
    pthread_mutex_lock(&tcb_lock);
    if (use_cache && tcb_cache_count < TCB_CACHE_MAX)
        tcb_cache[tcb_cache_count++] = tcb;
    else
        free_tcb_locked(tcb);
    pthread_mutex_unlock(&tcb_lock);
}

int64_t spn_tcb_live(void)
{
    return atomic_load_explicit(&tcb_live, memory_order_relaxed);
}

void spn_tcb_cache_trim(void)
{
    pthread_mutex_lock(&tcb_lock);
    while (tcb_cache_count > 0)
        free_tcb_locked(tcb_cache[--tcb_cache_count]);
    pthread_mutex_unlock(&tcb_lock);
}

int32_t *spn_tcb_tid_word(void *tcb)
{
    return (int32_t *) ((char *) tcb + glibc.tid_offset);
}

/* ---- filling in the TCB -------------------------------------------------------------- */

void spn_tcb_prepare(void *tcb)
{
    char *t = tcb;
    char *creator = (char *) pthread_self();
    *(void **) (t + TCB_OFF_TCB) = t;
    *(void **) (t + TCB_OFF_SELF) = t;
    *(int *) (t + TCB_OFF_MULTIPLE_THREADS) = 1;
    /* Guards must equal the creator's: code mangles pointers with one thread's key and
     * demangles them on another (atexit handlers, the canary of a shared frame). */
    *(uintptr_t *) (t + TCB_OFF_STACK_GUARD) = *(uintptr_t *) (creator + TCB_OFF_STACK_GUARD);
    *(uintptr_t *) (t + TCB_OFF_POINTER_GUARD) = *(uintptr_t *) (creator + TCB_OFF_POINTER_GUARD);
    /* CLONE_PARENT_SETTID writes the tid here before clone returns; 0 until then. */
    *spn_tcb_tid_word(tcb) = 0;
    /* The new thread registers rseq itself; until then sched_getcpu must not trust the
     * area (a reused TCB still holds the previous thread's cpu). */
    int32_t *rseq_cpu_id = (int32_t *) (t + glibc.rseq_offset + 4);
    *rseq_cpu_id = RSEQ_CPU_ID_UNINITIALIZED;
    /* Nothing to unwind to until the thread's entry sets it (a reused TCB still points at the
     * previous thread's), and not exiting. */
    *(void **) (t + glibc.exit_buf_offset) = NULL;
    *(int *) (t + glibc.cancel_offset) = 0;
    /* The values of keys 0..31 live in the TCB; pthread_create points specific[0] at them. */
    *(void **) (t + glibc.specific_offset) = t + glibc.first_keys_offset;
}

/* The stack the thread runs on, where glibc keeps it for pthread_getattr_np (and so for
 * HotSpot, garbage collectors, sanitizers: anyone that asks for its bounds) and for
 * __libc_alloca_cutoff (a quarter of the stack, at most 64 KiB, may go to alloca; a TCB
 * with no stack lets printf's helpers take 64 KiB). block is the lowest address, guard
 * included; block + size is the top. */
void spn_tcb_set_stack(void *tcb, void *block, size_t size, size_t guard)
{
    uintptr_t *fields = (uintptr_t *) ((char *) tcb + glibc.stack_offset);
    fields[0] = (uintptr_t) block;
    fields[1] = size;
    fields[2] = guard;
    fields[3] = guard;
}

int spn_tcb_layout(int64_t *out)
{
    int err = spn_runtime_init(NULL, 0);
    if (err)
        return err;
    out[SPN_TCB_STACK] = (int64_t) glibc.stack_offset;
    out[SPN_TCB_EXIT_BUF] = (int64_t) glibc.exit_buf_offset;
    out[SPN_TCB_RESULT] = (int64_t) glibc.result_offset;
    out[SPN_TCB_CANCELHANDLING] = (int64_t) glibc.cancel_offset;
    return 0;
}

/* What __nptl_deallocate_tsd does for a pthread: call the destructor of every key that has
 * a value (a value set under a deleted key is dropped), again while destructors set new
 * values, at most PTHREAD_DESTRUCTOR_ITERATIONS rounds; then no values are left and the
 * blocks of keys above 31 are freed. */
static void run_key_destructors(char *self)
{
    struct key_slot **blocks = (struct key_slot **) (self + glibc.specific_offset);
    for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
        int called = 0;
        for (size_t b = 0; b < glibc.key_blocks; b++) {
            struct key_slot *values = blocks[b];
            for (size_t i = 0; values && i < glibc.keys_per_block; i++) {
                void *value = values[i].value;
                if (!value)
                    continue;
                values[i].value = NULL;
                const struct key_slot *key = &glibc.keys[b * glibc.keys_per_block + i];
                void (*destructor)(void *) = (void (*)(void *)) key->value;
                if (values[i].seq == key->seq && destructor) {
                    destructor(value);
                    called = 1;
                }
            }
        }
        if (!called)
            break;
    }
    memset(self + glibc.first_keys_offset, 0, glibc.keys_per_block * sizeof(struct key_slot));
    for (size_t b = 1; b < glibc.key_blocks; b++) {
        free(blocks[b]);
        blocks[b] = NULL;
    }
}

/* strerror's and strsignal's message buffers, as __glibc_tls_internal_free frees them. */
static void free_message_buffers(char *self)
{
    for (int i = 0; i < 2; i++) {
        if (glibc.message_buffers[i] >= 0) {
            void **buffer = (void **) (self + glibc.message_buffers[i]);
            free(*buffer);
            *buffer = NULL;
        }
    }
}

void spn_tcb_thread_ending(void)
{
    /* What start_thread does once the thread's function is done, in its order: C++
     * thread_local destructors (and anything registered with __cxa_thread_atexit_impl), the
     * pthread key destructors, then what __libc_thread_freeres releases that a program could
     * see again on the next thread of this TCB or that would leak with it. */
    char *self = (char *) pthread_self();
    glibc.call_tls_dtors();
    run_key_destructors(self);
    free_message_buffers(self);
    /* dlerror's message: the first call reports it, the second frees it. */
    if (dlerror())
        dlerror();
    /* The resolver: close its sockets, free its name server addresses, let go of the
     * configuration, and make the next thread read it afresh (as __res_thread_freeres). */
    if (_res.nscount != 0) {
        res_nclose(&_res);
        _res.options = 0;
    }
}

void spn_tcb_set_exit_buf(void *tcb, void *buf)
{
    *(void **) ((char *) tcb + glibc.exit_buf_offset) = buf;
}

intptr_t spn_tcb_take_exit_value(void *tcb)
{
    char *t = tcb;
    /* pthread_exit marked the thread exiting; what runs next on this TCB is not. */
    *(int *) (t + glibc.cancel_offset) = 0;
    *(void **) (t + glibc.exit_buf_offset) = NULL;
    return *(intptr_t *) (t + glibc.result_offset);
}

void spn_tcb_adopt(void *tcb)
{
    char *t = tcb;
    /* In a child whose pid namespace is new, the kernel's PARENT_SETTID value is the
     * parent's view; mutex owner ids must be the thread's own view. */
    *spn_tcb_tid_word(tcb) = (int32_t) syscall(SYS_gettid);

    /* rseq: the kernel drops the registration for CLONE_VM children; register again so
     * sched_getcpu() reads the cpu from user space, or mark the fallback. */
    void *rseq_area = t + glibc.rseq_offset;
    int32_t *rseq_cpu_id = (int32_t *) ((char *) rseq_area + 4);
    if (glibc.rseq_size == 0
        || syscall(SYS_rseq, rseq_area, RSEQ_AREA_SIZE, 0, RSEQ_SIG) != 0)
        *rseq_cpu_id = RSEQ_CPU_ID_REGISTRATION_FAILED;

    /* The locale, then isalpha() and friends' per-thread tables from it. uselocale: libc's
     * TLS block comes from the previous raw thread (see "TCBs and their thread-locals"). */
    uselocale(LC_GLOBAL_LOCALE);
    glibc.ctype_init();

    /* The resolver state of its own, as start_thread gives a pthread: with the process-wide
     * _res, threads resolving at once share one DNS socket and close it under each other. */
    *(void **) (thread_pointer() + glibc.resp_tls) = t + glibc.res_offset;

    /* An empty robust list (it points at itself), so robust mutexes work and the kernel
     * releases them if the thread dies holding one. */
    struct robust_head *head = (struct robust_head *) (t + glibc.robust_offset);
    head->list = head;
    head->futex_offset = glibc.robust_futex_offset;
    head->list_op_pending = NULL;
    syscall(SYS_set_robust_list, head, sizeof *head);

    h_errno = 0;
    errno = 0; /* last: the calls above may set it */
}

/* ---- signals --------------------------------------------------------------------------- */

/*
 * The mask is set with the raw rt_sigprocmask system call, on the kernel's signal set (one
 * bit per signal, signal n at bit n - 1): glibc's sigfillset, sigaddset and pthread_sigmask
 * all leave out its internal signals 32 (SIGCANCEL) and 33 (SIGSETXID), and a raw thread
 * must have those blocked too. glibc sends them only to threads on its list, which raw
 * threads are not on, so blocked they lose nothing; deliverable, a stray one sent by this
 * process runs glibc's handler on a thread glibc does not know: 33's setxid handler
 * dereferences the absent request and crashes the JVM, 32 with no handler installed yet
 * kills the process. Blocked, a stray one stays pending until the thread ends. The caller's
 * own mask is changed only around clone, as pthread_create does.
 */
#define SIGNAL_BIT(n) (UINT64_C(1) << ((n) - 1))

void spn_block_async_signals(void *old_sigset)
{
    /* Synchronous fault signals stay deliverable: a faulting task must reach HotSpot's
     * handler (hs_err report), never die silently with the signal blocked. */
    uint64_t async = ~(SIGNAL_BIT(SIGSEGV) | SIGNAL_BIT(SIGBUS) | SIGNAL_BIT(SIGFPE)
                       | SIGNAL_BIT(SIGILL) | SIGNAL_BIT(SIGTRAP) | SIGNAL_BIT(SIGSYS));
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &async, old_sigset, sizeof async);
}

void spn_restore_signals(const void *old_sigset)
{
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, old_sigset, NULL, sizeof(uint64_t));
}

pid_t spn_gettid(void)
{
    return (pid_t) syscall(SYS_gettid);
}

const char *spn_strerror(int err)
{
    /* strerrorname_np would be nicer but needs glibc 2.32; the text is what users read. */
    return strerror(err);
}
