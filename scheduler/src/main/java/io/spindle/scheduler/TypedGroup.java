package io.spindle.scheduler;

import com.sun.jna.Memory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.TimeoutException;

import static io.spindle.scheduler.internal.Layout.CALL_RET_FP;
import static io.spindle.scheduler.internal.Layout.CALL_SIZE;

/**
 * A batch of typed calls submitted with {@link Spindle#callAll}: one call per row of its
 * argument columns, all in one native block of rows, queued and run in chunks as
 * {@link Spindle#spawnAll} does. Its results come back as one array, each narrowed and
 * extended as the return type says. The block stays reachable from the runtime until the
 * batch has been joined or the runtime has terminated.
 */
public final class TypedGroup {
    private final Spindle spindle;
    private final TaskGroup group;
    private final Memory block; // null for an empty batch
    private final ByteBuffer rows;
    private final TypedFunction function;
    private long[] ints;   // the results, once copied (then the block is freed)
    private double[] fps;

    TypedGroup(Spindle spindle, TaskGroup group, Memory block, ByteBuffer rows, TypedFunction function) {
        this.spindle = spindle;
        this.group = group;
        this.block = block;
        this.rows = rows;
        this.function = function;
    }

    public int size() {
        return group.size();
    }

    /**
     * Waits for every call; their integer or pointer results in row order (0 each for VOID).
     * Throws {@link BatchCancelledException} if some never ran. For float or double results
     * use {@link #joinDouble()}.
     */
    public long[] join() {
        function.requireIntegerResult();
        return narrow(group.join());
    }

    public long[] join(Duration timeout) throws TimeoutException {
        function.requireIntegerResult();
        return narrow(group.join(timeout));
    }

    /** Waits for every call; their float or double results in row order. */
    public double[] joinDouble() {
        function.requireFloatingPointResult();
        group.join();
        return doubles();
    }

    public double[] joinDouble(Duration timeout) throws TimeoutException {
        function.requireFloatingPointResult();
        group.join(timeout);
        return doubles();
    }

    /** True once every call has ended. Never blocks. */
    public boolean isDone() {
        return group.isDone();
    }

    private synchronized long[] narrow(long[] raw) {
        if (ints == null) {
            CType returns = function.signature().returns();
            for (int i = 0; i < raw.length; i++) raw[i] = returns.fromRegister(raw[i]);
            ints = raw;
            release();
        }
        return ints.clone();
    }

    private synchronized double[] doubles() {
        if (fps == null) {
            CType returns = function.signature().returns();
            double[] out = new double[size()];
            for (int i = 0; i < out.length; i++) { // the join ordered the workers' stores before these reads
                out[i] = returns.fromFloatingPointRegister(rows.getLong(i * CALL_SIZE + CALL_RET_FP));
            }
            fps = out;
            release();
        }
        return fps.clone();
    }

    /**
     * Every call ended and its result is on the heap: the block goes back to malloc now, not
     * when the collector gets to it, so the next batch reuses warm pages (a fresh block of
     * rows costs a page fault per 21 rows on this VM, more than the calls).
     */
    private void release() {
        spindle.heldForTasks.remove(this);
        if (block != null) block.close();
    }

    @Override
    public String toString() {
        return "TypedGroup[" + function + ", " + group + (block == null ? ", empty" : "") + "]";
    }
}
