package io.spindle.samples.workloads;

import com.sun.jna.NativeLibrary;
import io.spindle.scheduler.CType;
import io.spindle.scheduler.Signature;
import io.spindle.scheduler.TypedFunction;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The system's zlib ({@value #LIBRARY}) with no C written for it, declared as zlib.h declares
 * it on 64-bit Linux (uLong and uLongf are 64 bits, uInt 32): each function both as a
 * java.lang.foreign downcall handle and as a Spindle {@link TypedFunction}. Both load the
 * library by the same name, so the dynamic linker hands both the same copy.
 */
final class Zlib {
    static final String LIBRARY = "libz.so.1";
    static final int Z_OK = 0;

    // int compress2(Bytef *dest, uLongf *destLen, const Bytef *source, uLong sourceLen, int level)
    private static final Signature COMPRESS2 =
            Signature.of(CType.INT32, CType.POINTER, CType.POINTER, CType.POINTER, CType.UINT64, CType.INT32);
    private static final FunctionDescriptor COMPRESS2_FFM = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT);
    // uLong crc32(uLong crc, const Bytef *buf, uInt len)
    private static final Signature CRC32 = Signature.of(CType.UINT64, CType.UINT64, CType.POINTER, CType.UINT32);
    private static final FunctionDescriptor CRC32_FFM = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_INT);
    // uLong compressBound(uLong sourceLen)
    private static final FunctionDescriptor COMPRESS_BOUND_FFM = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG);

    private static final Zlib SYSTEM;
    private static final String MISSING;

    static {
        Zlib zlib = null;
        String missing = null;
        try {
            zlib = open(LIBRARY);
        } catch (IllegalStateException e) {
            missing = e.getMessage();
        }
        SYSTEM = zlib;
        MISSING = missing;
    }

    /** For Spindle's callAll. */
    final TypedFunction compress2Typed, crc32Typed;
    /**
     * For calls from Java threads. Default linkage for all: Linker.Option.critical is only for
     * functions as short as an empty call (it skips the thread-state change and so holds off
     * safepoints, GC included, for the whole call); compress2 of 64 KiB takes milliseconds
     * and crc32 of 64 KiB some 20 µs, against a transition of some 10 ns.
     */
    private final MethodHandle compress2, crc32, compressBound;

    private Zlib(TypedFunction compress2Typed, TypedFunction crc32Typed, MethodHandle compress2, MethodHandle crc32,
                 MethodHandle compressBound) {
        this.compress2Typed = compress2Typed;
        this.crc32Typed = crc32Typed;
        this.compress2 = compress2;
        this.crc32 = crc32;
        this.compressBound = compressBound;
    }

    /** The system's zlib; IllegalStateException saying what is missing if this machine has none. */
    static Zlib system() {
        if (SYSTEM == null) throw new IllegalStateException(MISSING);
        return SYSTEM;
    }

    /** Why the system's zlib cannot be used here, or null if it can. */
    static String missing() {
        return MISSING;
    }

    /** zlib from {@code library}; IllegalStateException naming what could not be found. */
    static Zlib open(String library) {
        SymbolLookup lookup;
        NativeLibrary jna;
        try {
            lookup = SymbolLookup.libraryLookup(library, Arena.global());
            jna = NativeLibrary.getInstance(library);
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            throw new IllegalStateException("zlib (" + library + ") is not installed or cannot be loaded: install it "
                    + "(apt-get install zlib1g, dnf install zlib) to run this workload");
        }
        Linker linker = Linker.nativeLinker();
        return new Zlib(typed(jna, "compress2", COMPRESS2), typed(jna, "crc32", CRC32),
                linker.downcallHandle(find(lookup, library, "compress2"), COMPRESS2_FFM),
                linker.downcallHandle(find(lookup, library, "crc32"), CRC32_FFM),
                linker.downcallHandle(find(lookup, library, "compressBound"), COMPRESS_BOUND_FFM));
    }

    private static MemorySegment find(SymbolLookup lookup, String library, String symbol) {
        return lookup.find(symbol).orElseThrow(() -> new IllegalStateException(library + " has no " + symbol + ": is it zlib?"));
    }

    private static TypedFunction typed(NativeLibrary library, String symbol, Signature signature) {
        try {
            return TypedFunction.of(library, symbol, signature);
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalStateException(library.getName() + " has no " + symbol + ": is it zlib?");
        }
    }

    // ---- calls from Java threads (a downcall throws nothing checked; the catch only satisfies javac) ----

    int compress2(MemorySegment dest, MemorySegment destLen, MemorySegment source, long sourceLen, int level) {
        try {
            return (int) compress2.invokeExact(dest, destLen, source, sourceLen, level);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    long crc32(long crc, MemorySegment buffer, int length) {
        try {
            return (long) crc32.invokeExact(crc, buffer, length);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    long compressBound(long sourceLen) {
        try {
            return (long) compressBound.invokeExact(sourceLen);
        } catch (Throwable t) {
            throw unchecked(t);
        }
    }

    private static RuntimeException unchecked(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
