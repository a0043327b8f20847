package io.spindle.scheduler;

import io.spindle.runtime.internal.NativeLoader;
import io.spindle.scheduler.TaskCrashedException.Crash;
import io.spindle.scheduler.internal.SchedNative;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The child process of an isolated pool and its supervisor (isolated.c does the native
 * part): starts the child, waits for it to end, and when it ends while the pool still runs,
 * ends every task it had taken as crashed, records why, and starts another (within the
 * restart budget). A task overrunning the deadline gets the child killed. The supervisor is
 * the only thread that waits for the child, always with a bound, so close() and the JVM's
 * exit are never held up by it for longer than they choose to wait.
 */
final class IsolatedChild {
    private static final int ETIMEDOUT = 110;
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long YOUNG_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final Spindle pool;
    private final Isolation isolation;
    private final long region;
    private final long sched;
    private final int fd;
    private final Path host;
    private final String library;
    private final List<Crash> crashes = new CopyOnWriteArrayList<>();
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile int pid;
    private volatile int pidfd;
    private volatile int restarts;
    private volatile String killedFor;
    private long startedAt;

    IsolatedChild(Spindle pool, Isolation isolation, long region, long sched, int fd) {
        this.pool = pool;
        this.isolation = isolation;
        this.region = region;
        this.sched = sched;
        this.fd = fd;
        this.host = NativeLoader.program("spindle-host", SchedNative.class);
        this.library = SchedNative.LIBRARY.getFile().getAbsolutePath();
        // The child has the scheduler library (spindle-host loads it) and what the task
        // libraries need (libc, libm...): functions of any of those are translated.
        for (Path l : isolation.libraries) addLibrary(l.toString());
        SchedNative.spn_isolated_allow_calls(region, isolation.allowedSystemCalls, isolation.allowedSystemCalls.length);
    }

    private void addLibrary(String path) {
        if (SchedNative.spn_isolated_add_library(region, path) != 0) {
            throw new IllegalArgumentException("an isolated pool takes at most 32 task libraries of paths under 512 bytes: " + path);
        }
    }

    /** The first child; throws if it cannot start. Then the supervisor watches it. */
    void start(String name) {
        startChild();
        Thread.ofPlatform().daemon().name(name + "-supervisor").start(this::supervise);
    }

    private void startChild() {
        int[] out = new int[2];
        byte[] message = new byte[512];
        int err = SchedNative.spn_isolated_start(region, fd, host.toString(), library, isolation.startTimeout.toNanos(),
                out, message, message.length);
        if (err != 0) {
            String text = new String(message, 0, length(message), StandardCharsets.UTF_8);
            throw new IllegalStateException("the isolated pool's child could not start (errno " + err + "): " + text);
        }
        pid = out[0];
        pidfd = out[1];
        startedAt = System.nanoTime();
    }

    private static int length(byte[] text) {
        int n = 0;
        while (n < text.length && text[n] != 0) n++;
        return n;
    }

    /** The code at {@code jvmAddress} in the JVM's copy of a library, at the child's address; 0 if none. */
    long childAddress(long jvmAddress) {
        return SchedNative.spn_isolated_child_address(region, jvmAddress);
    }

    /**
     * The ids, in this JVM's PID namespace, of the child's threads whose ids in the child's own
     * namespace are {@code inside} (0 where none matches). NSpid in /proc lists both.
     */
    int[] tidsOutside(int[] inside) {
        int[] outside = new int[inside.length];
        Path tasks = Path.of("/proc/" + pid + "/task");
        try (var threads = Files.list(tasks)) {
            for (Path thread : (Iterable<Path>) threads::iterator) {
                for (String line : Files.readAllLines(thread.resolve("status"))) {
                    if (!line.startsWith("NSpid:")) continue;
                    String[] ids = line.substring(6).trim().split("\\s+");
                    int own = Integer.parseInt(ids[ids.length - 1]);
                    for (int i = 0; i < inside.length; i++) {
                        if (inside[i] != 0 && inside[i] == own) outside[i] = Integer.parseInt(ids[0]);
                    }
                }
            }
        } catch (IOException | UncheckedIOException gone) {
            // the child died meanwhile: what was found stands, the rest is 0
        }
        return outside;
    }

    Crash crash(long number) {
        return number >= 1 && number <= crashes.size() ? crashes.get((int) number - 1)
                : new Crash((int) number, 0, -1, false, 0, 0, "", "an earlier child died", 0);
    }

    int restarts() {
        return restarts;
    }

    /** The child's pid in the JVM's PID namespace (tests). */
    int pid() {
        return pid;
    }

    int crashCount() {
        return crashes.size();
    }

    /** Waits up to nanos for the supervisor to be done (the child ended while the pool closes). */
    boolean awaitEnd(long nanos) throws InterruptedException {
        return ended.await(nanos, TimeUnit.NANOSECONDS);
    }

    /** Kills the child (close() ran out of time): what it runs fails, the supervisor ends. */
    void kill() {
        killedFor = "killed by close(): tasks still ran at the end of its wait";
        SchedNative.spn_isolated_kill(pidfd);
    }

    private void supervise() {
        long backoff = isolation.restartBackoff.toNanos();
        try {
            for (;;) {
                int status = waitForExit();
                boolean closing = pool.isShuttingDown();
                boolean cleanExit = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0;
                if (closing && cleanExit && killedFor == null) return; // the workers drained and left
                long lived = System.nanoTime() - startedAt;
                Crash crash = record(status, closing);
                SchedNative.spn_isolated_recover_tasks(sched, crash.number());
                // Closing or out of restarts, no child will run what is queued: refuse new tasks
                // first, so that none is queued after the queue was emptied.
                boolean last = closing || crash.restartsLeft() == 0;
                if (last && !closing) pool.refuseTasks(crash);
                if (last || !isolation.retryQueued) SchedNative.spn_isolated_fail_queued_tasks(sched, crash.number());
                if (last) {
                    if (!closing) pool.brokenBy(crash);
                    return;
                }
                backoff = lived >= YOUNG_NANOS ? isolation.restartBackoff.toNanos()
                        : Math.min(isolation.maxRestartBackoff.toNanos(), Math.max(backoff * 2, 1));
                if (lived < YOUNG_NANOS && backoff > 0) TimeUnit.NANOSECONDS.sleep(backoff);
                killedFor = null;
                restarts++;
                try {
                    startChild();
                } catch (RuntimeException cannotStart) {
                    Crash noChild = new Crash(crashes.size() + 1, 0, -1, false, 0, 0, "",
                            "no new child could start: " + cannotStart.getMessage(), 0);
                    crashes.add(noChild);
                    pool.refuseTasks(noChild);
                    SchedNative.spn_isolated_fail_queued_tasks(sched, noChild.number());
                    pool.brokenBy(noChild);
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            // Nothing may be left waiting for a child no one watches: fail it all, say why.
            System.err.println("[spindle] the isolated pool's supervisor failed: " + e);
            e.printStackTrace();
            Crash broken = new Crash(crashes.size() + 1, 0, -1, false, 0, 0, "", "the pool's supervisor failed: " + e, 0);
            crashes.add(broken);
            SchedNative.spn_isolated_kill(pidfd);
            pool.refuseTasks(broken);
            SchedNative.spn_isolated_recover_tasks(sched, broken.number());
            SchedNative.spn_isolated_fail_queued_tasks(sched, broken.number());
            pool.brokenBy(broken);
        } finally {
            ended.countDown();
        }
    }

    /** The child's wait status, once it has ended; kills it when a task overruns the deadline. */
    private int waitForExit() {
        Duration deadline = isolation.taskDeadline;
        long poll = deadline == null ? POLL_NANOS : Math.max(TimeUnit.MILLISECONDS.toNanos(1), Math.min(POLL_NANOS, deadline.toNanos() / 4));
        int[] status = new int[1];
        for (;;) {
            int rc = SchedNative.spn_isolated_wait(pid, pidfd, poll, status);
            if (rc == 0) return status[0];
            if (rc != ETIMEDOUT) throw new IllegalStateException("waiting for the isolated child failed: errno " + rc);
            if (deadline != null && killedFor == null) {
                int worker = SchedNative.spn_isolated_overdue_worker(sched, deadline.toNanos());
                if (worker >= 0) {
                    killedFor = "deadline: a task on worker " + worker + " ran longer than " + deadline;
                    SchedNative.spn_isolated_kill(pidfd);
                }
            }
        }
    }

    private Crash record(int status, boolean closing) {
        int signal = status & 0x7f;
        int exit = signal == 0 ? (status >> 8) & 0xff : -1;
        int[] fields = new int[4];
        long[] addresses = new long[2];
        byte[] symbol = new byte[160];
        boolean recorded = SchedNative.spn_isolated_crash(region, fields, addresses, symbol, symbol.length) != 0;
        if (recorded && fields[3] == 1 && exit == 128 + fields[0]) {
            // The child's handler recorded the signal and ended with 128 + it (isolated.c: the
            // child is pid 1 of its namespace, which cannot end itself by a signal).
            signal = fields[0];
            exit = -1;
        }
        String function = recorded ? new String(symbol, 0, length(symbol), StandardCharsets.UTF_8) : "";
        int left = closing ? 0 : Math.max(0, isolation.maxRestarts - restarts);
        Crash crash = new Crash(crashes.size() + 1, signal, exit, recorded && fields[0] == signal, fields[1], addresses[0],
                function, killedFor, left);
        crashes.add(crash);
        return crash;
    }
}
