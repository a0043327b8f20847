package io.spindle.runtime;

import java.util.concurrent.atomic.AtomicLong;

/** What native code on a raw thread calls back (upcall_test.c): allocates, collects now and then. */
public final class UpcallTarget {
    static final AtomicLong CALLS = new AtomicLong();

    private UpcallTarget() {}

    public static long called(long value) {
        long n = CALLS.incrementAndGet();
        if (n % 1000 == 0) System.gc(); // a safepoint and a collection while a raw thread is attached
        String s = "call " + value; // some allocation on the attached thread
        return value + 1 + (s.isEmpty() ? 1 : 0);
    }
}
