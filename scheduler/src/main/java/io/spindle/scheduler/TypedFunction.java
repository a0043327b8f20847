package io.spindle.scheduler;

import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

import java.util.Objects;

/**
 * An existing C function and its {@link Signature}: what {@link Spindle#call} runs. Look it
 * up by library and symbol (a JNA {@link NativeLibrary}, e.g. {@code NativeLibrary.getInstance("z")}
 * for zlib) or take an address from elsewhere. Nothing checks that the function really has
 * the signature declared (C keeps no types at run time): declare it as its header does.
 */
public final class TypedFunction {
    private final long address;
    private final Signature signature;
    private final String name;

    private TypedFunction(long address, Signature signature, String name) {
        this.address = address;
        this.signature = signature;
        this.name = name;
    }

    /** {@code symbol} of {@code library}; UnsatisfiedLinkError if the library has no such symbol. */
    public static TypedFunction of(NativeLibrary library, String symbol, Signature signature) {
        Objects.requireNonNull(library, "library");
        Objects.requireNonNull(symbol, "symbol");
        Objects.requireNonNull(signature, "signature");
        long address = Pointer.nativeValue(library.getFunction(symbol));
        return new TypedFunction(address, signature, library.getName() + ":" + symbol);
    }

    /** The function at {@code address}, which must not be 0. */
    public static TypedFunction ofAddress(long address, Signature signature) {
        if (address == 0) throw new IllegalArgumentException("a function at address 0: a task needs code to run");
        Objects.requireNonNull(signature, "signature");
        return new TypedFunction(address, signature, "0x" + Long.toHexString(address));
    }

    public long address() {
        return address;
    }

    public Signature signature() {
        return signature;
    }

    /** For join(): refused for a float or double result, which joinDouble() reads. */
    void requireIntegerResult() {
        if (signature.returns().isFloatingPoint()) {
            throw new IllegalStateException(this + " returns " + signature.returns() + ": use joinDouble()");
        }
    }

    /** For joinDouble(): refused for an integer, pointer or void result, which join() reads. */
    void requireFloatingPointResult() {
        if (!signature.returns().isFloatingPoint()) {
            throw new IllegalStateException(this + " returns " + signature.returns() + ": use join()");
        }
    }

    @Override
    public String toString() {
        return name + " " + signature;
    }
}
