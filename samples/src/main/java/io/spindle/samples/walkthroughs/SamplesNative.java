package io.spindle.samples.walkthroughs;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import io.spindle.runtime.NativeFunction;
import io.spindle.scheduler.Spindle;

/**
 * JNA direct mapping of {@code libspindle_samples.so} (built from {@code samples/src/main/c}):
 * the walkthroughs' helpers that Java calls itself, and {@link #function} for the child
 * functions that Spindle runs in raw clone children and threads.
 *
 * <p><b>Internal</b> to the samples. Loading this class first loads the scheduler's library
 * ({@link Spindle#loadNativeLibrary()}): the samples library also holds the workloads, which
 * call {@code spindle.h}, and it is linked to bind every symbol at load ({@code -z now}), so
 * {@code spn_*} must already be there. Other code of the samples that needs the library should
 * go through {@link #LIBRARY} (or call {@code SamplesNative.load()}) rather than load it anew.
 */
public final class SamplesNative {
    public static final String LIBRARY_NAME = "spindle_samples";

    /** The library, loaded after the scheduler's. */
    public static final NativeLibrary LIBRARY;

    static {
        Spindle.loadNativeLibrary();
        // Kept on disk under its own name: an isolated pool's child loads the same file.
        LIBRARY = io.spindle.runtime.internal.NativeLoader.load(LIBRARY_NAME, SamplesNative.class);
        Native.register(SamplesNative.class, LIBRARY);
    }

    private SamplesNative() {}

    /** Loads the library (and the scheduler's before it); a no-op after the first call. */
    public static void load() {}

    /** A child function of the library, for {@code CloneProcess} and {@code NativeThread}. */
    public static NativeFunction function(String symbol) {
        return NativeFunction.of(LIBRARY, symbol);
    }

    /** {@code mmap(MAP_SHARED|MAP_ANONYMOUS)}, zeroed; 0 on failure. See {@link SharedBlock}. */
    static native long sample_map_shared(long size);

    static native int sample_unmap_shared(long block, long size);

    /** The calling thread's kernel tid. */
    static native int sample_gettid();

    /** sizeof the report block {@code kind} ({@link Report#ordinal()}), -1 for none. */
    static native long sample_report_size(int kind);

    /** The report blocks of walkthroughs.c, in the order of {@code sample_report_size}. */
    enum Report { COUNTER, IDS, UTS, MOUNT, PID, CONTAINER, SETTID, FLAG }

    /**
     * Checks that a Java mirror of a report block has the C size (the C file pins the offsets
     * with static asserts), so a layout change on one side cannot be read wrongly on the other.
     */
    static void checkLayout(Report report, long javaSize) {
        long size = sample_report_size(report.ordinal());
        if (size != javaSize) {
            throw new IllegalStateException("the " + report + " report is " + size + " bytes in walkthroughs.c but "
                    + javaSize + " in its Java mirror: the two are out of step");
        }
    }

    // The flag walkthroughs' helpers (flag_effects.c): the JVM looks at itself, or undoes
    // what a child shared with it. Each returns 0 or an errno unless it says otherwise.

    static native void sample_set_word(long word, int value);

    static native int sample_fs_restore(String cwd, int umask);

    /** A memfd of this name: its fd, or -errno. */
    static native int sample_memfd(String name);

    static native int sample_close(int fd);

    /** The calling thread's view of SIGURG: [ignored, blocked here, pending here], each 0 or 1. */
    static native void sample_signal_view(long[] out);

    static native int sample_signal_save();

    static native int sample_signal_restore();

    /** A private System V semaphore at 0: its id, or -errno. */
    static native int sample_sem_create();

    /** Its value, or -errno. */
    static native int sample_sem_value(int id);

    static native int sample_sem_remove(int id);

    /** Reaps a child of the JVM no CloneProcess knows: its wait status, or -errno. */
    static native int sample_reap(int pid, int timeoutMillis);

    /** The calling thread's I/O priority, or -errno. */
    static native int sample_ioprio_get();

    static native int sample_ioprio_set(int prio);

    static native void sample_settls_mark(long mark);

    static native int sample_settls_without(long report);

    /** Fills {@code counts[0..2]}: misses, still unwritten, already cleared. 0 or an errno. */
    static native int sample_settid_race(int parentSettid, int rounds, long[] counts);
}
