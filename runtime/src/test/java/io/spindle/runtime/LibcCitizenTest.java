package io.spindle.runtime;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Native code on raw threads may call libc as on a pthread: the TCB fields tls.c fills in
 * (spn_tcb_prepare), each checked by what breaks without it. Several threads at once, so
 * that malloc's locking (multiple_threads) is exercised for real.
 */
class LibcCitizenTest {
    static final String[] FEATURES = {
            "malloc/free", "snprintf", "errno", "pthread_self", "recursive mutex", "errorcheck mutex",
            "ctype (isalpha)", "sched_getcpu vs getcpu", "printf", "gettid"};

    /** struct citizen_report in runtime_test.c: iterations, self, tid, cpu_mismatches. */
    static final int REPORT_SIZE = 32;

    /** Runs the citizenship check on {@code threads} raw threads at once, {@code iterations} mallocs each. */
    static void checkCitizens(int threads, long iterations) {
        NativeFunction citizen = TestLib.fn("spn_test_libc_citizen");
        Memory[] reports = new Memory[threads];
        NativeThread[] running = new NativeThread[threads];
        for (int i = 0; i < threads; i++) {
            reports[i] = new Memory(REPORT_SIZE);
            reports[i].clear();
            reports[i].setLong(0, iterations);
            running[i] = NativeThread.start(citizen, Pointer.nativeValue(reports[i]));
        }
        Set<Long> selves = new HashSet<>();
        for (int i = 0; i < threads; i++) {
            long bad = running[i].join();
            assertEquals(0, bad, "thread " + i + " saw broken libc features: " + describe(bad)
                    + " (cpu mismatches " + reports[i].getLong(24) + ")");
            long self = reports[i].getLong(8);
            assertNotEquals(0, self, "pthread_self() is non-null");
            selves.add(self);
            assertEquals(running[i].tid(), reports[i].getLong(16));
        }
        assertEquals(threads, selves.size(), "pthread_self() is distinct on threads alive at once");
    }

    static String describe(long bits) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < FEATURES.length; i++) {
            if ((bits & (1L << i)) != 0) s.append(s.length() > 0 ? ", " : "").append(FEATURES[i]);
        }
        return s.length() == 0 ? "none" : s.toString();
    }

    @Test
    void aMillionMallocsAndTheRestOfLibcOnFourRawThreadsAtOnce() {
        checkCitizens(4, 1_000_000);
    }

    @Test
    void reusedTcbsStayCitizens() {
        // The cache hands the same TCBs out again; every round must pass as the first did.
        for (int round = 0; round < 20; round++) checkCitizens(4, 10_000);
    }

    public static void main(String[] args) {
        // Entry point for the forked JVM of LibcCitizenForkedTest (MALLOC_ARENA_MAX=1).
        checkCitizens(4, 1_000_000);
        System.out.println("CITIZENS OK");
    }
}
