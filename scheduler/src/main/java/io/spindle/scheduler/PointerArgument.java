package io.spindle.scheduler;

/**
 * A native address given as a {@link CType#POINTER} argument together with the Java object
 * that owns the memory there. Spindle passes {@link #address()} and keeps this object
 * reachable from the runtime until the call has ended and been joined (or the runtime has
 * terminated), so memory that a collector would free with its owner (an FFM segment of an
 * automatic arena, a JNA Memory) stays valid while a worker uses it. The FFM module
 * ({@code io.spindle.ffm.Ffm.pointer}) makes one from a MemorySegment.
 *
 * <p>Reachability is all Spindle can give: memory its owner frees explicitly (a closed
 * arena, a freed buffer) must stay open until the call is joined.
 */
public interface PointerArgument {
    /** The address the callee receives. */
    long address();
}
