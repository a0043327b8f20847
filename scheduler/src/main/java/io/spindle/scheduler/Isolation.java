package io.spindle.scheduler;

import com.sun.jna.NativeLibrary;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An isolated pool's settings ({@link Spindle.Builder#isolated(Isolation)}): its workers run
 * in a child process of their own, so a task that crashes, aborts, exits or hangs fails its
 * own join ({@link TaskCrashedException}) and the JVM lives on.
 *
 * <p>The child is made with clone(2) and new PID, mount, IPC, UTS and network namespaces
 * (and a user namespace when the JVM is not root); it holds no descriptor of the JVM's, runs
 * in an empty root directory, may not gain privileges, and has a system-call filter that
 * allows memory, time, futexes, threads and writes to stdout and stderr, and nothing else.
 * It executes a small program (spindle-host) that loads the scheduler library and the task
 * {@linkplain Builder#library libraries}, so none of the JVM's memory is in it: a task can read
 * and write only the pool's {@linkplain Spindle#allocateShared shared memory}, and a pointer
 * argument outside it is refused before anything is queued.
 */
public final class Isolation {
    public static final long DEFAULT_SHARED_MEMORY = 256L << 20;
    public static final int DEFAULT_MAX_RESTARTS = 100;
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(30);

    final List<Path> libraries;
    final long sharedMemory;
    final int maxRestarts;
    final Duration restartBackoff;
    final Duration maxRestartBackoff;
    final Duration taskDeadline;
    final boolean retryQueued;
    final boolean systemCallFilter;
    final int[] allowedSystemCalls;
    final Duration startTimeout;

    private Isolation(Builder b) {
        this.libraries = List.copyOf(b.libraries);
        this.sharedMemory = b.sharedMemory;
        this.maxRestarts = b.maxRestarts;
        this.restartBackoff = b.restartBackoff;
        this.maxRestartBackoff = b.maxRestartBackoff;
        this.taskDeadline = b.taskDeadline;
        this.retryQueued = b.retryQueued;
        this.systemCallFilter = b.systemCallFilter;
        this.allowedSystemCalls = b.allowedSystemCalls.stream().mapToInt(Integer::intValue).toArray();
        this.startTimeout = b.startTimeout;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String toString() {
        return "Isolation[libraries=" + libraries + ", sharedMemory=" + sharedMemory + ", maxRestarts=" + maxRestarts
                + ", taskDeadline=" + taskDeadline + ", retryQueued=" + retryQueued + ", systemCallFilter="
                + systemCallFilter + "]";
    }

    /** Settings for an {@link Isolation}; each is checked when set. */
    public static final class Builder {
        private final List<Path> libraries = new ArrayList<>();
        private long sharedMemory = DEFAULT_SHARED_MEMORY;
        private int maxRestarts = DEFAULT_MAX_RESTARTS;
        private Duration restartBackoff = Duration.ofMillis(1);
        private Duration maxRestartBackoff = Duration.ofSeconds(1);
        private Duration taskDeadline;
        private boolean retryQueued = true;
        private boolean systemCallFilter = true;
        private final List<Integer> allowedSystemCalls = new ArrayList<>();
        private Duration startTimeout = DEFAULT_START_TIMEOUT;

        private Builder() {}

        /**
         * A library whose functions the pool's tasks call. The child loads it before it runs
         * anything; a {@link io.spindle.runtime.NativeFunction} of it (from the JVM's own copy,
         * which must be the same file) is translated to the child's address.
         */
        public Builder library(Path path) {
            Objects.requireNonNull(path, "library path");
            if (!Files.isRegularFile(path)) throw new IllegalArgumentException("no library file at " + path);
            libraries.add(path.toAbsolutePath());
            return this;
        }

        /** The file JNA loaded this library from. */
        public Builder library(NativeLibrary library) {
            Objects.requireNonNull(library, "library");
            if (library.getFile() == null) throw new IllegalArgumentException(library.getName() + " was not loaded from a file");
            return library(library.getFile().toPath());
        }

        /**
         * Bytes of the memory the JVM and the child share (rounded up to 2 MiB): the pool's
         * rings, descriptors and batches, and every buffer handed out by
         * {@link Spindle#allocateShared}. Reserved, not touched: pages cost memory when used.
         */
        public Builder sharedMemory(long bytes) {
            if (bytes < 16L << 20) throw new IllegalArgumentException("shared memory must be at least 16 MiB, was " + bytes);
            this.sharedMemory = (bytes + (2L << 20) - 1) & -(2L << 20);
            return this;
        }

        /** How many times the pool starts a new child after one died; then it takes no more tasks. */
        public Builder maxRestarts(int restarts) {
            if (restarts < 0) throw new IllegalArgumentException("restarts must be at least 0, was " + restarts);
            this.maxRestarts = restarts;
            return this;
        }

        /**
         * The wait before a restart: {@code initial} after a child that died young, doubling
         * for each one that dies as young, up to {@code max}; a child that lived a second
         * resets it. Zero restarts at once.
         */
        public Builder restartBackoff(Duration initial, Duration max) {
            if (initial.isNegative() || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("back-off must be 0 <= initial <= max, was " + initial + ", " + max);
            }
            this.restartBackoff = initial;
            this.maxRestartBackoff = max;
            return this;
        }

        /**
         * A task that runs longer than this (from its start, on its green thread) makes the
         * pool kill the child: that task and the others it ran fail with a
         * TaskCrashedException whose cause is "deadline". Off by default.
         */
        public Builder taskDeadline(Duration deadline) {
            if (deadline.isNegative() || deadline.isZero()) throw new IllegalArgumentException("deadline must be positive, was " + deadline);
            this.taskDeadline = deadline;
            return this;
        }

        /**
         * Whether tasks still queued when a child dies run in the next one (default), or fail
         * with the same TaskCrashedException as those it was running.
         */
        public Builder retryQueued(boolean retry) {
            this.retryQueued = retry;
            return this;
        }

        /**
         * System calls the filter allows beyond its own list (memory, time, futexes, threads,
         * I/O on the descriptors the child has), by this architecture's numbers
         * ({@code <sys/syscall.h>}: {@code socket} is 41 on x86-64), for a library that needs
         * one; at most 64. A call the filter refuses ends the child with SIGSYS, and the
         * TaskCrashedException names its number.
         */
        public Builder allowSystemCalls(int... numbers) {
            for (int n : numbers) {
                if (n < 0 || n > 4095) throw new IllegalArgumentException("not a system call number: " + n);
                allowedSystemCalls.add(n);
            }
            if (allowedSystemCalls.size() > 64) throw new IllegalArgumentException("at most 64 system calls can be allowed");
            return this;
        }

        /** The child's system-call filter (on by default; off only to find what a library needs). */
        public Builder systemCallFilter(boolean on) {
            this.systemCallFilter = on;
            return this;
        }

        public Isolation build() {
            return new Isolation(this);
        }
    }
}
