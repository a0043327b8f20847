package io.spindle.runtime;

import com.sun.jna.Pointer;
import io.spindle.runtime.internal.Errno;
import io.spindle.runtime.internal.RuntimeNative;

import java.time.Duration;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * A native function running in a child made with raw {@code clone(2)} without
 * {@code CLONE_THREAD}: a process of its own, for the namespace flags (UTS, mount, PID, IPC,
 * network, user, cgroup) and for showing what each sharing flag does. The child ends when
 * its function returns (the low byte is its exit code); {@link #join()} reaps it with
 * {@code waitpid} and returns its {@link ExitStatus}.
 *
 * <p>Without {@code CLONE_VM} the child runs in a copy of the JVM's memory that holds only
 * one thread, like a {@code fork()} child: keep its function to async-signal-safe work
 * (system calls, no malloc). With {@code CLONE_VM} it shares the JVM's memory and gets a
 * TCB of its own. Without {@code CLONE_SIGHAND} a fault in the child kills only the child
 * (it is reported as {@link ExitStatus#signal()}). A started child must be joined: the join
 * reaps it and releases its stack (and TCB), as {@link NativeThread#join()} does for a thread.
 *
 * <p>Spindle manages the TLS and tid flags itself, so the caller may not pass
 * {@code CLONE_SETTLS}, {@code CLONE_PARENT_SETTID}, {@code CLONE_CHILD_SETTID},
 * {@code CLONE_CHILD_CLEARTID}, {@code CLONE_PIDFD} or {@code CLONE_DETACHED}; nor
 * {@code CLONE_THREAD} (use {@link NativeThread}) or {@code CLONE_PARENT} (the child would be
 * our sibling, and only its real parent can reap it).
 */
public final class CloneProcess {
    /** SIGCHLD, the usual exit signal: the parent is told when the child ends. */
    public static final int SIGCHLD = 17;
    public static final long DEFAULT_STACK_SIZE = 256 * 1024;

    private static final Set<CloneFlag> NOT_ACCEPTED = EnumSet.of(
            CloneFlag.THREAD, CloneFlag.PARENT, CloneFlag.SETTLS, CloneFlag.PARENT_SETTID,
            CloneFlag.CHILD_SETTID, CloneFlag.CHILD_CLEARTID, CloneFlag.PIDFD, CloneFlag.DETACHED);

    private final CloneFlags flags;
    private final NativeFunction function;
    private final int pid;
    private final GuardedStack stack;
    private final long tcb;

    // Guarded by this.
    private ExitStatus status;

    private CloneProcess(CloneFlags flags, NativeFunction function, int pid, GuardedStack stack, long tcb) {
        this.flags = flags;
        this.function = function;
        this.pid = pid;
        this.stack = stack;
        this.tcb = tcb;
    }

    /** Starts {@code fn(arg)} in a child cloned with {@code flags} and SIGCHLD as its exit signal. */
    public static CloneProcess start(CloneFlags flags, NativeFunction fn, long arg) {
        return builder(flags).start(fn, arg);
    }

    public static Builder builder(CloneFlags flags) {
        return new Builder(flags);
    }

    /**
     * Checks flags against the kernel's rules and this class's own; throws
     * {@link IllegalArgumentException} naming each broken one.
     */
    public static CloneFlags validate(CloneFlags flags) {
        Objects.requireNonNull(flags, "flags");
        flags.validate();
        for (CloneFlag flag : flags.flags()) {
            if (NOT_ACCEPTED.contains(flag)) {
                throw new IllegalArgumentException("CloneProcess does not accept " + flag.cName() + ": " + whyNot(flag));
            }
        }
        return flags;
    }

    private static String whyNot(CloneFlag flag) {
        return switch (flag) {
            case THREAD -> "it makes a thread, not a process; use NativeThread";
            case PARENT -> "the child would be the caller's sibling, and only its real parent can reap it";
            case PIDFD, DETACHED -> "Spindle reaps children with waitpid and does not hand out pidfds";
            default -> "Spindle sets the TLS and tid flags itself (a CLONE_VM child gets its own TCB)";
        };
    }

    /** The child's pid in the caller's pid namespace. */
    public int pid() {
        return pid;
    }

    public CloneFlags flags() {
        return flags;
    }

    /** Waits for the child to end and reaps it. Later calls return the same status. */
    public ExitStatus join() {
        try {
            return join(-1);
        } catch (TimeoutException e) {
            throw new AssertionError("an unbounded wait timed out", e);
        }
    }

    /** Waits at most {@code timeout}; a child still running then gives a {@link TimeoutException} and stays joinable. */
    public ExitStatus join(Duration timeout) throws TimeoutException {
        return join(Timeouts.toNanos(timeout));
    }

    // Synchronized: waitpid reaps once; a second concurrent waiter would get ECHILD.
    private synchronized ExitStatus join(long timeoutNanos) throws TimeoutException {
        if (status != null) return status;
        int[] raw = new int[1];
        int err = RuntimeNative.spn_process_wait(pid, timeoutNanos, raw);
        if (err == Errno.ETIMEDOUT) {
            throw new TimeoutException("child " + pid + " (" + function.name() + ") still running after "
                    + Duration.ofNanos(timeoutNanos));
        }
        if (err != 0) throw new CloneException("waitpid(" + pid + ") failed: " + Errno.describe(err), err);
        status = ExitStatus.fromWaitStatus(raw[0]);
        // The child is gone: its stack and TCB have no user left.
        RuntimeNative.spn_process_release_tcb(tcb);
        stack.close();
        return status;
    }

    @Override
    public String toString() {
        return "CloneProcess[pid=" + pid + ", " + flags + ", " + function.name() + "]";
    }

    /** How a child ended: an exit code, or the signal that killed it. */
    public record ExitStatus(boolean exited, int exitCode, int signal) {
        static ExitStatus fromWaitStatus(int status) {
            int termSig = status & 0x7f;
            if (termSig == 0) return new ExitStatus(true, (status >> 8) & 0xff, 0);
            return new ExitStatus(false, -1, termSig);
        }

        public boolean isSignaled() {
            return !exited;
        }

        @Override
        public String toString() {
            return exited ? "exited with " + exitCode : "killed by signal " + signal;
        }
    }

    /** Options for a {@link CloneProcess}. */
    public static final class Builder {
        private final CloneFlags flags;
        private long stackSize = DEFAULT_STACK_SIZE;
        private int exitSignal = SIGCHLD;

        private Builder(CloneFlags flags) {
            this.flags = validate(flags);
        }

        public Builder stackSize(long bytes) {
            this.stackSize = GuardedStack.validateSize(bytes);
            return this;
        }

        /** The signal the parent gets when the child ends (0 for none); 1..64 otherwise. */
        public Builder exitSignal(int signal) {
            if (signal < 0 || signal > 64) {
                throw new IllegalArgumentException("exit signal " + signal + " is not a signal number (0 for none, 1..64)");
            }
            this.exitSignal = signal;
            return this;
        }

        public CloneProcess start(NativeFunction fn, Pointer arg) {
            return start(fn, Pointer.nativeValue(arg));
        }

        public CloneProcess start(NativeFunction fn, long arg) {
            if (fn == null) throw new NullPointerException("native function is null: a child needs code to run");
            RuntimeNative.ensureLoaded();
            GuardedStack stack = GuardedStack.allocate(stackSize);
            long[] tcbOut = new long[1];
            int[] pidOut = new int[1];
            int err = RuntimeNative.spn_process_start(fn.address(), arg, flags.mask(), exitSignal,
                    stack.handle(), tcbOut, pidOut);
            if (err != 0) {
                stack.close();
                throw CloneException.of("clone of a child process", flags, err);
            }
            return new CloneProcess(flags, fn, pidOut[0], stack, tcbOut[0]);
        }
    }
}
