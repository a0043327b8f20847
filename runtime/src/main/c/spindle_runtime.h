/*
 * spindle_runtime.h: Spindle's raw clone(2) threads and processes.
 *
 * This is the runtime library's C interface. Java reaches it through JNA direct mapping
 * (io.spindle.runtime.internal.RuntimeNative). The scheduler's C code does not link against
 * it: what it needs of glibc's layout (spn_tcb_layout) reaches it through Java.
 * Every function that can fail returns 0 or a positive errno value; nothing here throws
 * or prints. Input validation (flags, sizes, null functions) happens in Java before a
 * call gets here, so these checks are the last line of defence, not the first.
 *
 * Ownership: a spn_stack belongs to whoever allocated it until spn_stack_free; a
 * spn_thread owns its stack and its TCB from spn_thread_start until spn_thread_release,
 * which may only run once the thread is known to have exited (a join returned 0).
 */
#ifndef SPINDLE_RUNTIME_H
#define SPINDLE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPN_EXPORT __attribute__((visibility("default")))

/* A native entry point: the shape of every function Spindle runs on a raw thread. */
typedef intptr_t (*spn_fn)(void *arg);

/* ---------------------------------------------------------------------------------------
 * Start-up self-check: glibc's TLS layout as this process sees it.
 * ------------------------------------------------------------------------------------- */

/* Finds glibc's private TLS entry points and field offsets and checks them on the calling
 * thread. Returns 0, or an errno and a message in buf saying what does not match (another
 * libc, another architecture, a glibc whose layout moved). Idempotent, thread-safe. */
SPN_EXPORT int spn_runtime_init(char *message, size_t message_size);

/* Starts one raw thread and checks from inside it that its tid word, pthread_self() and
 * &errno are its own. 0, or EPROTO when glibc's layout is not what we filled in. */
SPN_EXPORT int spn_runtime_verify_raw_thread(void);

SPN_EXPORT size_t spn_runtime_page_size(void);

/* ---------------------------------------------------------------------------------------
 * Guarded stacks: one mapping each, a PROT_NONE guard page at its low end.
 *
 *   low addresses                                                      high addresses
 *   | guard (PROT_NONE) | usable stack, grows down <-------- | struct spn_stack (64 B) |
 *   ^ base                                                    ^ spn_stack_top()
 *
 * The header lives in the mapping itself, so a stack is one allocation with one release.
 * ------------------------------------------------------------------------------------- */

#define SPN_STACK_MIN_SIZE (16 * 1024)

struct spn_stack;

/* size: the usable bytes (a multiple of the page size, at least SPN_STACK_MIN_SIZE). */
SPN_EXPORT int spn_stack_alloc(size_t size, struct spn_stack **out);
SPN_EXPORT void spn_stack_free(struct spn_stack *stack);
/* The first address above the usable stack: the initial stack pointer, 64-byte aligned. */
SPN_EXPORT void *spn_stack_top(const struct spn_stack *stack);
SPN_EXPORT size_t spn_stack_size(const struct spn_stack *stack);
/* The guard page's address, for tests that want to prove it is there. */
SPN_EXPORT void *spn_stack_guard(const struct spn_stack *stack);

/* Mappings this library currently holds (stacks and cached ones), for leak checks. */
SPN_EXPORT int64_t spn_stacks_live(void);

/* ---------------------------------------------------------------------------------------
 * Raw threads: clone with CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|
 * CHILD_CLEARTID, a glibc TCB, a guarded stack, and a join on the tid word.
 * ------------------------------------------------------------------------------------- */

struct spn_thread;

/* Starts fn(arg) on a new raw thread. The tid is valid when this returns. use_cache: take
 * the stack and TCB from (and later return them to) this library's caches. */
SPN_EXPORT int spn_thread_start(spn_fn fn, void *arg, size_t stack_size, int use_cache,
                                struct spn_thread **out);
/* The tid clone returned (the kernel had already stored it for CLONE_PARENT_SETTID). */
SPN_EXPORT int32_t spn_thread_tid(const struct spn_thread *thread);
/* Waits until the thread has exited. timeout_ns < 0 waits forever. Any number of callers
 * may wait at once; all return. 0 when exited, ETIMEDOUT otherwise. */
SPN_EXPORT int spn_thread_join(struct spn_thread *thread, int64_t timeout_ns);
/* True once the thread has exited (its tid word is 0): a load, no syscall. */
SPN_EXPORT int spn_thread_exited(const struct spn_thread *thread);
/* fn's return value; valid after a join returned 0. */
SPN_EXPORT intptr_t spn_thread_result(const struct spn_thread *thread);
/* Returns the stack and TCB to the caches (or frees them). Only after a join returned 0
 * and no other caller is still inside spn_thread_join on this thread. */
SPN_EXPORT void spn_thread_release(struct spn_thread *thread);

/* Cache statistics and control (tests, benchmarks). */
SPN_EXPORT int64_t spn_tcb_live(void);
/* Offsets in struct pthread, found at start-up: the thread's stack (stackblock,
 * stackblock_size, guardsize, reported_guardsize: four words), where pthread_exit unwinds
 * to (cleanup_jmp_buf), its value (result) and the exiting mark (cancelhandling). The
 * scheduler writes a green thread's stack and exit buffer there while it runs. 0, or the
 * error that keeps the runtime from starting. */
enum { SPN_TCB_STACK, SPN_TCB_EXIT_BUF, SPN_TCB_RESULT, SPN_TCB_CANCELHANDLING, SPN_TCB_LAYOUT_WORDS };
SPN_EXPORT int spn_tcb_layout(int64_t *out);
SPN_EXPORT void spn_caches_trim(void);

/* ---------------------------------------------------------------------------------------
 * Raw child processes: clone without CLONE_THREAD, for the namespace flags.
 * ------------------------------------------------------------------------------------- */

/* Starts fn(arg) in a child made with clone(flags | exit_signal). The caller validated the
 * flags. With CLONE_VM the child gets a TCB of its own (CLONE_SETTLS) so its libc calls do
 * not write the caller's thread-locals. stack is the caller's; it must outlive the child.
 * *pid_out is the child's pid in the caller's pid namespace. */
SPN_EXPORT int spn_process_start(spn_fn fn, void *arg, uint64_t flags, int exit_signal,
                                 struct spn_stack *stack, void **tcb_out, pid_t *pid_out);
/* Waits for the child; timeout_ns < 0 waits forever. 0 and the raw wait status in
 * *status_out, or ETIMEDOUT, or another errno. Reaps the child. */
SPN_EXPORT int spn_process_wait(pid_t pid, int64_t timeout_ns, int *status_out);
/* Releases the TCB spn_process_start gave a CLONE_VM child, after the child was reaped. */
SPN_EXPORT void spn_process_release_tcb(void *tcb);

/* ---------------------------------------------------------------------------------------
 * Small helpers the Java side uses so it never needs a libc binding of its own.
 * ------------------------------------------------------------------------------------- */
SPN_EXPORT pid_t spn_gettid(void);
SPN_EXPORT const char *spn_strerror(int err);

/* ---------------------------------------------------------------------------------------
 * Internal to the runtime library (not exported).
 * ------------------------------------------------------------------------------------- */
/* A TCB whose thread-locals are at their initial values (tls.c says how), or NULL. */
void *spn_tcb_acquire(int use_cache);
void spn_tcb_release(void *tcb, int use_cache);
void spn_tcb_cache_trim(void);
/* Creator side: fills the TCB header as glibc's pthread_create would. */
void spn_tcb_prepare(void *tcb);
void spn_tcb_set_stack(void *tcb, void *block, size_t size, size_t guard);
/* pthread_exit on a raw thread: its entry sets up a __pthread_unwind_buf_t with
 * __sigsetjmp and names it here; pthread_exit unwinds to it, and the entry then takes the
 * value (and clears the exiting mark). */
void spn_tcb_set_exit_buf(void *tcb, void *buf);
/* On the thread, after its function (or pthread_exit): its thread_local and pthread key
 * destructors, and what libc would otherwise carry to the next thread on this TCB. */
void spn_tcb_thread_ending(void);
intptr_t spn_tcb_take_exit_value(void *tcb);
/* New thread side, first thing it does: rseq, locale and ctype tables, resolver, robust
 * list, tid fix-up, errno and h_errno 0. */
void spn_tcb_adopt(void *tcb);
int32_t *spn_tcb_tid_word(void *tcb);
/* Blocks every asynchronous signal, glibc's internal 32 and 33 included (raw rt_sigprocmask);
 * leaves the synchronous fault signals deliverable. old_sigset: a sigset_t (the kernel uses
 * its first 8 bytes). */
void spn_block_async_signals(void *old_sigset);
void spn_restore_signals(const void *old_sigset);

#endif /* SPINDLE_RUNTIME_H */
