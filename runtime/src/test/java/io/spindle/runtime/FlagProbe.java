package io.spindle.runtime;

import com.sun.jna.Native;

/**
 * JNA binding (direct mapping) of {@code flag_probe.c} in the test library: asks the running
 * kernel what legacy {@code clone(2)} answers to a flag mask, from a throwaway process so the
 * JVM never sees the clone. Internal to the tests.
 */
final class FlagProbe {

    static {
        // libspindle_runtime_test.so is on the test classpath under linux-x86-64/.
        Native.register("spindle_runtime_test");
    }

    private FlagProbe() {
    }

    /** errno (0 on success) or a negative SPN_PROBE_* code; see flag_probe.c. */
    private static native int spn_test_probe_clone_errno(long flags);

    private static native int spn_test_probe_euid();

    /**
     * The errno with which the kernel refused {@code clone(flags | SIGCHLD)} (the exit signal is
     * left out with CLONE_THREAD), or 0 when it made the child.
     *
     * @throws IllegalStateException when the probe itself failed, so that a broken probe can
     *         never pass for a kernel answer
     */
    static int cloneErrno(CloneFlags flags) {
        int r = spn_test_probe_clone_errno(flags.mask());
        if (r < 0) {
            throw new IllegalStateException("clone probe failed for " + flags + ": " + failure(r));
        }
        return r;
    }

    static boolean isRoot() {
        return spn_test_probe_euid() == 0;
    }

    private static String failure(int code) {
        return switch (code) {
            case -1 -> "mask has bits outside 0xffffff00";
            case -2 -> "could not fork the reaper process";
            case -3 -> "waitpid on the reaper failed";
            case -4 -> "the reaper died of a signal (watchdog: the probe hung)";
            case -5 -> "the process calling clone died of a signal";
            case -6 -> "the reaper could not fork the process calling clone";
            case -7 -> "prctl(PR_SET_CHILD_SUBREAPER) failed";
            default -> "unknown probe code " + code;
        };
    }

    /** The C name of a few errnos the kernel may answer, for readable reports. */
    static String errnoName(int errno) {
        return switch (errno) {
            case 0 -> "ok";
            case 1 -> "EPERM";
            case 11 -> "EAGAIN";
            case 12 -> "ENOMEM";
            case 22 -> "EINVAL";
            case 28 -> "ENOSPC";
            case 87 -> "EUSERS";
            default -> "errno " + errno;
        };
    }
}
