package io.spindle.runtime;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each raw thread has a resolver state of its own, as a pthread does (start_thread points
 * glibc's __resp at the thread's own): with the process-wide one, threads resolving at once
 * shared a DNS socket and closed it under each other. A thread on a reused TCB finds it
 * untouched too (a pthread on a reused stack finds fields the previous one set).
 */
class ResolverStateTest {
    static long retryOn(NativeThread.Builder builder, long set) throws Exception {
        return builder.start(TestLib.fn("spn_test_resolver_retry"), set).join(Duration.ofSeconds(30));
    }

    @Test
    void aRawThreadsResolverStateIsItsOwn() throws Exception {
        for (boolean cached : new boolean[] {false, true}) {
            NativeThread.Builder threads = NativeThread.builder().cached(cached);
            String kind = cached ? "on a reused TCB" : "on a new TCB";
            assertEquals(0, retryOn(threads, 42), kind + ": a new thread starts with a resolver state nobody has touched");
            assertEquals(0, retryOn(threads, 43), kind + ": another thread does not see the first one's");
            assertEquals(0, retryOn(threads, 0), kind);
        }
    }
}
