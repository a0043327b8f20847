/*
 * walkthroughs.c: the native half of the clone(2) walkthroughs (io.spindle.samples.walkthroughs).
 *
 * Two kinds of function live here:
 *
 *  - child functions, intptr_t sample_x(void *arg), that Spindle's runtime runs in a raw clone
 *    child (CloneProcess) or on a raw thread (NativeThread). A child made without CLONE_VM
 *    runs in a one-thread copy of the JVM's memory, like a fork() child of a multi-threaded
 *    program, so those functions keep to async-signal-safe work: system calls and plain
 *    memory, no malloc, no stdio, no snprintf. They report what they saw through a block the
 *    Java side mapped MAP_SHARED|MAP_ANONYMOUS (sample_map_shared): such a mapping is the
 *    same physical memory in the parent and in every child forked from it, with or without
 *    CLONE_VM, which is exactly what a private (copy-on-write) page is not.
 *
 *  - helpers Java calls directly (sample_map_shared, sample_settid_race).
 *
 * Every report block's layout is drawn once above its struct; the Java mirror reads the same
 * offsets (see the walkthrough classes' *_OFFSET constants) and checks the size at load.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "flag_report.h"

#define SAMPLE_EXPORT __attribute__((visibility("default")))

/* Access discipline, as in the rest of Spindle: lv_ = acquire ("volatile") load. */
static inline int32_t lv_word(const int32_t *word)
{
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

/* ---- the shared report block ------------------------------------------------------------ */

/* A zeroed MAP_SHARED|MAP_ANONYMOUS block of `size` bytes, or NULL (errno says why). It stays
 * shared across clone without CLONE_VM: the child's writes are the parent's reads. */
SAMPLE_EXPORT void *sample_map_shared(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

SAMPLE_EXPORT int sample_unmap_shared(void *block, size_t size)
{
    return munmap(block, size) == 0 ? 0 : errno;
}

SAMPLE_EXPORT int32_t sample_gettid(void)
{
    return (int32_t) syscall(SYS_gettid);
}

/* Async-signal-safe string helpers (the str* functions are not on the POSIX list, and a
 * vectorised strlen is no reason to doubt it, but these are small and obviously safe). */
static size_t safe_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

static void safe_copy(char *to, size_t to_size, const char *from)
{
    size_t n = safe_len(from, to_size - 1);
    for (size_t i = 0; i < n; i++)
        to[i] = from[i];
    to[n] = 0;
}

/* ---- thread-like: CLONE_VM decides whose counter the child changes ---------------------- */

/*
 * struct counter_report (in the shared block):
 *   counter(8b: address of an int32 in the parent's ordinary, private memory) |
 *   child_before(4b) | child_after(4b)
 */
struct counter_report {
    int32_t *counter;
    int32_t child_before;
    int32_t child_after;
};
_Static_assert(sizeof(struct counter_report) == 16, "the Java mirror reads 16 bytes");

/* Adds 100 to *counter. With CLONE_VM that is the parent's int; without, the same address
 * names the child's copy-on-write copy of it, and the parent never sees the write. */
SAMPLE_EXPORT intptr_t sample_add_hundred(void *arg)
{
    struct counter_report *r = arg;
    volatile int32_t *counter = r->counter; /* volatile: the write must really happen */
    r->child_before = *counter;
    *counter += 100;
    r->child_after = *counter;
    return 0;
}

/* ---- thread-group: ids seen from four CLONE_THREAD threads alive at once --------------- */

/*
 * struct ids_report (one per thread, in the caller's memory: these are CLONE_VM threads):
 *   arrived(4b: shared by all, a barrier counter) | parties(4b) | pid(4b) | tid(4b) | ppid(4b)
 * `arrived` and `parties` are only read from the first report (the barrier's home).
 */
struct ids_report {
    int32_t *arrived;
    int32_t parties;
    int32_t pid;
    int32_t tid;
    int32_t ppid;
};
_Static_assert(sizeof(struct ids_report) == 24, "the Java mirror reads 24 bytes");

SAMPLE_EXPORT intptr_t sample_ids(void *arg)
{
    struct ids_report *r = arg;
    r->pid = getpid();
    r->tid = (int32_t) syscall(SYS_gettid);
    r->ppid = getppid();
    /* Wait until every thread has its ids: all of them alive at once, so distinct tids are
     * distinct threads, not one tid reused after an exit. The last to arrive wakes the rest;
     * the others loop, since a futex wait may return spuriously. */
    int32_t now = __atomic_add_fetch(r->arrived, 1, __ATOMIC_ACQ_REL);
    if (now == r->parties) {
        syscall(SYS_futex, r->arrived, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
    } else {
        while ((now = lv_word(r->arrived)) < r->parties)
            syscall(SYS_futex, r->arrived, FUTEX_WAIT_PRIVATE, now, NULL, NULL, 0);
    }
    return 0;
}

/* ---- new-uts: a hostname of the child's own -------------------------------------------- */

#define SAMPLE_HOST_MAX 65 /* __NEW_UTS_LEN + 1 */

/*
 * struct uts_report (in the shared block):
 *   wanted(65b) | seen_before(65b) | seen_after(65b) | pad(1b) | error(4b)
 */
struct uts_report {
    char wanted[SAMPLE_HOST_MAX];
    char seen_before[SAMPLE_HOST_MAX];
    char seen_after[SAMPLE_HOST_MAX];
    int32_t error; /* errno of sethostname, or 0 */
};
_Static_assert(offsetof(struct uts_report, seen_after) == 130, "Java mirror offset");
_Static_assert(offsetof(struct uts_report, error) == 196, "Java mirror offset");

SAMPLE_EXPORT intptr_t sample_set_hostname(void *arg)
{
    struct uts_report *r = arg;
    struct utsname u;
    if (uname(&u) == 0)
        safe_copy(r->seen_before, sizeof r->seen_before, u.nodename);
    if (sethostname(r->wanted, safe_len(r->wanted, SAMPLE_HOST_MAX - 1)) != 0) {
        r->error = errno;
        return 1;
    }
    if (uname(&u) == 0)
        safe_copy(r->seen_after, sizeof r->seen_after, u.nodename);
    return 0;
}

/* ---- new-ns: a mount only the child can see --------------------------------------------- */

#define SAMPLE_PATH_MAX 1024

/*
 * struct mount_report (in the shared block):
 *   dir(1024b) | file(1024b) | step(4b) | error(4b) | dev_before(8b) | dev_after(8b) |
 *   file_seen(4b) | pad(4b)
 */
struct mount_report {
    char dir[SAMPLE_PATH_MAX];  /* in: an empty directory */
    char file[SAMPLE_PATH_MAX]; /* in: a path inside dir that the child creates */
    int32_t step;               /* out: 0 done, else the step that failed (enum below) */
    int32_t error;              /* out: its errno */
    uint64_t dev_before;        /* out: st_dev of dir before the mount... */
    uint64_t dev_after;         /* ...and after it: a new filesystem answers there */
    int32_t file_seen;          /* out: the child could stat its file */
};
_Static_assert(offsetof(struct mount_report, dev_before) == 2056, "Java mirror offset");
_Static_assert(offsetof(struct mount_report, file_seen) == 2072, "Java mirror offset");

enum { STEP_PRIVATE = 1, STEP_STAT, STEP_MOUNT, STEP_CREATE, STEP_PROC, STEP_SOCKET, STEP_HOSTNAME };

static int fail(int32_t *step_out, int32_t *error_out, int step)
{
    *error_out = errno;
    *step_out = step;
    return step;
}

SAMPLE_EXPORT intptr_t sample_mount_tmpfs(void *arg)
{
    struct mount_report *r = arg;
    /* First make every mount of our copy private: where / is a shared mount (systemd does
     * that), the copy made by CLONE_NEWNS is in the same peer group and a new mount would
     * propagate straight back into the parent's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return fail(&r->step, &r->error, STEP_PRIVATE);
    struct stat st;
    if (stat(r->dir, &st) != 0)
        return fail(&r->step, &r->error, STEP_STAT);
    r->dev_before = st.st_dev;
    if (mount("spindle-walkthrough", r->dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0700") != 0)
        return fail(&r->step, &r->error, STEP_MOUNT);
    if (stat(r->dir, &st) != 0)
        return fail(&r->step, &r->error, STEP_STAT);
    r->dev_after = st.st_dev;
    int fd = open(r->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(&r->step, &r->error, STEP_CREATE);
    static const char text[] = "written inside the child's mount namespace\n";
    ssize_t written = write(fd, text, sizeof text - 1);
    (void) written;
    close(fd);
    r->file_seen = stat(r->file, &st) == 0;
    /* No unmount: the namespace, and the tmpfs with it, goes away when the child exits. */
    return 0;
}

/* ---- new-pid: pid 1 --------------------------------------------------------------------- */

/* struct pid_report: pid(4b) | ppid(4b) */
struct pid_report {
    int32_t pid;
    int32_t ppid;
};
_Static_assert(sizeof(struct pid_report) == 8, "Java mirror size");

SAMPLE_EXPORT intptr_t sample_pid_inside(void *arg)
{
    struct pid_report *r = arg;
    r->pid = getpid();
    r->ppid = getppid(); /* 0: the parent lives outside the new namespace */
    return r->pid == 1 ? 0 : 1;
}

/* ---- container: UTS + PID + mount + IPC + network namespaces at once -------------------- */

#define SAMPLE_MAX_IFS 16
#define SAMPLE_NS_KINDS 5

/*
 * struct container_report (in the shared block):
 *   hostname_wanted(65b) | hostname_seen(65b) | proc_self(16b) | pad(2b) |
 *   step(4b) | error(4b) | pid(4b) | proc_pids(4b) | first_proc_pid(4b) | if_count(4b) |
 *   if_names(16 x 16b) | if_up(16 x 4b) | ns_links(5 x 48b: uts, pid, mnt, ipc, net)
 */
struct container_report {
    char hostname_wanted[SAMPLE_HOST_MAX];
    char hostname_seen[SAMPLE_HOST_MAX];
    char proc_self[16];       /* readlink("/proc/self") in the child's own /proc */
    int32_t step;
    int32_t error;
    int32_t pid;              /* getpid() */
    int32_t proc_pids;        /* numeric entries in the child's /proc */
    int32_t first_proc_pid;   /* the first of them */
    int32_t if_count;         /* interfaces found by index (SIOCGIFNAME) */
    char if_names[SAMPLE_MAX_IFS][IFNAMSIZ];
    int32_t if_up[SAMPLE_MAX_IFS];
    char ns_links[SAMPLE_NS_KINDS][48]; /* readlink("/proc/self/ns/<kind>"), e.g. "uts:[4026532]" */
};
_Static_assert(offsetof(struct container_report, step) == 148, "Java mirror offset");
_Static_assert(offsetof(struct container_report, if_names) == 172, "Java mirror offset");
_Static_assert(offsetof(struct container_report, if_up) == 428, "Java mirror offset");
_Static_assert(offsetof(struct container_report, ns_links) == 492, "Java mirror offset");
_Static_assert(sizeof(struct container_report) == 732, "Java mirror size");

static const char *const ns_kinds[SAMPLE_NS_KINDS] = {"uts", "pid", "mnt", "ipc", "net"};

struct linux_dirent64_head {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int32_t parse_int(const char *s)
{
    int32_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0');
    return v;
}

/* Counts the pid directories of /proc with getdents64 (opendir would malloc). */
static int count_proc_pids(struct container_report *r)
{
    int fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char buf[4096] __attribute__((aligned(8)));
    long n;
    r->proc_pids = 0;
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64_head *d = (struct linux_dirent64_head *) (buf + off);
            if (all_digits(d->d_name)) {
                if (r->proc_pids++ == 0)
                    r->first_proc_pid = parse_int(d->d_name);
            }
            off += d->d_reclen;
        }
    }
    close(fd);
    return n < 0 ? -1 : 0;
}

/* Lists the network interfaces by index: SIOCGIFNAME turns an index into a name and fails
 * with ENODEV for an index no interface has. A socket is needed only as a handle for the
 * ioctl; nothing is sent. (/sys/class/net would show the namespace of whoever mounted /sys,
 * not ours, and if_nameindex() allocates.) */
static int list_interfaces(struct container_report *r)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    r->if_count = 0;
    /* A new namespace numbers its devices from 1; 256 is far past anything it starts with. */
    for (int index = 1; index <= 256 && r->if_count < SAMPLE_MAX_IFS; index++) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        ifr.ifr_ifindex = index;
        if (ioctl(fd, SIOCGIFNAME, &ifr) != 0)
            continue;
        int i = r->if_count++;
        safe_copy(r->if_names[i], IFNAMSIZ, ifr.ifr_name);
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
            r->if_up[i] = (ifr.ifr_flags & IFF_UP) != 0;
    }
    close(fd);
    return 0;
}

SAMPLE_EXPORT intptr_t sample_container(void *arg)
{
    struct container_report *r = arg;

    /* UTS: our own hostname. */
    if (sethostname(r->hostname_wanted, safe_len(r->hostname_wanted, SAMPLE_HOST_MAX - 1)) != 0)
        return fail(&r->step, &r->error, STEP_HOSTNAME);
    struct utsname u;
    if (uname(&u) == 0)
        safe_copy(r->hostname_seen, sizeof r->hostname_seen, u.nodename);

    /* PID: what we are called in our namespace. */
    r->pid = getpid();

    /* Mount: private first (see sample_mount_tmpfs), then a proc of our own pid namespace
     * over /proc. The old /proc belongs to the parent's pid namespace and would list every
     * process of the host; the new one lists only the processes of ours. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return fail(&r->step, &r->error, STEP_PRIVATE);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        return fail(&r->step, &r->error, STEP_PROC);
    ssize_t n = readlink("/proc/self", r->proc_self, sizeof r->proc_self - 1);
    if (n < 0)
        return fail(&r->step, &r->error, STEP_PROC);
    r->proc_self[n] = 0;
    if (count_proc_pids(r) != 0)
        return fail(&r->step, &r->error, STEP_PROC);
    for (int k = 0; k < SAMPLE_NS_KINDS; k++) {
        char path[32] = "/proc/self/ns/";
        safe_copy(path + 14, sizeof path - 14, ns_kinds[k]);
        n = readlink(path, r->ns_links[k], sizeof r->ns_links[k] - 1);
        if (n >= 0)
            r->ns_links[k][n] = 0;
    }

    /* Network: the devices of our new namespace. */
    if (list_interfaces(r) != 0)
        return fail(&r->step, &r->error, STEP_SOCKET);
    return 0;
}

/* ---- settid-race: who writes the tid word, and when ------------------------------------ */

static int exit_at_once(void *arg)
{
    return 0;
}

/*
 * struct settid_counts (the caller's memory):
 *   misses(8b) | unwritten(8b: the word still held -1) | cleared(8b: it already held 0)
 */
struct settid_counts {
    int64_t misses;
    int64_t unwritten;
    int64_t cleared;
};
_Static_assert(sizeof(struct settid_counts) == 24, "Java mirror size");

/*
 * Clones `rounds` threads (CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|CHILD_CLEARTID and one of
 * the two SETTID flags) whose function returns at once, and counts the rounds in which the
 * tid word did not hold the tid at the instant clone returned in the parent.
 *
 * parent_settid != 0: CLONE_PARENT_SETTID, the kernel stores the tid into our word inside
 *   clone, before the child exists for the scheduler; a separate word (starting at 1) is
 *   the CHILD_CLEARTID word that tells us when the thread is gone.
 * parent_settid == 0: CLONE_CHILD_SETTID, the kernel stores the tid on the child's way out of
 *   the kernel (schedule_tail), i.e. only when the child first runs: maybe before clone
 *   returns in the parent, usually after. Legacy clone passes one pointer for CHILD_SETTID
 *   and CHILD_CLEARTID, so the word goes -1 -> tid -> 0.
 *
 * The child never touches Java or libc state: it runs on our stack mapping with the caller's
 * TLS (no CLONE_SETTLS) and only returns, which glibc's clone wrapper turns into SYS_exit.
 * We wait for the CHILD_CLEARTID store (done after the child left its stack for good) before
 * reusing the stack. Returns 0, or the errno of the mmap or of a clone.
 */
SAMPLE_EXPORT int sample_settid_race(int parent_settid, int rounds, struct settid_counts *out)
{
    const size_t guard = (size_t) sysconf(_SC_PAGESIZE);
    const size_t stack_size = 64 * 1024;
    char *map = mmap(NULL, guard + stack_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (map == MAP_FAILED)
        return errno;
    /* The lowest page is a guard: an overflow faults instead of writing someone's memory. */
    mprotect(map, guard, PROT_NONE);
    char *stack_top = map + guard + stack_size;

    /* Block every asynchronous signal around clone: the thread inherits the mask, so no
     * signal meant for the JVM can be delivered on a thread HotSpot does not know. The fault
     * signals stay deliverable, so a crash still gets HotSpot's report. */
    sigset_t async, old;
    sigfillset(&async);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++)
        sigdelset(&async, faults[i]);
    pthread_sigmask(SIG_BLOCK, &async, &old);

    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM
                | CLONE_CHILD_CLEARTID | (parent_settid ? CLONE_PARENT_SETTID : CLONE_CHILD_SETTID);
    struct settid_counts counts = {0, 0, 0};
    int err = 0;
    for (int i = 0; i < rounds; i++) {
        int32_t tid_word = -1;  /* -1: nobody has written a tid yet */
        int32_t gone_word = 1;  /* the CLEARTID word in PARENT_SETTID mode */
        int32_t *ptid = parent_settid ? &tid_word : NULL;
        int32_t *ctid = parent_settid ? &gone_word : &tid_word;
        int tid = clone(exit_at_once, stack_top, flags, NULL, ptid, NULL, ctid);
        if (tid == -1) {
            err = errno;
            break;
        }
        /* The instant clone returned: is the tid in the word? (Acquire: pairs with the
         * kernel's store, made on another CPU in CHILD_SETTID mode.) */
        int32_t seen = lv_word(&tid_word);
        if (seen != tid) {
            counts.misses++;
            if (seen == -1)
                counts.unwritten++;
            else if (seen == 0)
                counts.cleared++;
        }
        /* Wait for the exit. The kernel's wake is a shared FUTEX_WAKE, so wait with the
         * shared FUTEX_WAIT (a _PRIVATE waiter would never be woken), and loop: a wake
         * may be spurious, and the word may change between the load and the wait. */
        int32_t v;
        while ((v = lv_word(ctid)) != 0)
            syscall(SYS_futex, ctid, FUTEX_WAIT, v, NULL, NULL, 0);
    }

    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(map, guard + stack_size);
    *out = counts;
    return err;
}

/* ---- the Java mirrors' load-time check -------------------------------------------------- */

/* sizeof each report block, by the index the Java side uses (SamplesNative.Report). The
 * offsets inside are pinned by the _Static_asserts above; a size that moved means a Java
 * mirror is out of step, and the walkthrough refuses to run. -1 for an unknown index. */
SAMPLE_EXPORT int64_t sample_report_size(int kind)
{
    switch (kind) {
    case 0: return sizeof(struct counter_report);
    case 1: return sizeof(struct ids_report);
    case 2: return sizeof(struct uts_report);
    case 3: return sizeof(struct mount_report);
    case 4: return sizeof(struct pid_report);
    case 5: return sizeof(struct container_report);
    case 6: return sizeof(struct settid_counts);
    case 7: return sizeof(struct flag_report);
    default: return -1;
    }
}

/* ---- isolated-decoder: a decoder with a bug, fed good and corrupt inputs ----------------- */

/* A record: a 4-byte little-endian offset, then a 4-byte length, then bytes. The decoder
 * sums `length` bytes from `offset` past the header and trusts both fields: the bug. A good
 * record keeps them inside itself; a corrupt one sends the read far outside (SIGSEGV). The
 * argument points at {record address, record size} in memory the task may read. */
intptr_t sample_decode(void *arg)
{
    const int64_t *input = arg;
    const unsigned char *record = (const unsigned char *) (uintptr_t) input[0];
    uint32_t offset = (uint32_t) record[0] | (uint32_t) record[1] << 8 | (uint32_t) record[2] << 16 | (uint32_t) record[3] << 24;
    uint32_t length = (uint32_t) record[4] | (uint32_t) record[5] << 8 | (uint32_t) record[6] << 16 | (uint32_t) record[7] << 24;
    const volatile unsigned char *body = record + 8 + (uint64_t) offset * 4096; /* no bounds check: the bug */
    intptr_t sum = 0;
    for (uint32_t i = 0; i < length; i++)
        sum += body[i];
    return sum;
}
