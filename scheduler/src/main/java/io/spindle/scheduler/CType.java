package io.spindle.scheduler;

import com.sun.jna.Pointer;

/**
 * The C scalar types a {@link Signature} is made of: what Java may pass for each and how a
 * value travels in a 64-bit register. Integers are widened to 64 bits as their C type says
 * (sign- or zero-extended) before the call, and a result is narrowed back the same way, so
 * an {@code int} result of -2 is -2 and a {@code uint32_t} one of 0xfffffffe is 4294967294.
 */
public enum CType {
    VOID(0, false),
    INT8(8, true), UINT8(8, false),
    INT16(16, true), UINT16(16, false),
    INT32(32, true), UINT32(32, false),
    INT64(64, true), UINT64(64, false),
    /**
     * A pointer (or {@code intptr_t}): a JNA {@link Pointer}, a {@link PointerArgument} (an FFM
     * segment, say), or an address as a {@code long}.
     */
    POINTER(64, false),
    FLOAT(32, true), DOUBLE(64, true);

    private final int bits;
    private final boolean signed;

    CType(int bits, boolean signed) {
        this.bits = bits;
        this.signed = signed;
    }

    /** True for float and double: they travel in the vector registers. */
    public boolean isFloatingPoint() {
        return this == FLOAT || this == DOUBLE;
    }

    /**
     * The 64-bit register value for a Java argument, or IllegalArgumentException naming the
     * rule: an integer type takes a Byte, Short, Integer or Long in its range (unsigned types
     * take 0 up to their maximum; UINT64 takes any long, as its bits); POINTER a Pointer,
     * null or a long; FLOAT and DOUBLE any Number (a float's bits go in the low half).
     */
    long toRegister(Object value, int position) {
        if (this == POINTER) {
            if (value == null) return 0;
            if (value instanceof Pointer p) return Pointer.nativeValue(p);
            if (value instanceof Long address) return address;
            if (value instanceof PointerArgument p) return p.address();
            throw mismatch(value, position, "a com.sun.jna.Pointer, a PointerArgument, null, or an address as a long");
        }
        if (isFloatingPoint()) {
            if (!(value instanceof Number n)) throw mismatch(value, position, "a number");
            return this == FLOAT ? floatBits(n.floatValue()) : Double.doubleToRawLongBits(n.doubleValue());
        }
        if (!(value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte)) {
            throw mismatch(value, position, "a Byte, Short, Integer or Long");
        }
        return inRange(((Number) value).longValue(), position, -1);
    }

    /**
     * Checks that a batch's argument column {@code column} (argument {@code k}) is an array
     * this type takes, and every element of its first {@code rows} in range; the same rules as
     * {@link #toRegister(Object, int)}, for arrays: long[], int[], short[] or byte[] for an
     * integer type, long[] of addresses or PointerArgument[] for POINTER, double[] or float[]
     * for FLOAT and DOUBLE.
     */
    void checkColumn(Object column, int k, int rows) {
        if (isFloatingPoint()) {
            if (!(column instanceof double[] || column instanceof float[])) throw columnMismatch(column, k, "a double[] or float[]");
            return;
        }
        if (this == POINTER && column instanceof PointerArgument[] pointers) {
            for (int row = 0; row < rows; row++) {
                if (pointers[row] == null) throw new IllegalArgumentException("argument column " + k + ", row " + row + ": a null PointerArgument");
            }
            return;
        }
        if (this == POINTER && !(column instanceof long[])) throw columnMismatch(column, k, "a long[] of addresses or a PointerArgument[]");
        if (!(column instanceof long[] || column instanceof int[] || column instanceof short[] || column instanceof byte[])) {
            throw columnMismatch(column, k, "a long[], int[], short[] or byte[]");
        }
        if (bits == 64) return; // every long is a 64-bit register
        for (int row = 0; row < rows; row++) inRange(element(column, row), k, row);
    }

    private static long element(Object column, int row) {
        if (column instanceof long[] a) return a[row];
        if (column instanceof int[] a) return a[row];
        if (column instanceof short[] a) return a[row];
        return ((byte[]) column)[row];
    }

    /**
     * Writes elements {@code from .. to-1} of a checked column as register values, element i
     * at {@code offset + i * stride} of {@code rows}: one loop per array type, so the JIT
     * compiles each to plain stores.
     */
    void writeColumn(Object column, java.nio.ByteBuffer rows, int offset, int stride, int from, int to) {
        int at = offset + from * stride;
        if (column instanceof long[] a) {
            for (int i = from; i < to; i++, at += stride) rows.putLong(at, a[i]);
        } else if (column instanceof int[] a) {
            for (int i = from; i < to; i++, at += stride) rows.putLong(at, a[i]);
        } else if (column instanceof short[] a) {
            for (int i = from; i < to; i++, at += stride) rows.putLong(at, a[i]);
        } else if (column instanceof byte[] a) {
            for (int i = from; i < to; i++, at += stride) rows.putLong(at, a[i]);
        } else if (column instanceof PointerArgument[] a) {
            for (int i = from; i < to; i++, at += stride) rows.putLong(at, a[i].address());
        } else if (column instanceof double[] a) {
            if (this == FLOAT) for (int i = from; i < to; i++, at += stride) rows.putLong(at, floatBits((float) a[i]));
            else for (int i = from; i < to; i++, at += stride) rows.putLong(at, Double.doubleToRawLongBits(a[i]));
        } else {
            float[] a = (float[]) column;
            if (this == FLOAT) for (int i = from; i < to; i++, at += stride) rows.putLong(at, floatBits(a[i]));
            else for (int i = from; i < to; i++, at += stride) rows.putLong(at, Double.doubleToRawLongBits(a[i]));
        }
    }

    /** A float travels in the low half of its register. */
    private static long floatBits(float f) {
        return Float.floatToRawIntBits(f) & 0xffffffffL;
    }

    /**
     * v itself, checked against this integer type's range (in range, a long's value is already
     * its sign- or zero-extended 64-bit register). k is the argument, row its row in a batch
     * or -1: they only name the culprit.
     */
    private long inRange(long v, int k, int row) {
        if (bits < 64) {
            long min = signed ? -(1L << (bits - 1)) : 0, max = signed ? (1L << (bits - 1)) - 1 : (1L << bits) - 1;
            if (v < min || v > max) {
                throw new IllegalArgumentException((row < 0 ? "argument " + k : "argument column " + k + ", row " + row)
                        + ": " + v + " does not fit " + this + " (" + min + " to " + max + ")");
            }
        }
        return v;
    }

    private IllegalArgumentException columnMismatch(Object column, int k, String wanted) {
        return new IllegalArgumentException("argument column " + k + " is " + this + ": it takes " + wanted + ", not "
                + column.getClass().getSimpleName());
    }

    /** The value of a FLOAT or DOUBLE result register's raw bits (a float is the low half). */
    double fromFloatingPointRegister(long bits) {
        return this == FLOAT ? Float.intBitsToFloat((int) bits) : Double.longBitsToDouble(bits);
    }

    /** The Java value of an integer-class result register: narrowed and extended as declared. */
    long fromRegister(long raw) {
        return switch (this) {
            case INT8 -> (byte) raw;
            case UINT8 -> raw & 0xff;
            case INT16 -> (short) raw;
            case UINT16 -> raw & 0xffff;
            case INT32 -> (int) raw;
            case UINT32 -> raw & 0xffffffffL;
            case VOID -> 0;
            default -> raw;
        };
    }

    private IllegalArgumentException mismatch(Object value, int position, String wanted) {
        return new IllegalArgumentException("argument " + position + " is " + this + ": it takes " + wanted + ", not "
                + (value == null ? "null" : value.getClass().getSimpleName() + " " + value));
    }
}
