package io.spindle.scheduler;

import java.util.Optional;

/**
 * The task ran in an {@linkplain Isolation isolated pool} whose child process died before the
 * task ended: a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL), {@code abort()}, {@code exit()}, a
 * system call the pool's filter refuses (SIGSYS), a kill (the task's deadline, the kernel's
 * OOM killer). Every task the child had started, or taken from the queue, fails so; tasks
 * still queued run in the next child (or fail so too, if the pool does not retry them).
 * The JVM is untouched.
 */
public final class TaskCrashedException extends RuntimeException {
    private final Crash crash;

    TaskCrashedException(Crash crash, String what) {
        super(what + ": " + crash.describe());
        this.crash = crash;
    }

    /** The signal that ended the child (11 for SIGSEGV), or 0 if it exited. */
    public int signal() {
        return crash.signal();
    }

    /** The child's exit status if it exited (a task called {@code exit()}), else -1. */
    public int exitStatus() {
        return crash.exitStatus();
    }

    /** The faulting address (SIGSEGV, SIGBUS), or the refused system call's number (SIGSYS). */
    public Optional<Long> faultAddress() {
        return crash.recorded() ? Optional.of(crash.address()) : Optional.empty();
    }

    /** The function of the task that was running on the worker that took the signal, if known. */
    public Optional<String> function() {
        return crash.function().isEmpty() ? Optional.empty() : Optional.of(crash.function());
    }

    /** Why the child died, in a few words: "SIGSEGV", "exit(3)", "deadline", ... */
    public String cause() {
        return crash.cause();
    }

    /**
     * What ended one child of an isolated pool.
     *
     * @param number    1 for the pool's first crash, and so on
     * @param signal    the signal that ended the child, 0 if it exited
     * @param exitStatus its exit status, -1 if a signal ended it
     * @param recorded  whether the child's own handler recorded the fault (signal, address)
     * @param code      si_code of the recorded fault
     * @param address   si_addr of the recorded fault (the system call number for SIGSYS)
     * @param function  "name in libfoo.so" of the task the faulting worker ran, or ""
     * @param killedFor why the pool killed the child itself ("deadline"), or null
     */
    record Crash(int number, int signal, int exitStatus, boolean recorded, int code, long address, String function,
                 String killedFor, int restartsLeft) {
        String cause() {
            if (killedFor != null) return killedFor;
            if (signal == 0) return "exit(" + exitStatus + ")";
            return signalName(signal);
        }

        String describe() {
            StringBuilder b = new StringBuilder("the isolated pool's child process ");
            if (killedFor != null) b.append("was killed: ").append(killedFor);
            else if (signal == 0) b.append("exited with status ").append(exitStatus).append(" (a task called exit()?)");
            else b.append("died of ").append(signalName(signal));
            if (recorded && signal == 31) b.append(", system call ").append(address).append(" refused by its filter");
            else if (recorded && (signal == 11 || signal == 7)) b.append(" at address 0x").append(Long.toHexString(address));
            if (!function.isEmpty()) b.append(", in a task running ").append(function);
            b.append(" (crash ").append(number).append(" of the pool; ");
            b.append(restartsLeft > 0 ? "it restarted the child, " + restartsLeft + " restart(s) left)"
                    : "no restarts left: the pool takes no more tasks)");
            return b.toString();
        }

        static String signalName(int signal) {
            return switch (signal) {
                case 4 -> "SIGILL";
                case 5 -> "SIGTRAP";
                case 6 -> "SIGABRT (abort())";
                case 7 -> "SIGBUS";
                case 8 -> "SIGFPE";
                case 9 -> "SIGKILL (the OOM killer, or a kill from outside)";
                case 11 -> "SIGSEGV";
                case 31 -> "SIGSYS";
                default -> "signal " + signal;
            };
        }
    }
}
