package io.spindle.scheduler;

import com.sun.jna.Pointer;
import io.spindle.runtime.GuardedStack;
import io.spindle.runtime.NativeFunction;
import io.spindle.runtime.NativeThread;
import io.spindle.runtime.internal.RuntimeNative;
import io.spindle.scheduler.internal.CompletionPoller;
import io.spindle.scheduler.internal.DescriptorPool;
import io.spindle.scheduler.internal.Layout;
import io.spindle.scheduler.internal.Memory;
import io.spindle.scheduler.internal.OffHeapRing;
import io.spindle.scheduler.internal.SchedNative;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntConsumer;

import static io.spindle.scheduler.internal.Layout.*;
import static io.spindle.scheduler.internal.Memory.INTS;
import static io.spindle.scheduler.internal.Memory.LONGS;

/**
 * A pool of raw-clone worker threads that run native tasks ({@code intptr_t fn(void *arg)})
 * submitted from Java.
 *
 * <pre>{@code
 * try (Spindle spindle = Spindle.builder().workers(2).build()) {
 *     Task t = spindle.spawn(NativeFunction.of(myLibrary, "checksum"), argPointer);
 *     long r = t.join();
 * }
 * }</pre>
 *
 * <p>A spawn writes a recycled off-heap task descriptor and offers its address to an
 * off-heap MPMC ring (JCTools' MpmcArrayQueue algorithm) that the workers poll: no JNA call,
 * no system call and no native allocation per task. Only when every worker sleeps and none
 * is looking for work does a spawn pay for one {@code FUTEX_WAKE} (Go's wakep rule; the
 * argument is written at the top of {@code sched.c}).
 *
 * <p>Every {@link Task} handle must be joined (or checked {@link Task#isDone()} until done):
 * that is when its descriptor returns to the pool. Use {@link #execute} for tasks whose
 * result nobody wants, and {@link #spawnAll} for batches (one handle, one allocation).
 *
 * <p>Thread-safe. {@link #close()} stops accepting work, runs everything accepted, joins the
 * workers and frees the native memory; {@link #shutdownNow()} cancels what has not started.
 */
public final class Spindle implements AutoCloseable {
    public static final int DEFAULT_RING_CAPACITY = 16_384;
    /**
     * The most submission-ring slots: 2^26, a 1 GiB ring. A slot is 16 bytes and Java reaches
     * the ring through one direct-buffer view, which cannot exceed 2 GiB ({@code int}
     * offsets), so 2^27 slots would not fit a view.
     */
    public static final int MAX_RING_CAPACITY = 1 << 26;
    public static final int MAX_WORKERS = 1024;
    public static final Duration DEFAULT_SPIN = Duration.ofNanos(50_000);
    public static final long DEFAULT_GREEN_STACK_SIZE = 64 * 1024;
    /** The most tasks one {@link #spawnAll} takes: their results fit one direct buffer. */
    public static final int MAX_BATCH = (Integer.MAX_VALUE - GROUP_RESULTS) / 8;
    static final int BATCH_CHUNK_MAX = 64;
    static final int BATCH_CHUNKS_PER_WORKER = 16;

    private static final AtomicInteger INSTANCES = new AtomicInteger();
    /**
     * How long a joiner on a platform thread polls the state before it sleeps in the kernel:
     * long enough to catch a short task on another CPU without a futex round trip, short
     * enough not to starve a worker that shares this CPU.
     */
    static final long JOIN_SPIN_NANOS = 5_000;
    // The gate's high bit: closing. The rest counts callers inside (they may touch native memory).
    private static final long CLOSING = 1L << 62;

    static {
        RuntimeNative.ensureLoaded();
        Layout.verify();
    }

    private final String name;
    private final int workerCount;
    private final int ringCapacity;
    private final Duration spin;
    private final long greenStackSize;

    final long sched;
    final ByteBuffer control;
    final OffHeapRing submissions;
    final DescriptorPool pool;
    final CompletionPoller poller;
    private final NativeThread[] workers;
    private final Thread shutdownHook;

    private final AtomicLong gate = new AtomicLong();
    // The ring counts a chunk of a batch once: the tasks it held beyond that, for stats().
    private final LongAdder batchTasksBeyondChunks = new LongAdder();
    private final Object closeLock = new Object();
    private volatile Tombstones tombstones; // set once close() has freed the native memory
    final Set<TaskGroup> liveGroups = ConcurrentHashMap.newKeySet();

    private Spindle(Builder b) {
        this.name = b.name != null ? b.name : "spindle-" + INSTANCES.incrementAndGet();
        this.workerCount = b.workers;
        this.ringCapacity = b.ringCapacity;
        this.spin = b.spin;
        this.greenStackSize = b.greenStackSize;
        long[] out = new long[1];
        int err = SchedNative.spn_sched_create(workerCount, ringCapacity, spin.toNanos(), b.greenStackSize, out);
        if (err != 0) {
            throw new IllegalStateException("could not create the scheduler for " + workerCount + " workers and a ring of "
                    + ringCapacity + " slots: " + RuntimeNative.spn_strerror(err) + " (errno " + err + ")");
        }
        this.sched = out[0];
        this.workers = new NativeThread[workerCount];
        // From here on every step can fail (no memory, no thread): what was made so far is
        // undone, so a failed build leaves no native memory, mapping or thread behind.
        CompletionPoller startedPoller = null;
        try {
            this.control = Memory.map(sched, SCHED_HEADER_SIZE + (long) workerCount * STATS_SIZE);
            this.submissions = new OffHeapRing((long) LONGS.get(control, SCHED_SUBMIT));
            this.pool = new DescriptorPool(sched, control);
            this.poller = new CompletionPoller(sched, name + "-completions");
            this.poller.start();
            startedPoller = poller;
            NativeThread.Builder threads = NativeThread.builder().stackSize(b.workerStackSize);
            NativeFunction workerMain = NativeFunction.of(SchedNative.LIBRARY, "spn_worker_main");
            for (int i = 0; i < workerCount; i++) {
                workers[i] = threads.start(workerMain, SchedNative.spn_sched_worker(sched, i));
                b.afterWorkerStarted.accept(i);
            }
            // Raw threads must not be running native code while the JVM tears itself down.
            this.shutdownHook = new Thread(this::shutdownNow, name + "-shutdown");
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        } catch (RuntimeException | Error e) {
            undoPartialConstruction(startedPoller);
            throw e;
        }
    }

    /**
     * A constructor that failed after spn_sched_create: stops the workers it started (nothing
     * was accepted, so cancelling loses no task), then the poller, then frees the scheduler.
     * The shutdown hook is the last step, so it is never registered when this runs.
     */
    private void undoPartialConstruction(CompletionPoller startedPoller) {
        if (submissions != null) submissions.close();
        SchedNative.spn_sched_shutdown(sched, SHUTDOWN_CANCEL);
        for (NativeThread w : workers) if (w != null) w.join();
        if (startedPoller != null) startedPoller.stopAndJoin();
        SchedNative.spn_sched_destroy(sched);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Loads the scheduler's native library (RTLD_GLOBAL) and checks its layout, if that has not
     * happened yet. Task libraries that call spindle.h resolve spn_* against it, so load it
     * first when a task library binds its symbols at load time (linked with -z now).
     */
    public static void loadNativeLibrary() {
        // The static initialiser does the work.
    }

    /** A runtime with the defaults: a worker per available processor. */
    public static Spindle open() {
        return builder().build();
    }

    public String name() {
        return name;
    }

    public int workers() {
        return workerCount;
    }

    public int ringCapacity() {
        return ringCapacity;
    }

    public Duration spinTime() {
        return spin;
    }

    public long greenStackSize() {
        return greenStackSize;
    }

    // ---- submission ---------------------------------------------------------------------------

    /** Runs {@code fn(arg)} on a worker; waits while the ring is full. */
    public Task spawn(NativeFunction fn, long arg) {
        return spawn(fn, arg, true);
    }

    public Task spawn(NativeFunction fn, Pointer arg) {
        return spawn(fn, Pointer.nativeValue(arg), true);
    }

    /** Like {@link #spawn(NativeFunction, long)}, but empty instead of waiting when the ring is full. */
    public Optional<Task> trySpawn(NativeFunction fn, long arg) {
        return Optional.ofNullable(spawn(fn, arg, false));
    }

    /** Runs {@code fn(arg)} with no handle: the worker recycles the descriptor when it ends. */
    public void execute(NativeFunction fn, long arg) {
        long address = requireFunction(fn);
        enterOrReject();
        try {
            int index = pool.acquire();
            prepare(index, address, arg, 0, 0, 1);
            submit(index, true);
        } finally {
            exit();
        }
    }

    private Task spawn(NativeFunction fn, long arg, boolean wait) {
        long address = requireFunction(fn);
        enterOrReject();
        try {
            int index = wait ? pool.acquire() : pool.tryAcquire();
            if (index < 0) return null;
            prepare(index, address, arg, 0, 0, 2); // owners: the run and the handle
            if (!submit(index, wait)) return null;
            return new Task(this, index);
        } finally {
            exit();
        }
    }

    /**
     * Runs {@code fn(args[i])} for every i as one batch with one handle. If the runtime closes
     * during the call, the tasks not yet accepted are reported as cancelled by the group.
     *
     * <p>The tasks are queued in chunks of up to 64, smaller towards the end of the batch so
     * that the workers finish together; a chunk runs its tasks one after another on one green
     * thread. A task that parks or yields hands the rest of its chunk on, so tasks of a batch
     * may wait for each other as freely as separately spawned ones.
     *
     * <p>No arguments give a group that is already done with no results, even after close:
     * nothing is queued, so there is nothing to refuse.
     */
    public TaskGroup spawnAll(NativeFunction fn, long[] args) {
        long address = requireFunction(fn);
        Objects.requireNonNull(args, "args");
        if (args.length == 0) return TaskGroup.empty(this); // like invokeAll of nothing
        if (args.length > MAX_BATCH) {
            throw new IllegalArgumentException("spawnAll takes at most " + MAX_BATCH + " tasks (one native block of results), got " + args.length);
        }
        enterOrReject();
        try {
            long group = SchedNative.spn_group_create(args.length);
            if (group == 0) throw new OutOfMemoryError("native memory for a group of " + args.length + " results");
            ByteBuffer groupBuffer = Memory.map(group, GROUP_RESULTS + 8L * args.length);
            // The arguments go where the results will be: each task replaces its own.
            groupBuffer.slice(GROUP_RESULTS, 8 * args.length).order(ByteOrder.nativeOrder()).asLongBuffer().put(args);
            int accepted = 0, chunks = 0;
            while (accepted < args.length) {
                // Sized by what is left: the last chunks are small, so the workers end together.
                int end = accepted + batchChunk(args.length - accepted);
                int index = pool.acquire();
                prepare(index, address, end, group, accepted, 1);
                if (offer(index, true) != OffHeapRing.OFFERED) {
                    pool.discard(index);
                    break; // closed meanwhile
                }
                accepted = end;
                chunks++;
                signalWork();
            }
            batchTasksBeyondChunks.add(accepted - chunks);
            int refused = args.length - accepted;
            if (refused > 0) {
                if (accepted == 0) {
                    SchedNative.spn_group_destroy(group);
                    throw new RejectedExecutionException(name + " is closed");
                }
                INTS.setVolatile(groupBuffer, GROUP_CANCELLED, 1);
                if ((long) LONGS.getAndAdd(groupBuffer, GROUP_REMAINING, (long) -refused) == refused) {
                    // Every accepted task already ended: nobody else will finish the group.
                    INTS.setVolatile(groupBuffer, GROUP_STATE, STATE_CANCELLED);
                }
            }
            TaskGroup handle = new TaskGroup(this, group, groupBuffer, args.length, refused);
            liveGroups.add(handle);
            return handle;
        } finally {
            exit();
        }
    }

    /**
     * Takes over a handle that native task code made with {@code spn_spawn} and handed to Java
     * (as its result, say): the returned Task owns it, and joining it gives the handle back.
     * The handle must not be joined or detached in C as well.
     */
    public Task adopt(long nativeHandle) {
        if (nativeHandle == 0) throw new IllegalArgumentException("null task handle");
        enterOrReject();
        try {
            int index = pool.indexOf(nativeHandle);
            if (index < 0) throw new IllegalArgumentException("0x" + Long.toHexString(nativeHandle) + " is not a task handle of " + name);
            return new Task(this, index);
        } finally {
            exit();
        }
    }

    /**
     * How many of the {@code remaining} tasks of a batch go in its next chunk: one descriptor,
     * one ring slot and one green-thread start for all of them, run one after another (a
     * member that parks or yields hands the rest on, see spindle_sched.h). At most
     * {@link #BATCH_CHUNK_MAX}, and small enough to leave every worker
     * {@link #BATCH_CHUNKS_PER_WORKER} chunks of what remains (guided self-scheduling), so
     * that the last chunks still spread over the workers when the tasks' lengths differ.
     */
    int batchChunk(int remaining) {
        long perWorkerShare = (long) remaining / ((long) workerCount * BATCH_CHUNKS_PER_WORKER);
        return (int) Math.max(1, Math.min(BATCH_CHUNK_MAX, perWorkerShare));
    }

    private static long requireFunction(NativeFunction fn) {
        if (fn == null) throw new NullPointerException("native function is null: a task needs code to run");
        return fn.address();
    }

    /** A single task (group 0), or a chunk of a batch: its slots {@code slot .. groupEnd-1}. */
    private void prepare(int index, long fn, long argOrGroupEnd, long group, int slot, int refs) {
        ByteBuffer chunk = pool.chunk(index);
        int offset = DescriptorPool.offset(index);
        LONGS.set(chunk, offset + TASK_FN, fn);
        LONGS.set(chunk, offset + (group == 0 ? TASK_ARG : TASK_GROUP_END), argOrGroupEnd);
        LONGS.set(chunk, offset + TASK_GROUP, group);
        INTS.set(chunk, offset + TASK_GROUP_SLOT, slot);
        LONGS.set(chunk, offset + TASK_WAITERS, 0L);
        LONGS.set(chunk, offset + TASK_FIBER, 0L);
        INTS.set(chunk, offset + TASK_REFS, refs);
        INTS.set(chunk, offset + TASK_STATE, STATE_QUEUED);
        // Plain writes: the ring's release store of the slot sequence publishes them.
    }

    /**
     * Offers and wakes a worker if needed. True once accepted; false if the ring is full and
     * the caller would not wait. A refused descriptor goes straight back to the pool: nothing
     * else ever saw it.
     */
    private boolean submit(int index, boolean wait) {
        int r = offer(index, wait);
        if (r != OffHeapRing.OFFERED) {
            pool.discard(index);
            if (r == OffHeapRing.CLOSED) throw new RejectedExecutionException(name + " is closed");
            return false;
        }
        signalWork();
        return true;
    }

    /** OFFERED, CLOSED, or FULL (only when !wait; otherwise waits with back-off). */
    private int offer(int index, boolean wait) {
        long address = pool.address(index);
        for (int attempt = 0; ; attempt++) {
            int r = submissions.offer(address);
            if (r != OffHeapRing.FULL || !wait) return r;
            if (attempt == 0) signalWork(); // make sure a worker drains what is there
            DescriptorPool.backOff(attempt);
        }
    }

    /**
     * Go's wakep from Java: after publishing, a full fence (StoreLoad), then wake one sleeping
     * worker only if nobody spins and no wake-up is under way. See sched.c for why no
     * wake-up is lost.
     */
    void signalWork() {
        java.lang.invoke.VarHandle.fullFence();
        if ((int) INTS.getVolatile(control, SCHED_NSPINNING) == 0
                && (int) INTS.getVolatile(control, SCHED_NPARKED) > 0
                && INTS.compareAndSet(control, SCHED_WAKING, 0, 1)) {
            SchedNative.spn_sched_wake_one(sched);
        }
    }

    /** Polls the state word at {@code offset} for up to {@link #JOIN_SPIN_NANOS}; true once it is final. */
    static boolean spinUntilFinal(ByteBuffer buffer, int offset) {
        long deadline = 0;
        for (int i = 0; ; i++) {
            if (Handle.isFinal((int) INTS.getAcquire(buffer, offset))) return true;
            if ((i & 31) == 31) { // the clock costs more than a poll: read it now and then
                long now = System.nanoTime();
                if (deadline == 0) deadline = now + JOIN_SPIN_NANOS;
                else if (now > deadline) return false;
            }
            Thread.onSpinWait();
        }
    }

    // ---- the gate: native memory is freed only when nobody is inside ---------------------------

    boolean enter() {
        if ((gate.getAndIncrement() & CLOSING) != 0) {
            gate.getAndDecrement();
            return false;
        }
        return true;
    }

    void exit() {
        gate.getAndDecrement();
    }

    private void enterOrReject() {
        if (!enter()) throw new RejectedExecutionException(name + " is closed");
    }

    /** After close: what handles that were never joined need. Waits while close is under way. */
    Tombstones tombstones() {
        Tombstones t;
        for (int attempt = 0; (t = tombstones) == null; attempt++) DescriptorPool.backOff(attempt);
        return t;
    }

    // ---- statistics ------------------------------------------------------------------------------

    /** Per-worker counters (racy snapshots) and totals. */
    public SpindleStats stats() {
        Tombstones t = tombstones;
        if (t != null) return t.finalStats;
        if (!enter()) return tombstones().finalStats;
        try {
            return readStats();
        } finally {
            exit();
        }
    }

    private SpindleStats readStats() {
        List<SpindleStats.Worker> list = new ArrayList<>(workerCount);
        for (int i = 0; i < workerCount; i++) {
            int base = SCHED_STATS + i * STATS_SIZE;
            list.add(new SpindleStats.Worker(i, (int) (long) LONGS.getVolatile(control, base + STATS_TID),
                    (long) LONGS.getVolatile(control, base + STATS_TASKS_RUN),
                    (long) LONGS.getVolatile(control, base + STATS_PARKS),
                    (long) LONGS.getVolatile(control, base + STATS_WAKEUPS),
                    (long) LONGS.getVolatile(control, base + STATS_STEALS),
                    (long) LONGS.getVolatile(control, base + STATS_CANCELLED),
                    (long) LONGS.getVolatile(control, base + STATS_STACKS)));
        }
        return new SpindleStats(list, submissions.offered() + batchTasksBeyondChunks.sum(), pool.capacity());
    }

    /** The workers' kernel thread ids (for /proc inspection). */
    public int[] workerTids() {
        int[] tids = new int[workerCount];
        for (int i = 0; i < workerCount; i++) tids[i] = workers[i].tid();
        return tids;
    }

    // ---- shutting down ----------------------------------------------------------------------------

    public boolean isClosed() {
        return submissions.isClosed() || tombstones != null;
    }

    /** Stops accepting, runs every accepted task, joins the workers, frees native memory. Idempotent. */
    @Override
    public void close() {
        shutdown(SHUTDOWN_DRAIN);
    }

    /** Stops accepting; tasks not yet started are cancelled (their joins throw CancellationException). Returns how many. */
    public long shutdownNow() {
        return shutdown(SHUTDOWN_CANCEL);
    }

    private long shutdown(int mode) {
        synchronized (closeLock) {
            if (tombstones != null) return 0;
            submissions.close();                  // 1. every offer from now on is refused
            SchedNative.spn_sched_shutdown(sched, mode);
            for (NativeThread w : workers) w.join(); // 2. the ring is empty and every task ended
            SpindleStats finalStats = readStats();
            gate.getAndAdd(CLOSING);              // 3. no new callers; wait for those inside
            for (int attempt = 0; (gate.get() & ~CLOSING) != 0; attempt++) DescriptorPool.backOff(attempt);
            poller.stopAndJoin();                 // 4. every completion delivered
            Tombstones t = Tombstones.capture(pool, finalStats);
            for (TaskGroup g : liveGroups) g.detachFromNative();
            liveGroups.clear();
            SchedNative.spn_sched_destroy(sched); // 5. rings, descriptors, control block
            tombstones = t;
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // We are the hook, or the JVM is exiting anyway.
            }
            return finalStats.cancelled();
        }
    }

    @Override
    public String toString() {
        return "Spindle[" + name + ", workers=" + workerCount + ", ring=" + ringCapacity
                + (isClosed() ? ", closed" : "") + "]";
    }

    /** What close() keeps of descriptors that handles still own, so late joins get their result. */
    static final class Tombstones {
        final int[] states;
        final long[] results;
        final SpindleStats finalStats;

        private Tombstones(int[] states, long[] results, SpindleStats finalStats) {
            this.states = states;
            this.results = results;
            this.finalStats = finalStats;
        }

        static Tombstones capture(DescriptorPool pool, SpindleStats finalStats) {
            int n = pool.capacity();
            int[] states = new int[n];
            long[] results = new long[n];
            for (int i = 0; i < n; i++) {
                if (pool.refs(i) > 0) {
                    states[i] = pool.state(i) & STATE_MASK;
                    results[i] = pool.result(i);
                }
            }
            return new Tombstones(states, results, finalStats);
        }
    }

    /** Settings for a {@link Spindle}; each is checked when set. */
    public static final class Builder {
        private int workers = Runtime.getRuntime().availableProcessors();
        private int ringCapacity = DEFAULT_RING_CAPACITY;
        private Duration spin = DEFAULT_SPIN;
        private long workerStackSize = NativeThread.DEFAULT_STACK_SIZE;
        private long greenStackSize = DEFAULT_GREEN_STACK_SIZE;
        private String name;
        // Tests: a fault injected after the worker of that index started (see SpindleLimitsTest).
        IntConsumer afterWorkerStarted = index -> {};

        private Builder() {}

        /** Worker threads (1..1024; default: available processors). */
        public Builder workers(int workers) {
            if (workers < 1 || workers > MAX_WORKERS) {
                throw new IllegalArgumentException("workers must be between 1 and " + MAX_WORKERS + ", was " + workers);
            }
            this.workers = workers;
            return this;
        }

        /**
         * Submission ring slots: a power of two from 2 to {@link #MAX_RING_CAPACITY} (2^26;
         * default 16384). Each slot is 16 bytes, all written when the runtime is built: the
         * largest ring is 1 GiB of resident memory.
         */
        public Builder ringCapacity(int capacity) {
            if (capacity < 2 || capacity > MAX_RING_CAPACITY || Integer.bitCount(capacity) != 1) {
                throw new IllegalArgumentException("ring capacity must be a power of two between 2 and 2^26 ("
                        + MAX_RING_CAPACITY + " slots of 16 bytes: the ring must fit one 2 GiB direct-buffer view), was "
                        + capacity);
            }
            this.ringCapacity = capacity;
            return this;
        }

        /** How long an idle worker keeps looking for work before it sleeps (0..1 s; default 50 us). */
        public Builder spinTime(Duration spin) {
            Objects.requireNonNull(spin, "spin time");
            if (spin.isNegative() || spin.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("spin time must be between 0 and 1 s, was " + spin);
            }
            this.spin = spin;
            return this;
        }

        /** Each worker's own stack (page multiple, at least 16 KiB; default 256 KiB). Tasks run on it. */
        public Builder workerStackSize(long bytes) {
            this.workerStackSize = GuardedStack.validateSize(bytes);
            return this;
        }

        /**
         * The stack of each green thread (page multiple, at least 16 KiB; default 64 KiB).
         * Every task that starts from a queue runs on one; stacks are pooled per worker.
         */
        public Builder greenStackSize(long bytes) {
            this.greenStackSize = GuardedStack.validateSize(bytes);
            return this;
        }

        /** A name for the runtime and its threads (default spindle-N). */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isBlank()) throw new IllegalArgumentException("name must not be blank");
            this.name = name;
            return this;
        }

        public Spindle build() {
            return new Spindle(this);
        }
    }
}
