package io.spindle.runtime;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

import java.util.Objects;

/**
 * A native entry point of the shape {@code intptr_t fn(void *arg)}, the kind of code Spindle
 * starts its raw threads with (native code there may still call Java through JNI's
 * AttachCurrentThread on a NativeThread: README, "What native code on a raw thread may do").
 *
 * <p>Holds the library it came from, so the code stays mapped while the function is
 * reachable.
 */
public final class NativeFunction {
    private final long address;
    private final String name;
    private final NativeLibrary library;

    private NativeFunction(long address, String name, NativeLibrary library) {
        if (address == 0) {
            throw new IllegalArgumentException("native function " + name + " has address 0 (a null function cannot run)");
        }
        this.address = address;
        this.name = name;
        this.library = library;
    }

    /** The exported symbol {@code symbol} of {@code library}; fails if it is not there. */
    public static NativeFunction of(NativeLibrary library, String symbol) {
        Objects.requireNonNull(library, "library");
        Objects.requireNonNull(symbol, "symbol");
        Function function;
        try {
            function = library.getFunction(symbol);
        } catch (UnsatisfiedLinkError e) {
            throw new IllegalArgumentException("no native function '" + symbol + "' in " + library.getName(), e);
        }
        return new NativeFunction(Pointer.nativeValue(function), library.getName() + ":" + symbol, library);
    }

    /** A function known only by its address (e.g. a table filled in by native code). */
    public static NativeFunction ofAddress(long address, String name) {
        return new NativeFunction(address, Objects.requireNonNull(name, "name"), null);
    }

    public long address() {
        return address;
    }

    public String name() {
        return name;
    }

    /** The library this function was looked up in, if any. */
    public NativeLibrary library() {
        return library;
    }

    @Override
    public String toString() {
        return name + "@0x" + Long.toHexString(address);
    }
}
