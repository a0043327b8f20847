package io.spindle.scheduler;

import io.spindle.runtime.NativeFunction;
import io.spindle.runtime.NativeThread;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

/**
 * getaddrinfo from four workers at once, against a DNS server of the test's own, as from four
 * pthreads: no look-up may fail. With one resolver state for the process (what a raw thread
 * had before it got its own), the threads sent on one socket and closed it under each other:
 * 3 to 4 of 1,000 look-ups failed with EAI_AGAIN.
 */
class DnsLookupTest {
    static final int THREADS = 4;
    static final int LOOKUPS = 250; // per thread or task, each an A and an AAAA query
    static final Duration WAIT = Duration.ofMinutes(2);

    @Test
    void fourWorkersResolveAtOnceAsFourPthreadsDo() throws Exception {
        NativeFunction lookups = SchedTestLib.fn("spn_test_dns_lookups");
        try (TinyDnsServer dns = new TinyDnsServer()) {
            long arg = dns.port() | (long) LOOKUPS << 16;
            assertEquals(0, SchedTestLib.Direct.INSTANCE.spn_test_dns_lookups_on_pthreads(THREADS, arg),
                    "the reference: look-ups that failed on four pthreads");
            assertTrue(dns.queries.get() >= THREADS * LOOKUPS, "the look-ups reached the test's server");

            NativeThread[] raw = new NativeThread[THREADS];
            for (int i = 0; i < THREADS; i++) raw[i] = NativeThread.start(lookups, arg);
            long rawFailed = 0;
            for (NativeThread t : raw) rawFailed += t.join(WAIT);
            assertEquals(0, rawFailed, "look-ups that failed on four raw threads");

            try (Spindle spindle = Spindle.builder().workers(THREADS).build()) {
                Task[] tasks = new Task[4 * THREADS];
                for (int i = 0; i < tasks.length; i++) tasks[i] = spindle.spawn(lookups, arg);
                long failed = 0;
                for (Task t : tasks) failed += t.join(WAIT);
                assertEquals(0, failed, "look-ups that failed in tasks on four workers");
            }
        }
    }
}
