package io.spindle.ffm;

import io.spindle.scheduler.CType;
import io.spindle.scheduler.PointerArgument;
import io.spindle.scheduler.Signature;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.TypedFunction;
import io.spindle.scheduler.TypedGroup;
import io.spindle.scheduler.TypedTask;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;

/**
 * Spindle's typed calls with {@code java.lang.foreign} (JDK 22+): functions found through a
 * {@link SymbolLookup}, {@link MemorySegment}s as pointer arguments and as blocks of
 * argument rows.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined(); Spindle spindle = Spindle.builder().build()) {
 *     TypedFunction crc32 = Ffm.function(SymbolLookup.libraryLookup("libz.so.1", arena), "crc32",
 *             Signature.of(CType.UINT64, CType.UINT64, CType.POINTER, CType.UINT32));
 *     MemorySegment data = arena.allocate(65536);
 *     long crc = Ffm.call(spindle, crc32, 0L, data, (int) data.byteSize()).join();
 * }
 * }</pre>
 *
 * <h2>Who owns what</h2>
 * A segment passed to a call belongs to its arena, not to Spindle. Spindle checks, before
 * anything is queued, that the segment is native and its arena still open, and keeps the
 * segment reachable until the call has ended and been joined: an {@link java.lang.foreign.Arena#ofAuto()
 * automatic} arena's memory therefore cannot be freed under a worker. A confined, shared or
 * global arena is closed by its owner alone: keep it open until the call is joined (Java
 * offers no way to pin a scope from another thread, so Spindle cannot stop a close; the
 * worker would then read freed memory). The rows of {@link #callRows} are copied before it
 * returns; that segment may be closed or reused at once. A library found through
 * {@link SymbolLookup#libraryLookup} stays loaded while its arena is open: keep it open while
 * its functions may run.
 */
public final class Ffm {
    private Ffm() {}

    /** {@code name} in {@code lookup}; IllegalArgumentException if the lookup has no such symbol. */
    public static TypedFunction function(SymbolLookup lookup, String name, Signature signature) {
        Objects.requireNonNull(lookup, "lookup");
        Objects.requireNonNull(name, "name");
        MemorySegment symbol = lookup.find(name)
                .orElseThrow(() -> new IllegalArgumentException("no symbol '" + name + "' in " + lookup));
        return function(symbol, signature);
    }

    /** The function at {@code address} (a symbol a lookup found, or any function pointer). */
    public static TypedFunction function(MemorySegment address, Signature signature) {
        Objects.requireNonNull(address, "function address");
        if (!address.isNative()) throw new IllegalArgumentException("a heap segment is not a function address: " + address);
        return TypedFunction.ofAddress(address.address(), signature);
    }

    /**
     * A pointer argument for {@code segment}'s start, which Spindle keeps reachable until the
     * call that takes it has been joined. Refused now, before anything is queued: a heap
     * segment (it has no native address a callee may keep using), and a segment whose arena is
     * closed.
     */
    public static PointerArgument pointer(MemorySegment segment) {
        Objects.requireNonNull(segment, "segment (MemorySegment.NULL for a null pointer)");
        if (segment.equals(MemorySegment.NULL)) return new SegmentPointer(segment);
        if (!segment.isNative()) {
            throw new IllegalArgumentException("a heap segment cannot be a pointer argument (the collector may move it): " + segment);
        }
        if (!segment.scope().isAlive()) {
            throw new IllegalStateException("the arena of " + segment + " is closed: its memory is gone");
        }
        return new SegmentPointer(segment);
    }

    /**
     * As {@link #pointer(MemorySegment)}, also refusing a segment shorter than
     * {@code minimumBytes}: the size the callee will read or write there.
     */
    public static PointerArgument pointer(MemorySegment segment, long minimumBytes) {
        PointerArgument pointer = pointer(segment);
        if (segment.byteSize() < minimumBytes) {
            throw new IllegalArgumentException("the call needs " + minimumBytes + " bytes at " + segment + ", it has "
                    + segment.byteSize());
        }
        return pointer;
    }

    /** A segment passed as a pointer: its address, with the segment kept reachable by Spindle. */
    private record SegmentPointer(MemorySegment segment) implements PointerArgument {
        @Override
        public long address() {
            return segment.address();
        }
    }

    /**
     * {@link Spindle#call} with {@link MemorySegment} arguments for pointers (each checked as
     * {@link #pointer(MemorySegment)} checks it); every other argument as Spindle.call takes it.
     */
    public static TypedTask call(Spindle spindle, TypedFunction fn, Object... args) {
        Objects.requireNonNull(args, "arguments");
        Object[] passed = args.clone();
        for (int i = 0; i < passed.length; i++) {
            if (passed[i] instanceof MemorySegment segment) passed[i] = pointer(segment);
        }
        return spindle.call(fn, passed);
    }

    /**
     * {@link Spindle#callAll} with {@code MemorySegment[]} columns for pointer arguments (each
     * segment checked as {@link #pointer(MemorySegment)} checks it, and kept reachable until
     * the batch is joined); every other column as callAll takes it.
     */
    public static TypedGroup callAll(Spindle spindle, TypedFunction fn, Object... columns) {
        Objects.requireNonNull(columns, "argument columns");
        Object[] passed = columns.clone();
        for (int k = 0; k < passed.length; k++) {
            if (passed[k] instanceof MemorySegment[] segments) {
                PointerArgument[] pointers = new PointerArgument[segments.length];
                for (int i = 0; i < segments.length; i++) {
                    if (segments[i] == null) throw new IllegalArgumentException("argument column " + k + ", row " + i + ": null segment");
                    pointers[i] = pointer(segments[i]);
                }
                passed[k] = pointers;
            }
        }
        return spindle.callAll(fn, passed);
    }

    /**
     * {@link Spindle#callRows} from a segment of argument rows laid out as {@link #rowLayout}
     * says. Refused before anything is queued: a closed segment, or one that is not a whole
     * number of rows.
     */
    public static TypedGroup callRows(Spindle spindle, TypedFunction fn, MemorySegment rows) {
        Objects.requireNonNull(rows, "argument rows");
        if (!rows.scope().isAlive()) throw new IllegalStateException("the arena of " + rows + " is closed: its rows are gone");
        long rowBytes = rowLayout(fn.signature()).byteSize();
        if (rowBytes == 0 || rows.byteSize() % rowBytes != 0) {
            throw new IllegalArgumentException("a block of " + rows.byteSize() + " bytes is not a whole number of " + rowBytes
                    + "-byte rows of " + fn.signature());
        }
        if (rows.byteSize() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a block of rows must be smaller than 2 GiB, got " + rows.byteSize() + " bytes");
        }
        return spindle.callRows(fn, rows.asByteBuffer().order(ByteOrder.nativeOrder()));
    }

    /**
     * The layout of one argument row for {@link #callRows}: an 8-byte slot per argument, in
     * argument order, named {@code arg0}, {@code arg1}, ...: a {@code long} for an integer or
     * pointer (its value in the type's range), a {@code double} for DOUBLE, a {@code float}
     * and 4 bytes of padding for FLOAT.
     */
    public static StructLayout rowLayout(Signature signature) {
        List<CType> types = signature.arguments();
        MemoryLayout[] slots = new MemoryLayout[types.size()];
        for (int k = 0; k < slots.length; k++) {
            String name = "arg" + k;
            slots[k] = switch (types.get(k)) {
                case DOUBLE -> ValueLayout.JAVA_DOUBLE.withName(name);
                case FLOAT -> MemoryLayout.structLayout(ValueLayout.JAVA_FLOAT.withName("value"), MemoryLayout.paddingLayout(4))
                        .withName(name);
                default -> ValueLayout.JAVA_LONG.withName(name);
            };
        }
        return MemoryLayout.structLayout(slots);
    }
}
