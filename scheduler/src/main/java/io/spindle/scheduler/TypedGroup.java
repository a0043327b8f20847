package io.spindle.scheduler;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeoutException;

/**
 * A batch of typed calls submitted with {@link Spindle#callAll}: one call per row of its
 * argument columns, all in one native block of rows (the group of a {@link TaskGroup}).
 * Their results come back as one array, each narrowed and extended as the return type says.
 * The block is freed once the results are on the heap, as a TaskGroup's is.
 */
public final class TypedGroup {
    private final TaskGroup group;
    private final TypedFunction function;

    TypedGroup(TaskGroup group, TypedFunction function) {
        this.group = group;
        this.function = function;
    }

    public int size() {
        return group.size();
    }

    /**
     * Waits for every call; their integer or pointer results in row order (0 each for VOID).
     * Throws {@link BatchCancelledException} if some never ran, with the results of the others
     * narrowed as here. For float or double results use {@link #joinDouble()}.
     */
    public long[] join() {
        function.requireIntegerResult();
        return narrow(unboundedRegisters());
    }

    public long[] join(Duration timeout) throws TimeoutException {
        function.requireIntegerResult();
        return narrow(registers(Objects.requireNonNull(timeout, "timeout")));
    }

    /**
     * Waits for every call; their float or double results in row order. Throws
     * {@link BatchCancelledException} if some never ran; its results are then the bits of the
     * others' values as doubles ({@link Double#longBitsToDouble}).
     */
    public double[] joinDouble() {
        function.requireFloatingPointResult();
        return doubles(unboundedRegisters());
    }

    public double[] joinDouble(Duration timeout) throws TimeoutException {
        function.requireFloatingPointResult();
        return doubles(registers(Objects.requireNonNull(timeout, "timeout")));
    }

    private long[] unboundedRegisters() {
        try {
            return registers(null);
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded join timed out", e);
        }
    }

    /** The group's raw result registers (a copy), waiting without a bound when timeout is null. */
    private long[] registers(Duration timeout) throws TimeoutException {
        try {
            return timeout == null ? group.join() : group.join(timeout);
        } catch (BatchCancelledException e) {
            throw decoded(e);
        }
    }

    /** True once every call has ended. Never blocks. */
    public boolean isDone() {
        return group.isDone();
    }

    /** The group's raw registers, narrowed as the return type says (the group gave a copy). */
    private long[] narrow(long[] raw) {
        CType returns = function.signature().returns();
        for (int i = 0; i < raw.length; i++) raw[i] = returns.fromRegister(raw[i]);
        return raw;
    }

    private double[] doubles(long[] raw) {
        CType returns = function.signature().returns();
        double[] values = new double[raw.length];
        for (int i = 0; i < raw.length; i++) values[i] = returns.fromFloatingPointRegister(raw[i]);
        return values;
    }

    private BatchCancelledException decoded(BatchCancelledException e) {
        long[] results = e.results();
        if (function.signature().returns().isFloatingPoint()) {
            double[] values = doubles(results);
            for (int i = 0; i < results.length; i++) results[i] = e.ran(i) ? Double.doubleToRawLongBits(values[i]) : 0;
        } else {
            narrow(results);
        }
        BatchCancelledException typed = new BatchCancelledException(e.getMessage(), results, e.skipped());
        typed.initCause(e);
        return typed;
    }

    @Override
    public String toString() {
        return "TypedGroup[" + function + ", " + group + "]";
    }
}
