package io.spindle.benchmarks.internal;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM (java.lang.foreign) downcall handles for native functions known by their address: the
 * one place the benchmarks link them. <b>Internal.</b> Two linkages:
 *
 * <ul>
 *   <li>{@link #downcall}: the default: the thread goes to the native state and back
 *       around the call (so a GC may run meanwhile), the transition a JNI call makes too;
 *   <li>{@link #criticalDowncall}: {@link Linker.Option#critical critical(false)}, no
 *       thread-state transition at all: the cheapest linkage, meant for short calls that
 *       never block (no safepoint can happen during the call, so a long one delays every
 *       GC pause).
 * </ul>
 * Arguments are plain {@code long}s (pointers by value), so no heap segment is ever passed.
 */
public final class Ffm {
    /** {@code int64_t f(int64_t)}: the task functions ({@code intptr_t fn(void *)} on LP64). */
    public static final FunctionDescriptor LONG_OF_LONG = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG);
    /** {@code int64_t f(int64_t, int64_t)}. */
    public static final FunctionDescriptor LONG_OF_LONG_LONG = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG);

    private static final Linker LINKER = Linker.nativeLinker();

    private Ffm() {}

    /** The function at {@code address}, default linkage. */
    @SuppressWarnings("restricted") // the suites' JVMs run with --enable-native-access=ALL-UNNAMED
    public static MethodHandle downcall(long address, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(MemorySegment.ofAddress(address), descriptor);
    }

    /** The function at {@code address}, critical linkage (no heap access). */
    @SuppressWarnings("restricted") // as above
    public static MethodHandle criticalDowncall(long address, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(MemorySegment.ofAddress(address), descriptor, Linker.Option.critical(false));
    }

    /**
     * What {@code invokeExact}'s {@code Throwable} becomes. A downcall of these functions
     * throws nothing of its own: only a call whose types do not match the handle's (a bug)
     * or a VM error can land here.
     */
    public static AssertionError failed(String function, Throwable t) {
        return new AssertionError("downcall of " + function + " failed", t);
    }
}
