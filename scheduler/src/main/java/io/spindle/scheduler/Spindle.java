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

import java.io.IOException;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.IntConsumer;
import java.util.function.IntUnaryOperator;

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
 * Neither waits longer than the {@linkplain Builder#terminationTimeout termination timeout}
 * for a task that does not end, and neither does the JVM's exit: see {@link #close(Duration)}.
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
    public static final Duration DEFAULT_TERMINATION_TIMEOUT = Duration.ofSeconds(10);
    /** The most tasks one {@link #spawnAll} takes: their results and marks fit one direct buffer. */
    public static final int MAX_BATCH = (Integer.MAX_VALUE - GROUP_RESULTS) / 9;
    static final int BATCH_CHUNK_MAX = 64;
    static final int BATCH_CHUNKS_PER_WORKER = 16;

    private static final AtomicInteger INSTANCES = new AtomicInteger();
    /** A thread's name in the kernel: 16 bytes with the terminating NUL. */
    private static final int KERNEL_NAME_BYTES = 15;
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
        // Where glibc keeps a thread's stack bounds and pthread_exit's target: the workers show
        // each green thread's there while it runs.
        long[] tcbLayout = new long[4];
        if (RuntimeNative.spn_tcb_layout(tcbLayout) == 0) SchedNative.spn_fiber_use_tcb_layout(tcbLayout);
    }

    private final String name;
    private final int workerCount;
    private final int ringCapacity;
    private final Duration spin;
    private final long greenStackSize;
    private final Duration terminationTimeout;

    final long sched;
    final ByteBuffer control;
    final OffHeapRing submissions;
    final DescriptorPool pool;
    final CompletionPoller poller;
    private final NativeThread[] workers; // none for an isolated pool: its workers are in its child
    private final Thread shutdownHook;
    // An isolated pool's child, shared region and its memfd; null, 0, -1 otherwise.
    private final IsolatedChild isolated;
    /** An isolated pool's translated functions: function object (identity) to the child's address. */
    private final Map<Object, Long> childCode = new ConcurrentHashMap<>();
    private static final int CHILD_CODE_KEPT = 4096;
    private final long region;
    private final int regionFd;
    private final long callTaskCode; // spn_call_task where the workers run it
    private volatile TaskCrashedException.Crash brokenBy; // an isolated pool out of restarts

    private final AtomicLong gate = new AtomicLong();
    // The ring counts a chunk of a batch once: the tasks it held beyond that, for stats().
    private final LongAdder batchTasksBeyondChunks = new LongAdder();
    private final Object closeLock = new Object();
    private volatile int shutdownMode; // 0, SHUTDOWN_DRAIN or SHUTDOWN_CANCEL; written under closeLock
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile boolean reportedLeftBehind;
    private volatile Tombstones tombstones; // set once the native memory is freed
    final Set<TaskGroup> liveGroups = ConcurrentHashMap.newKeySet();
    // What a task may still use from Java's heap (a typed call's row and arguments, a batch's
    // block, a Pointer passed to spawn): reachable from here until the task has ended and
    // been joined, or the runtime has terminated, so the collector cannot free it mid-task.
    final Set<Object> heldForTasks = ConcurrentHashMap.newKeySet();
    private static final NativeFunction CALL_TASK = NativeFunction.of(SchedNative.LIBRARY, "spn_call_task");
    // Producers asleep until a worker frees a slot of the full submission ring.
    private final ConcurrentLinkedQueue<Thread> spaceWaiters = new ConcurrentLinkedQueue<>();
    // Completion stages run here, never on the poller: a stage may block, join or close().
    private final ThreadFactory stageThreads;

    private Spindle(Builder b) {
        this.name = b.name != null ? b.name : "spindle-" + INSTANCES.incrementAndGet();
        this.workerCount = b.workers;
        this.ringCapacity = b.ringCapacity;
        this.spin = b.spin;
        this.greenStackSize = b.greenStackSize;
        this.terminationTimeout = b.terminationTimeout;
        this.stageThreads = Thread.ofVirtual().name(name + "-stage-", 0).factory();
        long[] out = new long[1];
        Isolation isolation = b.isolation;
        int regionFdOut = -1;
        long regionOut = 0;
        int err;
        if (isolation == null) {
            err = SchedNative.spn_sched_create(workerCount, ringCapacity, spin.toNanos(), b.greenStackSize, out);
        } else {
            long[] tcbLayout = new long[4];
            if (RuntimeNative.spn_tcb_layout(tcbLayout) != 0) throw new IllegalStateException("glibc's TCB layout is unknown");
            long[] made = new long[3];
            long deadline = isolation.taskDeadline == null ? 0 : isolation.taskDeadline.toNanos();
            err = SchedNative.spn_isolated_create(isolation.sharedMemory, workerCount, ringCapacity, spin.toNanos(),
                    b.greenStackSize, b.workerStackSize, deadline, tcbLayout, isolation.systemCallFilter ? 1 : 0, made);
            if (err == 0) {
                regionOut = made[0];
                out[0] = made[1];
                regionFdOut = (int) made[2];
            }
        }
        this.region = regionOut;
        this.regionFd = regionFdOut;
        if (err != 0) {
            throw new IllegalStateException("could not create the scheduler for " + workerCount + " workers and a ring of "
                    + ringCapacity + " slots: " + RuntimeNative.spn_strerror(err) + " (errno " + err + ")");
        }
        this.sched = out[0];
        this.workers = new NativeThread[isolation == null ? workerCount : 0];
        // From here on every step can fail (no memory, no thread): what was made so far is
        // undone, so a failed build leaves no native memory, mapping or thread behind.
        CompletionPoller startedPoller = null;
        try {
            this.control = Memory.map(sched, SCHED_HEADER_SIZE + (long) workerCount * STATS_SIZE);
            this.submissions = new OffHeapRing((long) LONGS.get(control, SCHED_SUBMIT));
            this.pool = new DescriptorPool(sched, control);
            this.poller = new CompletionPoller(sched, name + "-completions", this::spaceFreed);
            this.poller.start();
            startedPoller = poller;
            if (isolation == null) {
                this.isolated = null;
                NativeThread.Builder threads = NativeThread.builder().stackSize(b.workerStackSize);
                NativeFunction workerMain = NativeFunction.of(SchedNative.LIBRARY, "spn_worker_main");
                for (int i = 0; i < workerCount; i++) {
                    workers[i] = threads.start(workerMain, SchedNative.spn_sched_worker(sched, i));
                    nameKernelThread(workers[i].tid(), name + "-w" + i);
                    b.afterWorkerStarted.accept(i);
                }
            } else {
                this.isolated = new IsolatedChild(this, isolation, region, sched, regionFd);
                isolated.start(name);
            }
            this.callTaskCode = code(CALL_TASK.address(), "spn_call_task");
            // Raw threads should not be running native code while the JVM tears itself down
            // (exit handlers and library destructors run then): cancel, and wait a bounded time.
            this.shutdownHook = new Thread(this::atExit, name + "-shutdown");
            Runtime.getRuntime().addShutdownHook(shutdownHook);
        } catch (RuntimeException | Error e) {
            undoPartialConstruction(startedPoller);
            throw e;
        }
    }

    /**
     * The name ps -L, top -H, gdb, perf and /proc show for a worker: the kernel's 15 bytes,
     * the pool's name cut short so that the worker's number stays. Workers are not attached
     * to the JVM, so jstack and JFR do not list them: a task's upcall through
     * spn_call_on_worker_stack attaches and detaches the worker's thread, and a detach ends
     * an attachment whoever made it.
     */
    private static void nameKernelThread(int tid, String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        String suffix = name.substring(name.lastIndexOf("-w"));
        int keep = Math.min(bytes.length - suffix.length(), KERNEL_NAME_BYTES - suffix.length());
        while (keep > 0 && keep < bytes.length && (bytes[keep] & 0xc0) == 0x80) keep--; // whole characters
        byte[] comm = new byte[keep + suffix.length()];
        System.arraycopy(bytes, 0, comm, 0, keep);
        System.arraycopy(suffix.getBytes(StandardCharsets.US_ASCII), 0, comm, keep, suffix.length());
        try {
            Files.write(Path.of("/proc/self/task/" + tid + "/comm"), comm);
        } catch (IOException unnamed) {
            // Only a name for tools to show: a worker without one works the same.
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
        destroyNative(); // an isolated pool's child never started: its start is the last step
    }

    /** The scheduler's memory: freed, or (isolated) the whole shared region unmapped. */
    private void destroyNative() {
        if (region != 0) SchedNative.spn_isolated_destroy(region, regionFd);
        else SchedNative.spn_sched_destroy(sched);
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

    public Duration terminationTimeout() {
        return terminationTimeout;
    }

    // ---- submission ---------------------------------------------------------------------------

    /** Runs {@code fn(arg)} on a worker; waits while the ring is full. */
    public Task spawn(NativeFunction fn, long arg) {
        return spawn(fn, arg, true);
    }

    /**
     * Runs {@code fn(arg)} on a worker. The Pointer (a JNA {@code Memory}, say) stays reachable
     * until the task has ended and been joined, so the collector cannot free it while the task
     * uses it.
     */
    public Task spawn(NativeFunction fn, Pointer arg) {
        requireShared(Pointer.nativeValue(arg), 1, "the argument");
        Task task = spawn(fn, Pointer.nativeValue(arg), true);
        if (arg != null) task.holdForTheRun(arg);
        return task;
    }

    /**
     * Runs {@code fn(arg)} on a worker with the address of a {@link PointerArgument} (an
     * isolated pool's {@link SharedMemory}, an FFM segment), kept reachable as a Pointer is.
     */
    public Task spawn(NativeFunction fn, PointerArgument arg) {
        Objects.requireNonNull(arg, "pointer argument");
        requireShared(arg.address(), 1, "the argument");
        Task task = spawn(fn, arg.address(), true);
        task.holdForTheRun(arg);
        return task;
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
            int index = acquireDescriptor();
            if (index < 0) throw new RejectedExecutionException(name + " is closed");
            prepare(index, address, arg, 0, 0, REF_RUN);
            submit(index, true);
        } finally {
            exit();
        }
    }

    private Task spawn(NativeFunction fn, long arg, boolean wait) {
        long address = requireFunction(fn);
        enterOrReject();
        try {
            int index = wait ? acquireDescriptor() : pool.tryAcquire();
            if (index < 0 && wait) throw new RejectedExecutionException(name + " is closed");
            if (index < 0) return null;
            // Owners: the run, and the handle, which the Java Task holds.
            int gen = prepare(index, address, arg, 0, 0, REF_RUN | REF_HANDLE | REF_JAVA);
            if (!submit(index, wait)) return null;
            return new Task(this, index, gen);
        } finally {
            exit();
        }
    }

    /**
     * Calls an existing C function with its own arguments, on a worker, with no C glue: the
     * arguments are checked against the function's signature (count, type, range) and
     * written where the ABI passes them; the worker loads the registers and calls (struct
     * spn_call in spindle_sched.h). Waits while the ring is full, as {@link #spawn} does.
     *
     * <pre>{@code
     * TypedFunction labs = TypedFunction.of(NativeLibrary.getInstance("c"), "labs", Signature.of(CType.INT64, CType.INT64));
     * long five = spindle.call(labs, -5L).join();
     * }</pre>
     *
     * @throws IllegalArgumentException for a wrong number of arguments, or one its type
     *         cannot hold (see {@link CType}); nothing is queued then
     */
    public TypedTask call(TypedFunction fn, Object... args) {
        Objects.requireNonNull(fn, "typed function");
        Objects.requireNonNull(args, "arguments");
        requireSharedArguments(fn.signature(), args);
        long code = code(fn);
        enterOrReject();
        try {
            int index = acquireDescriptor();
            if (index < 0) throw new RejectedExecutionException(name + " is closed");
            try {
                // The descriptor's own row: no allocation. A bad argument gives the unseen descriptor back.
                fn.signature().writeRow(pool.chunk(index), DescriptorPool.callRowOffset(index), code, args);
            } catch (RuntimeException bad) {
                pool.discard(index);
                throw bad;
            }
            int gen = prepare(index, callTaskCode, pool.callRowAddress(index), 0, 0, REF_RUN | REF_HANDLE | REF_JAVA);
            submit(index, true);
            Task task = new Task(this, index, gen);
            // Memory given as a pointer must outlive the call; primitives need no holding.
            for (Object arg : args) {
                if (arg instanceof Pointer || arg instanceof PointerArgument) {
                    task.holdForTheRun(args);
                    break;
                }
            }
            return new TypedTask(task, fn);
        } finally {
            exit();
        }
    }

    /**
     * Calls {@code fn} once per row of its argument columns, as one batch: argument k of call
     * i is {@code columns[k][i]} (a primitive array per argument: see {@link Signature}). The
     * rows go into one native block, as compact as the signature allows (8 bytes per argument
     * and one for the result); no object, allocation or JNA call per call. The workers take
     * the rows in chunks, larger first and smaller towards the end so that they finish
     * together, and call {@code fn} back to back from the rows (spn_call_rows: no
     * interpretation per call). Chunks are queued as they are written, so the workers start
     * while later rows are still being written.
     *
     * <pre>{@code
     * TypedGroup crcs = spindle.callAll(crc32, new long[n], bufferAddresses, lengths);
     * long[] values = crcs.join();
     * }</pre>
     *
     * <p>The rows of a chunk run one after another on one green thread; a function that
     * parks (a Spindle-aware one that joins) holds up the rest of its chunk. If the runtime
     * closes during the call, the rows not yet queued are reported as cancelled by the group.
     *
     * @throws IllegalArgumentException for a wrong number of columns, columns of different
     *         lengths, an element its argument's type cannot hold, or more rows than one block
     *         holds; nothing is queued then
     */
    public TypedGroup callAll(TypedFunction fn, Object... columns) {
        Objects.requireNonNull(fn, "typed function");
        Objects.requireNonNull(columns, "argument columns");
        Signature signature = fn.signature();
        int rows = signature.rowCount(columns);
        if (rows == 0) return new TypedGroup(TaskGroup.empty(this), fn);
        signature.checkColumns(columns, rows);
        requireSharedColumns(signature, columns);
        int stride = 8 * Math.max(1, signature.arguments().size() + (signature.returnKind() == RET_NONE ? 0 : 1));
        long maxRows = (Integer.MAX_VALUE - GROUP_RESULTS - CALL_ROW_OVERREAD) / (stride + 1);
        if (rows > maxRows) {
            throw new IllegalArgumentException("callAll of " + fn + " takes at most " + maxRows + " rows (one block of "
                    + stride + "-byte rows), got " + rows);
        }
        enterOrReject();
        try {
            long group = SchedNative.spn_call_group_create(sched, rows, code(fn), signature.integerArgs(),
                    signature.floatingPointArgs(), signature.returnKind());
            if (group == 0) throw new OutOfMemoryError("native memory for a batch of " + rows + " calls of " + fn);
            ByteBuffer buffer = Memory.map(group, GROUP_RESULTS + (long) rows * (stride + 1) + CALL_ROW_OVERREAD);
            if (buffer.getInt(GROUP_ROW_STRIDE) != stride) {
                SchedNative.spn_group_destroy(sched, group);
                throw new IllegalStateException("spn_call_group_create laid out " + buffer.getInt(GROUP_ROW_STRIDE)
                        + "-byte rows for " + signature + ", Java expected " + stride);
            }
            int fpsOffset = buffer.getShort(GROUP_ROW_FPS);
            int resultOffset = signature.returnKind() == RET_NONE ? -1 : buffer.getShort(GROUP_ROW_RET);
            BatchWriter writeRows = (from, to) -> signature.writeRows(buffer, stride, fpsOffset, columns, from, to);
            TaskGroup batch = queueBatch(code(fn), group, buffer, rows, stride, resultOffset, writeRows, this::callChunk);
            for (Object column : columns) {
                if (column instanceof PointerArgument[]) {
                    batch.holdForTheRun(columns); // their memory must outlive the calls
                    break;
                }
            }
            return new TypedGroup(batch, fn);
        } finally {
            exit();
        }
    }

    /**
     * As {@link #callAll}, with the arguments laid out as rows in {@code rows} (a JNA
     * Memory's or an FFM segment's ByteBuffer, say), from its position to its limit: one
     * 8-byte slot per argument, in argument order, in native byte order. An integer or
     * pointer slot holds a long (each checked against its type's range), a DOUBLE slot a
     * double, a FLOAT slot a float in its first 4 bytes. The rows are copied into the batch
     * before this returns, so the buffer may be reused at once.
     *
     * @throws IllegalArgumentException if the buffer does not hold a whole number of rows, or
     *         a slot its type cannot hold; nothing is queued then
     */
    public TypedGroup callRows(TypedFunction fn, ByteBuffer rows) {
        Objects.requireNonNull(fn, "typed function");
        Objects.requireNonNull(rows, "argument rows");
        List<CType> types = fn.signature().arguments();
        if (types.isEmpty()) throw new IllegalArgumentException(fn + " has no argument: a batch needs rows of arguments");
        int rowBytes = 8 * types.size();
        if (rows.remaining() % rowBytes != 0) {
            throw new IllegalArgumentException("a block of " + rows.remaining() + " bytes is not a whole number of " + rowBytes
                    + "-byte rows (8 bytes for each argument of " + fn.signature() + ")");
        }
        ByteBuffer block = rows.slice().order(ByteOrder.nativeOrder());
        int count = block.remaining() / rowBytes;
        Object[] columns = new Object[types.size()];
        for (int k = 0; k < columns.length; k++) {
            CType type = types.get(k);
            if (type == CType.DOUBLE) {
                double[] column = new double[count];
                for (int i = 0; i < count; i++) column[i] = block.getDouble(i * rowBytes + 8 * k);
                columns[k] = column;
            } else if (type == CType.FLOAT) {
                float[] column = new float[count];
                for (int i = 0; i < count; i++) column[i] = block.getFloat(i * rowBytes + 8 * k);
                columns[k] = column;
            } else {
                long[] column = new long[count];
                for (int i = 0; i < count; i++) column[i] = block.getLong(i * rowBytes + 8 * k);
                columns[k] = column;
            }
        }
        return callAll(fn, columns);
    }

    /** Writes the rows {@code from .. to-1} of a batch before its chunk is queued. */
    @FunctionalInterface
    private interface BatchWriter {
        void write(int from, int to);
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
            long group = SchedNative.spn_group_create(sched, args.length);
            if (group == 0) throw new OutOfMemoryError("native memory for a group of " + args.length + " results");
            ByteBuffer buffer = Memory.map(group, GROUP_RESULTS + 9L * args.length); // results, skipped marks
            // The arguments go where the results will be: each task replaces its own.
            BatchWriter writeArgs = (from, to) -> buffer.slice(GROUP_RESULTS + 8 * from, 8 * (to - from))
                    .order(ByteOrder.nativeOrder()).asLongBuffer().put(args, from, to - from);
            return queueBatch(address, group, buffer, args.length, 8, 0, writeArgs, this::batchChunk);
        } finally {
            exit();
        }
    }

    /**
     * Queues a batch's chunks, each written just before it is queued, and hands back its
     * handle. If the runtime closes meanwhile, the tasks not queued are marked skipped and the
     * group cancelled (or, if none was queued, the group freed and the call refused).
     */
    private TaskGroup queueBatch(long fn, long group, ByteBuffer buffer, int count, int stride, int resultOffset,
                                 BatchWriter writer, IntUnaryOperator chunkSize) {
        int accepted = 0, chunks = 0;
        while (accepted < count) {
            int end = accepted + chunkSize.applyAsInt(count - accepted);
            writer.write(accepted, end);
            int index = acquireDescriptor();
            if (index < 0) break; // closed meanwhile
            prepare(index, fn, end, group, accepted, 0); // a chunk: no handle, no run count
            if (offer(index, true) != OffHeapRing.OFFERED) {
                pool.discard(index);
                break; // closed meanwhile
            }
            accepted = end;
            chunks++;
            signalWork();
        }
        batchTasksBeyondChunks.add(accepted - chunks);
        int refused = count - accepted;
        if (refused > 0) {
            if (accepted == 0) {
                SchedNative.spn_group_destroy(sched, group);
                throw new RejectedExecutionException(name + " is closed");
            }
            INTS.setVolatile(buffer, GROUP_CANCELLED, 1);
            int marks = GROUP_RESULTS + stride * count;
            for (int i = accepted; i < count; i++) buffer.put(marks + i, (byte) 1);
            if ((long) LONGS.getAndAdd(buffer, GROUP_REMAINING, (long) -refused) == refused) {
                // Every accepted task already ended: nobody else will finish the group.
                INTS.setVolatile(buffer, GROUP_STATE, STATE_CANCELLED);
            }
        }
        TaskGroup handle = new TaskGroup(this, group, buffer, count, refused, stride, resultOffset);
        liveGroups.add(handle);
        return handle;
    }

    /**
     * Takes over a handle that native task code made with {@code spn_spawn} and handed to Java
     * (as its result, say): the returned Task owns that reference, and joining it gives the
     * reference back. Native code must then not join or detach that reference itself.
     *
     * @throws IllegalArgumentException if {@code nativeHandle} is not a live handle of this
     *         runtime: not a task's, given back already (joined or detached), or adopted
     *         already (each reference, from spn_spawn or spn_retain, is adopted at most once)
     */
    public Task adopt(long nativeHandle) {
        if (nativeHandle == 0) throw new IllegalArgumentException("null task handle");
        enterOrReject();
        try {
            int index = pool.adopt(nativeHandle);
            if (index < 0) {
                throw new IllegalArgumentException("0x" + Long.toHexString(nativeHandle) + " is not a live task handle of "
                        + name + ": not a task's, given back already (joined or detached), or adopted already");
            }
            return new Task(this, index, (int) (nativeHandle >>> 32));
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

    /**
     * The rows of a callAll chunk: half of each worker's share of what is left (guided
     * self-scheduling). A row is one call, so a chunk costs its queueing once for thousands of
     * short calls, while the last chunks, a row or a few, let the workers end together when
     * calls are long.
     */
    int callChunk(int remaining) {
        return (int) Math.max(1, (long) remaining / (2L * workerCount));
    }

    private long requireFunction(NativeFunction fn) {
        if (fn == null) throw new NullPointerException("native function is null: a task needs code to run");
        return code(fn, fn.address(), fn.name());
    }

    /**
     * Where the workers find {@code function}'s code, at {@code jvmAddress} here: the same, or
     * the isolated child's copy. The child's answer is kept per function object (identity: a
     * function's address never changes, and no child may load a library elsewhere than the
     * first did), so a round trip costs no dladdr and no realpath.
     */
    private long code(Object function, long jvmAddress, String what) {
        if (isolated == null) return jvmAddress;
        Long known = childCode.get(function);
        if (known != null) return known;
        long child = code(jvmAddress, what);
        if (childCode.size() >= CHILD_CODE_KEPT) childCode.clear(); // functions made per call: keep the map small
        childCode.put(function, child);
        return child;
    }

    /** {@link #code(Object, long, String)} without the cache: a dladdr, a realpath, a table search. */
    private long code(long jvmAddress, String what) {
        if (isolated == null) return jvmAddress;
        long child;
        if (!enter()) throw rejection(); // the region (and its table of libraries) lives as long as the pool
        try {
            child = isolated.childAddress(jvmAddress);
        } finally {
            exit();
        }
        if (child == 0) {
            throw new IllegalArgumentException(what + " (0x" + Long.toHexString(jvmAddress) + ") is in no library the isolated"
                    + " pool " + name + " loaded: add its library with Isolation.builder().library(...)");
        }
        return child;
    }

    private long code(TypedFunction fn) {
        return code(fn, fn.address(), fn.toString());
    }

    /**
     * An isolated pool's child sees only the shared region: a pointer argument outside it is
     * refused, before anything is queued (null is let through).
     */
    private void requireShared(long address, long bytes, String what) {
        if (isolated == null || address == 0) return;
        boolean inside;
        if (!enter()) throw rejection();
        try {
            inside = SchedNative.spn_shared_contains(region, address, Math.max(bytes, 1)) != 0;
        } finally {
            exit();
        }
        if (!inside) {
            throw new IllegalArgumentException(what + " points at 0x" + Long.toHexString(address) + ", outside the isolated pool "
                    + name + "'s shared memory, which is all its child can see: allocate it with allocateShared(bytes)");
        }
    }

    private void requireSharedArguments(Signature signature, Object[] args) {
        if (isolated == null) return;
        List<CType> types = signature.arguments();
        for (int k = 0; k < types.size() && k < args.length; k++) {
            if (types.get(k) != CType.POINTER) continue;
            Object a = args[k];
            long address = a instanceof Pointer p ? Pointer.nativeValue(p) : a instanceof PointerArgument p ? p.address()
                    : a instanceof Long l ? l : 0;
            requireShared(address, 1, "argument " + k);
        }
    }

    private void requireSharedColumns(Signature signature, Object[] columns) {
        if (isolated == null) return;
        List<CType> types = signature.arguments();
        for (int k = 0; k < types.size() && k < columns.length; k++) {
            if (types.get(k) != CType.POINTER) continue;
            if (columns[k] instanceof long[] a) {
                for (int i = 0; i < a.length; i++) requireShared(a[i], 1, "argument column " + k + ", row " + i);
            } else if (columns[k] instanceof PointerArgument[] a) {
                for (int i = 0; i < a.length; i++) requireShared(a[i].address(), 1, "argument column " + k + ", row " + i);
            }
        }
    }

    // ---- an isolated pool's shared memory ------------------------------------------------------

    /** True for a pool built with {@link Builder#isolated(Isolation)}. */
    public boolean isIsolated() {
        return isolated != null;
    }

    /**
     * Memory an isolated pool's tasks can read and write (the only memory they can): at the
     * same address in the JVM and in the child. Zeroed only when new to the region.
     *
     * @throws IllegalStateException for a pool that is not isolated
     * @throws OutOfMemoryError when the region has no block of that size left
     *         ({@link Isolation.Builder#sharedMemory})
     */
    public SharedMemory allocateShared(long bytes) {
        if (isolated == null) throw new IllegalStateException(name + " is not isolated: its tasks see all of the JVM's memory");
        if (bytes <= 0) throw new IllegalArgumentException("bytes must be positive, was " + bytes);
        enterOrReject();
        try {
            long address = SchedNative.spn_shared_alloc(region, bytes);
            if (address == 0) throw new OutOfMemoryError("the isolated pool " + name + "'s shared memory has no " + bytes + " bytes left");
            return new SharedMemory(this, address, bytes);
        } finally {
            exit();
        }
    }

    void freeShared(long address) {
        if (!enter()) return; // the region is gone with the pool
        try {
            SchedNative.spn_shared_free(region, address);
        } finally {
            exit();
        }
    }

    /** Bytes of the shared region in use (blocks and the pool's own structures); 0 if not isolated. */
    public long sharedMemoryInUse() {
        if (isolated == null || !enter()) return 0;
        try {
            return SharedMemory.inUse(region);
        } finally {
            exit();
        }
    }

    /** The isolated child's pid as the JVM sees it, or 0 (tests). */
    int childPid() {
        return isolated == null ? 0 : isolated.pid();
    }

    /** How many times an isolated pool started a new child after one died. */
    public int restarts() {
        return isolated == null ? 0 : isolated.restarts();
    }

    boolean isShuttingDown() {
        return shutdownMode != 0;
    }

    /** The supervisor gives up (no restarts left): from now on every offer is refused. */
    void refuseTasks(TaskCrashedException.Crash crash) {
        brokenBy = crash;
        submissions.close();
        SchedNative.spn_space_wake_all(sched); // producers at a full ring see it closed
        for (Thread waiter : spaceWaiters) LockSupport.unpark(waiter);
    }

    /** ... and what was queued has failed: close. */
    void brokenBy(TaskCrashedException.Crash crash) {
        brokenBy = crash;
        beginShutdown(SHUTDOWN_CANCEL);
    }

    TaskCrashedException crashed(long crashNumber, String what) {
        return new TaskCrashedException(isolated.crash(crashNumber), what);
    }

    TaskCrashedException crashedBatch() {
        return new TaskCrashedException(isolated.crash(isolated.crashCount()), "a task of the batch crashed");
    }

    /**
     * A single task (group 0), or a chunk of a batch: its slots {@code slot .. groupEnd-1}.
     * Returns the descriptor's new generation (its handle names this life only).
     */
    int prepare(int index, long fn, long argOrGroupEnd, long group, int slot, int refs) {
        ByteBuffer chunk = pool.chunk(index);
        int offset = DescriptorPool.offset(index);
        LONGS.set(chunk, offset + TASK_FN, fn);
        LONGS.set(chunk, offset + (group == 0 ? TASK_ARG : TASK_GROUP_END), argOrGroupEnd);
        LONGS.set(chunk, offset + TASK_RESULT, 0L);
        LONGS.set(chunk, offset + TASK_GROUP, group);
        if (group != 0) INTS.set(chunk, offset + TASK_GROUP_SLOT, slot);
        LONGS.set(chunk, offset + TASK_WAITERS, 0L);
        LONGS.set(chunk, offset + TASK_FIBER, 0L);
        // Release: an isolated pool's JVM, after a crash, tells a task the dead child started
        // (QUEUED with a fiber) from a new one by these two fields (isolated.c).
        INTS.setRelease(chunk, offset + TASK_STATE, STATE_QUEUED);
        // Plain writes: the ring's release store of the slot sequence publishes them.
        return pool.begin(index, refs);
    }

    /** A free descriptor; waits while all 4 M are in use; -1 once the runtime closes. */
    private int acquireDescriptor() {
        int index = pool.tryAcquire();
        for (int attempt = 0; index < 0; attempt++) {
            if (submissions.isClosed()) return -1;
            DescriptorPool.backOff(attempt);
            index = pool.tryAcquire();
        }
        return index;
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

    /**
     * OFFERED, CLOSED, or FULL (only when !wait). A producer that finds the ring full spins
     * briefly, then sleeps until a worker takes a task from it: the worker wakes it (a futex
     * for a platform thread; for a virtual thread, which must not block in native code,
     * through the completion poller, {@link #spaceFreed}). So a full ring costs its producers
     * the time the workers need to make room, not a fixed sleep.
     */
    private int offer(int index, boolean wait) {
        long address = pool.address(index);
        int r = submissions.offer(address);
        if (r != OffHeapRing.FULL || !wait) return r;
        signalWork(); // make sure a worker drains what is there
        for (int spin = 0; spin < 128; spin++) {
            Thread.onSpinWait();
            if ((r = submissions.offer(address)) != OffHeapRing.FULL) return r;
        }
        return offerWhenSpaceFrees(address);
    }

    /**
     * Delicate dance with the workers (sched.c, space_freed): we count ourselves in
     * space_waiters, read space_seq, reset space_signalled, fence, then offer again; a worker
     * moves the consumer index (a seq-cst cas), then reads space_waiters. Either our offer
     * sees the free slot, or the worker sees us and moves space_seq past what we read. Spawns
     * are not interruptible: an interrupt is kept.
     */
    private int offerWhenSpaceFrees(long address) {
        Thread me = Thread.currentThread();
        boolean parks = me.isVirtual();
        if (parks) {
            spaceWaiters.add(me);
            INTS.getAndAdd(control, SCHED_SPACE_PARKERS, 1);
        }
        INTS.getAndAdd(control, SCHED_SPACE_WAITERS, 1);
        boolean interrupted = false;
        try {
            while (true) {
                int epoch = (int) INTS.getVolatile(control, SCHED_SPACE_SEQ);
                INTS.setVolatile(control, SCHED_SPACE_SIGNALLED, 0); // the next free signals again
                VarHandle.fullFence();
                int r = submissions.offer(address);
                if (r != OffHeapRing.FULL) return r;
                if (parks) {
                    LockSupport.park(this);
                    interrupted |= Thread.interrupted();
                } else {
                    SchedNative.spn_space_wait(sched, epoch);
                }
            }
        } finally {
            INTS.getAndAdd(control, SCHED_SPACE_WAITERS, -1);
            if (parks) {
                INTS.getAndAdd(control, SCHED_SPACE_PARKERS, -1);
                spaceWaiters.remove(me);
            }
            if (interrupted) me.interrupt();
        }
    }

    /** The poller's part: a worker freed a slot while virtual-thread producers were parked. */
    private void spaceFreed() {
        for (Thread waiter : spaceWaiters) LockSupport.unpark(waiter);
    }

    /**
     * Go's wakep from Java: after publishing, a full fence (StoreLoad), then wake one sleeping
     * worker only if nobody spins and we win the cas of the spinning count from 0 to 1 (the
     * woken worker counts as spinning from then on). See sched.c for why no wake-up is lost.
     */
    void signalWork() {
        VarHandle.fullFence();
        if ((int) INTS.getVolatile(control, SCHED_NSPINNING) == 0
                && (int) INTS.getVolatile(control, SCHED_NPARKED) > 0
                && INTS.compareAndSet(control, SCHED_NSPINNING, 0, 1)) {
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
        if (!enter()) throw rejection();
    }

    private RejectedExecutionException rejection() {
        TaskCrashedException.Crash broken = brokenBy;
        return broken == null ? new RejectedExecutionException(name + " is closed")
                : new RejectedExecutionException(name + " takes no more tasks: " + broken.describe());
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

    /**
     * The workers' kernel thread ids as this JVM sees them (for /proc inspection). An isolated
     * pool's workers are threads of its child ({@link #childPid()}): their ids in the JVM's
     * PID namespace, or 0 for one not started (or a child not running).
     */
    public int[] workerTids() {
        int[] tids = new int[workerCount];
        if (isolated != null) {
            if (!enter()) return tids;
            try {
                for (int i = 0; i < workerCount; i++) {
                    tids[i] = (int) (long) LONGS.getVolatile(control, SCHED_STATS + i * STATS_SIZE + STATS_TID);
                }
            } finally {
                exit();
            }
            return isolated.tidsOutside(tids);
        }
        for (int i = 0; i < workerCount; i++) tids[i] = workers[i].tid();
        return tids;
    }

    // ---- shutting down ----------------------------------------------------------------------------

    /** True once shutdown began: no new task is accepted. */
    public boolean isClosed() {
        return shutdownMode != 0; // a Java field: the ring itself may be freed by now
    }

    /** True once every worker has exited and the native memory is freed. */
    public boolean isTerminated() {
        return terminated.getCount() == 0;
    }

    /**
     * Stops accepting work and returns at once: accepted tasks still run. The native memory
     * is freed when the last worker has exited (by a thread of the runtime's own); {@link
     * #awaitTermination} waits for that. Idempotent.
     */
    public void shutdown() {
        beginShutdown(SHUTDOWN_DRAIN);
    }

    /**
     * Stops accepting, runs every accepted task, joins the workers and frees native memory,
     * waiting at most the {@linkplain Builder#terminationTimeout termination timeout}; see
     * {@link #close(Duration)} for what happens to a task that does not end in time.
     */
    @Override
    public void close() {
        close(terminationTimeout);
    }

    /**
     * Stops accepting and waits up to {@code timeout} for every accepted task to end, the
     * workers to exit and the native memory to be freed. True if that happened in time.
     *
     * <p>False leaves the runtime as it is: the workers go on (a task may still end), their
     * stacks, descriptors and rings stay mapped, since a running task may still touch them,
     * and a line on stderr names the tasks still running. When the last of them ends, the
     * runtime frees everything by itself; if one never does, that memory stays until the
     * process exits. Joins of tasks that are still running keep working meanwhile. Nothing
     * here (nor the JVM's exit) waits for ever: a process can always exit.
     */
    public boolean close(Duration timeout) {
        long nanos = io.spindle.runtime.Timeouts.toNanos(timeout);
        beginShutdown(SHUTDOWN_DRAIN);
        return awaitOrReport(nanos, "close");
    }

    /**
     * Stops accepting; tasks not yet started are cancelled (their joins throw
     * CancellationException); waits for the running ones as {@link #close()} does (at most
     * the termination timeout). Returns how many tasks were cancelled (so far, if the wait
     * ran out).
     */
    public long shutdownNow() {
        beginShutdown(SHUTDOWN_CANCEL);
        awaitOrReport(terminationTimeout.toNanos(), "shutdownNow");
        return stats().cancelled();
    }

    /** Waits until every worker has exited and the native memory is freed; false on timeout. */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(io.spindle.runtime.Timeouts.toNanos(timeout), TimeUnit.NANOSECONDS);
    }

    /** The JVM is exiting: cancel what has not started and give running tasks a bounded wait. */
    private void atExit() {
        beginShutdown(SHUTDOWN_CANCEL);
        awaitOrReport(terminationTimeout.toNanos(), "JVM exit");
    }

    private void beginShutdown(int mode) {
        synchronized (closeLock) {
            if (shutdownMode == SHUTDOWN_CANCEL || shutdownMode == mode) return;
            boolean first = shutdownMode == 0;
            shutdownMode = mode;
            if (tombstones != null) return; // terminated already: nothing native left to tell
            if (first) {
                submissions.close(); // every offer from now on is refused
                SchedNative.spn_space_wake_all(sched); // producers at a full ring see it closed
                for (Thread waiter : spaceWaiters) LockSupport.unpark(waiter);
            }
            SchedNative.spn_sched_shutdown(sched, mode); // a close() followed by shutdownNow() escalates
            if (first) Thread.ofPlatform().daemon().name(name + "-terminator").start(this::terminate);
        }
    }

    /** Uninterruptible (close() is called from finally blocks); keeps the interrupt. */
    private boolean awaitOrReport(long nanos, String what) {
        long deadline = System.nanoTime() + nanos;
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    if (terminated.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) return true;
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
        reportLeftBehind(what, nanos);
        if (isolated != null) {
            // The child can go: what it still runs fails (TaskCrashedException), and no one waits.
            isolated.kill();
            try {
                return terminated.await(terminationTimeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return false;
    }

    /** An isolated pool: waits until the supervisor is done with the child (for as long as it takes). */
    private void awaitChild() {
        if (isolated == null) return;
        boolean interrupted = false;
        while (true) {
            try {
                if (isolated.awaitEnd(Long.MAX_VALUE)) break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Says once, on stderr, which tasks are left running and what happens to their memory. */
    private void reportLeftBehind(String what, long waitedNanos) {
        if (reportedLeftBehind) return;
        List<String> running = new ArrayList<>();
        if (enter()) { // the native memory stays while we read it
            try {
                for (int i = 0; i < workerCount; i++) {
                    long fn = SchedNative.spn_sched_running_fn(sched, i);
                    if (fn != 0) running.add("worker " + i + (isolated == null ? " (tid " + workers[i].tid() + ")" : " (in the isolated child)")
                            + " in " + (isolated == null ? describeFunction(fn) : "0x" + Long.toHexString(fn)));
                }
            } finally {
                exit();
            }
        }
        if (isTerminated() || running.isEmpty()) return; // ended while we looked
        reportedLeftBehind = true;
        System.err.println("[spindle] " + name + ": " + what + " waited " + Duration.ofNanos(waitedNanos)
                + " and " + running.size() + " task(s) still run: " + String.join("; ", running)
                + ". They are left running; the runtime frees its native memory (stacks, descriptors, rings) when the"
                + " last of them ends, and never while one may still use it.");
    }

    /** "decode+0x1c in libfoo.so" for a function address, as far as the dynamic linker knows it. */
    static String describeFunction(long address) {
        byte[] buf = new byte[512];
        int n = SchedNative.spn_symbolize(address, buf, buf.length);
        return n > 0 ? new String(buf, 0, n, StandardCharsets.UTF_8) : "0x" + Long.toHexString(address);
    }

    /**
     * The runtime's own thread, started by the first shutdown: waits (for as long as it takes)
     * for every worker to exit, then frees the native memory. Nobody else ever waits for a
     * worker without a bound.
     */
    private void terminate() {
        for (NativeThread w : workers) w.join(); // 1. the ring is empty and every task ended
        awaitChild();
        SpindleStats finalStats = readStats();
        gate.getAndAdd(CLOSING);              // 2. no new callers; wait for those inside
        for (int attempt = 0; (gate.get() & ~CLOSING) != 0; attempt++) DescriptorPool.backOff(attempt);
        poller.stopAndJoin();                 // 3. every completion delivered
        Tombstones t = Tombstones.capture(pool, finalStats);
        for (TaskGroup g : liveGroups) g.detachFromNative();
        liveGroups.clear();
        synchronized (closeLock) { // a shutdownNow() now must not tell the freed scheduler
            destroyNative(); // 4. rings, descriptors, control block
            heldForTasks.clear(); // no worker is left to touch what they hold
            tombstones = t;
        }
        terminated.countDown();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // The JVM is exiting: the hook runs (or ran) and finds the runtime terminated.
        }
    }

    /** Completion stages run on a virtual thread of their own, never on the completion poller. */
    void runStage(Runnable stage) {
        stageThreads.newThread(stage).start();
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
        private Duration terminationTimeout = DEFAULT_TERMINATION_TIMEOUT;
        private String name;
        private Isolation isolation;
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

        /**
         * How long {@link Spindle#close()}, {@link Spindle#shutdownNow()} and the JVM's exit
         * wait for running tasks to end (positive, default 10 s). Past it the tasks are left
         * running and said so on stderr; their memory is freed once they end.
         */
        public Builder terminationTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "termination timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("termination timeout must be positive, was " + timeout);
            }
            this.terminationTimeout = timeout;
            return this;
        }

        /** A name for the runtime and its threads (default spindle-N). */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            if (name.isBlank()) throw new IllegalArgumentException("name must not be blank");
            this.name = name;
            return this;
        }

        /**
         * Runs the workers in a child process of their own ({@link Isolation}): a task that
         * crashes, exits or hangs fails its join with a {@link TaskCrashedException}, and the
         * JVM lives on. The same API as an in-process pool; memory tasks use comes from
         * {@link Spindle#allocateShared}.
         */
        public Builder isolated(Isolation isolation) {
            this.isolation = Objects.requireNonNull(isolation, "isolation");
            return this;
        }

        public Spindle build() {
            return new Spindle(this);
        }
    }
}
