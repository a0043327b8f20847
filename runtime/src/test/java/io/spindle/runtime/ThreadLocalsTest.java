package io.spindle.runtime;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A new thread finds its thread-locals at their initial values, on a raw thread as on a
 * pthread, side by side (src/test/c/thread_locals.c): __thread data and bss, a C++ thread_local
 * with a constructor, pthread keys below and above 31, a library dlopen'ed after raw threads
 * ran (both TLS models), and libc's errno, h_errno, locale and dlerror. Every thread leaves
 * them all dirty, and a thousand run one after another, so every raw thread but the first
 * runs on a TCB another one used. The destructors of both kinds run as on a pthread.
 */
class ThreadLocalsTest {
    static final int THREADS = 1_000;
    /** The STALE_ bits of spn_test_tls_check_and_dirty, in order. */
    static final String[] THREAD_LOCALS = {
        "__thread data", "__thread bss", "C++ thread_local", "pthread key below 32", "pthread key above 31",
        "late library's dynamic TLS", "late library's static TLS", "errno", "h_errno", "uselocale's locale", "dlerror",
    };
    static final int PTHREAD_DESTRUCTOR_ITERATIONS = 4;
    static final long LATE_STATIC_INITIAL = 43; // late_tls.c

    interface Helpers extends Library {
        Helpers INSTANCE = Native.load(TestLib.NAME, Helpers.class);

        int spn_test_tls_setup();

        int spn_test_tls_load_late(int slot, String path);

        int spn_test_on_pthread(Pointer fn, Pointer arg, long[] result);

        Pointer spn_test_pthread_start(Pointer fn, Pointer arg);

        long spn_test_pthread_join(Pointer handle);

        long spn_test_key_destructor_calls();

        long spn_test_key_rearm_calls();

        long spn_test_cxx_tallies_constructed();

        long spn_test_cxx_tallies_destroyed();
    }

    static final Helpers H = Helpers.INSTANCE;
    static final NativeFunction CHECK_AND_DIRTY = TestLib.fn("spn_test_tls_check_and_dirty");

    @FunctionalInterface
    interface ThreadRun {
        long run(NativeFunction fn, long arg) throws Exception;
    }

    static final ThreadRun RAW = (fn, arg) -> NativeThread.start(fn, arg).join(Duration.ofSeconds(30));
    static final ThreadRun RAW_UNCACHED =
            (fn, arg) -> NativeThread.builder().cached(false).start(fn, arg).join(Duration.ofSeconds(30));
    static final ThreadRun PTHREAD = (fn, arg) -> {
        long[] result = new long[1];
        assertEquals(0, H.spn_test_on_pthread(new Pointer(fn.address()), new Pointer(arg), result), "pthread_create");
        return result[0];
    };

    static String lateLibrary(String name) throws Exception {
        return Path.of(ThreadLocalsTest.class.getResource("/late/libspindle_late_" + name + ".so").toURI()).toString();
    }

    @BeforeAll
    static void setUp() throws Exception {
        assertEquals(0, H.spn_test_tls_setup(), "keys and locale for the test");
        // Raw threads run and leave their TCBs in the cache before the late library loads.
        for (int i = 0; i < 20; i++) RAW.run(CHECK_AND_DIRTY, 0);
        assertEquals(0, H.spn_test_tls_load_late(0, lateLibrary("a")), "dlopen of late library a");
    }

    /** How many of THREADS threads found each thread-local not at its initial value. */
    static int[] staleCounts(ThreadRun run) throws Exception {
        int[] counts = new int[THREAD_LOCALS.length];
        for (int t = 0; t < THREADS; t++) {
            long stale = run.run(CHECK_AND_DIRTY, 0);
            for (int b = 0; b < counts.length; b++) {
                if ((stale & (1L << b)) != 0) counts[b]++;
            }
        }
        return counts;
    }

    static void assertAllFresh(String kind, int[] counts) {
        List<String> stale = new ArrayList<>();
        for (int b = 0; b < counts.length; b++) {
            if (counts[b] != 0) stale.add(THREAD_LOCALS[b] + ": " + counts[b] + " of " + THREADS);
        }
        assertTrue(stale.isEmpty(), kind + ": threads found thread-locals as an earlier thread left them: " + stale);
    }

    @Test
    void everyThreadLocalStartsAtItsInitialValueOnARawThreadAsOnAPthread() throws Exception {
        assertAllFresh("pthread (the reference)", staleCounts(PTHREAD));
        assertAllFresh("raw thread, TCB cache on (the default)", staleCounts(RAW));
        assertAllFresh("raw thread, cached(false)", staleCounts(RAW_UNCACHED));
    }

    @Test
    void cxxThreadLocalsAndKeysAreConstructedAndDestroyedOncePerThreadAsOnAPthread() throws Exception {
        for (ThreadRun run : List.of(PTHREAD, RAW, RAW_UNCACHED)) {
            String kind = run == PTHREAD ? "pthread" : run == RAW ? "raw thread" : "raw thread, cached(false)";
            long constructed = H.spn_test_cxx_tallies_constructed();
            long destroyed = H.spn_test_cxx_tallies_destroyed();
            long keyDestructors = H.spn_test_key_destructor_calls();
            staleCounts(run);
            assertEquals(THREADS, H.spn_test_cxx_tallies_constructed() - constructed, kind + ": thread_local constructors");
            assertEquals(THREADS, H.spn_test_cxx_tallies_destroyed() - destroyed, kind + ": thread_local destructors");
            assertEquals(2L * THREADS, H.spn_test_key_destructor_calls() - keyDestructors,
                    kind + ": key destructors (two keys a thread, one value each)");
        }
    }

    @Test
    void aKeyDestructorThatSetsItsKeyAgainRunsAsManyRoundsAsOnAPthread() throws Exception {
        NativeFunction rearming = TestLib.fn("spn_test_key_rearming");
        for (ThreadRun run : List.of(PTHREAD, RAW)) {
            long before = H.spn_test_key_rearm_calls();
            for (int i = 0; i < 10; i++) run.run(rearming, 0);
            assertEquals(10L * PTHREAD_DESTRUCTOR_ITERATIONS, H.spn_test_key_rearm_calls() - before,
                    (run == PTHREAD ? "pthread" : "raw thread") + ": PTHREAD_DESTRUCTOR_ITERATIONS rounds, then dropped");
        }
    }

    /**
     * The limit that stays: glibc initialises the static TLS of a library dlopen'ed with
     * initial-exec variables on the threads on its list, which raw threads are not on. A raw
     * thread alive across the dlopen does not find the initial value; a pthread alive across
     * it does, and so does a raw thread started after it.
     */
    @Test
    void staticTlsOfALibraryDlopenedWhileARawThreadRunsIsNotInitialisedOnIt() throws Exception {
        NativeFunction afterGate = TestLib.fn("spn_test_late_static_after_gate");
        Memory gate = TestLib.word();
        NativeThread raw = NativeThread.start(afterGate, Pointer.nativeValue(gate));
        Pointer pthread = H.spn_test_pthread_start(new Pointer(afterGate.address()), gate);
        assertNotNull(pthread, "pthread_create");
        try {
            assertEquals(0, H.spn_test_tls_load_late(1, lateLibrary("b")), "dlopen of late library b");
        } finally {
            TestLib.Direct.INSTANCE.spn_test_open_gate(gate);
        }
        long onPthread = H.spn_test_pthread_join(pthread);
        long onRaw = raw.join(Duration.ofSeconds(30));
        long startedAfter = RAW.run(afterGate, Pointer.nativeValue(gate));
        assertEquals(LATE_STATIC_INITIAL, onPthread, "glibc initialised it on the pthread it knows");
        assertEquals(LATE_STATIC_INITIAL, startedAfter, "a raw thread started after the dlopen gets the initial value");
        assertNotEquals(LATE_STATIC_INITIAL, onRaw, "a raw thread alive across the dlopen: not initialised (if this fails, the README limit is gone)");
    }
}
