package io.spindle.scheduler;

import com.sun.jna.Platform;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

import static io.spindle.scheduler.internal.Layout.*;

/**
 * A C function's signature: its return type and its arguments, scalars only. Spindle calls
 * any function with a signature it can describe, with no C glue: the worker loads the
 * argument registers from a row and calls (spindle_sched.h, struct spn_call). Every argument
 * must travel in a register: at most {@link #MAX_INTEGER_ARGS} integers and pointers (6 on
 * x86-64, 8 on AArch64) and {@link #MAX_FLOATING_POINT_ARGS} floats and doubles, in any order.
 * Structs by value and arguments that would go on the stack are refused when the signature
 * is made.
 *
 * <pre>{@code
 * Signature compress2 = Signature.of(CType.INT32, CType.POINTER, CType.POINTER, CType.POINTER, CType.UINT64, CType.INT32);
 * }</pre>
 */
public final class Signature {
    /** Integer and pointer arguments the platform passes in registers. */
    public static final int MAX_INTEGER_ARGS = Platform.isARM() ? 8 : 6;
    /** Float and double arguments the platform passes in registers. */
    public static final int MAX_FLOATING_POINT_ARGS = 8;
    /** {@code intptr_t fn(void *)}: the untyped task form of {@link Spindle#spawn}, as a signature. */
    public static final Signature TASK = of(CType.INT64, CType.POINTER);

    private final CType returns;
    private final CType[] args;
    private final int integerArgs;
    private final int returnKind;

    private Signature(CType returns, CType[] args, int integerArgs) {
        this.returns = returns;
        this.args = args;
        this.integerArgs = integerArgs;
        this.returnKind = returns == CType.VOID ? RET_NONE : returns.isFloatingPoint() ? RET_FP : RET_INT;
    }

    /** The signature {@code returns fn(args...)}; IllegalArgumentException naming the rule it breaks. */
    public static Signature of(CType returns, CType... args) {
        Objects.requireNonNull(returns, "return type (CType.VOID for none)");
        Objects.requireNonNull(args, "argument types");
        int ints = 0, fps = 0;
        for (int i = 0; i < args.length; i++) {
            CType a = Objects.requireNonNull(args[i], "argument type " + i);
            if (a == CType.VOID) throw new IllegalArgumentException("argument " + i + " is VOID: only a return type may be");
            if (a.isFloatingPoint()) fps++;
            else ints++;
        }
        if (ints > MAX_INTEGER_ARGS || fps > MAX_FLOATING_POINT_ARGS) {
            throw new IllegalArgumentException("a signature may have at most " + MAX_INTEGER_ARGS + " integer or pointer and "
                    + MAX_FLOATING_POINT_ARGS + " floating-point arguments here (the ones " + Platform.ARCH
                    + " passes in registers), this one has " + ints + " and " + fps);
        }
        return new Signature(returns, args.clone(), ints);
    }

    public CType returns() {
        return returns;
    }

    public List<CType> arguments() {
        return List.of(args);
    }

    /**
     * Writes a call's row (struct spn_call) at {@code offset} of {@code chunk}: the function,
     * which register to return, then each argument in the register the ABI gives it.
     * IllegalArgumentException for a wrong count or an argument its type cannot hold.
     */
    void writeRow(java.nio.ByteBuffer chunk, int offset, long fn, Object[] values) {
        if (values.length != args.length) {
            throw new IllegalArgumentException(this + " takes " + args.length + " argument(s), got " + values.length);
        }
        int ints = 0, fps = 0;
        for (int i = 0; i < args.length; i++) {
            long register = args[i].toRegister(values[i], i);
            if (args[i].isFloatingPoint()) chunk.putLong(offset + CALL_FPS + 8 * fps++, register);
            else chunk.putLong(offset + CALL_INTS + 8 * ints++, register);
        }
        chunk.putLong(offset + CALL_FN, fn);
        chunk.putInt(offset + CALL_RET_KIND, returnKind);
    }

    /**
     * The rows of a batch's argument columns: argument k of row i is {@code columns[k][i]}. A
     * column is an array its argument's type can take every element of: long[], int[],
     * short[] or byte[] for an integer type (each element range-checked as {@link CType}
     * says), long[] of addresses or PointerArgument[] for POINTER, double[] or float[] for
     * FLOAT and DOUBLE. Every column has as many rows as the first.
     */
    int rowCount(Object[] columns) {
        if (columns.length != args.length) {
            throw new IllegalArgumentException(this + " takes " + args.length + " argument column(s), got " + columns.length);
        }
        if (args.length == 0) throw new IllegalArgumentException(this + " has no argument: a batch needs columns to count its rows");
        int rows = -1;
        for (int k = 0; k < columns.length; k++) {
            Object column = Objects.requireNonNull(columns[k], "argument column " + k);
            if (!column.getClass().isArray()
                    || !(column.getClass().getComponentType().isPrimitive() || column instanceof PointerArgument[])) {
                throw new IllegalArgumentException("argument column " + k + " must be a primitive array (or a PointerArgument[]"
                        + " for a pointer), not " + column.getClass().getSimpleName());
            }
            int n = java.lang.reflect.Array.getLength(column);
            if (rows >= 0 && n != rows) {
                throw new IllegalArgumentException("argument column " + k + " has " + n + " rows, column 0 has " + rows);
            }
            rows = n;
        }
        return rows;
    }

    /** Integer and pointer arguments: the registers a call loads from the start of its row. */
    int integerArgs() {
        return integerArgs;
    }

    /** Float and double arguments: the vector registers a call loads from its row. */
    int floatingPointArgs() {
        return args.length - integerArgs();
    }

    /** Which result register a batch row keeps (spn_call_group_create's ret_kind). */
    int returnKind() {
        return returnKind;
    }

    /**
     * Checks every element of every column against its argument's type, so that a batch is
     * refused whole before any of it is queued: IllegalArgumentException naming the column
     * and row. Columns the type takes whole (long[] for 64-bit integers and pointers, double[]
     * or float[] for floating point) cost nothing here.
     */
    void checkColumns(Object[] columns, int rows) {
        for (int k = 0; k < args.length; k++) args[k].checkColumn(columns[k], k, rows);
    }

    /**
     * Writes rows {@code from .. to-1} of a callAll batch's argument columns into its group
     * (spindle_sched.h, struct spn_group): integer arguments in order from the start of each
     * {@code stride}-byte row, floating-point ones from {@code fpsOffset}. Plain Java writes
     * of checked columns: no JNA call, no object per row.
     */
    void writeRows(java.nio.ByteBuffer group, int stride, int fpsOffset, Object[] columns, int from, int to) {
        int ints = 0, fps = 0;
        for (int k = 0; k < args.length; k++) {
            int slot = args[k].isFloatingPoint() ? fpsOffset + 8 * fps++ : 8 * ints++;
            args[k].writeColumn(columns[k], group, GROUP_RESULTS + slot, stride, from, to);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Signature s && s.returns == returns && Arrays.equals(s.args, args);
    }

    @Override
    public int hashCode() {
        return 31 * returns.hashCode() + Arrays.hashCode(args);
    }

    @Override
    public String toString() {
        return returns.name().toLowerCase() + "(" + Arrays.stream(args).map(a -> a.name().toLowerCase())
                .collect(Collectors.joining(", ")) + ")";
    }
}
