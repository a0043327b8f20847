package io.spindle.runtime.demo;

import com.sun.jna.NativeLibrary;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneProcess;
import io.spindle.runtime.NativeFunction;
import io.spindle.runtime.NativeThread;

import java.util.ArrayList;
import java.util.List;

/**
 * The runtime's walk-through, run by {@code ./spindle tour} until the samples module has its
 * tour: raw clone threads and children running libc's own functions, which already have
 * the {@code intptr_t fn(void *)} shape ({@code getpid}, {@code gettid} ignore the argument).
 */
public final class RuntimeDemo {
    private RuntimeDemo() {}

    public static void main(String[] args) {
        NativeLibrary libc = NativeLibrary.getInstance("c");
        NativeFunction getpid = NativeFunction.of(libc, "getpid");
        NativeFunction gettid = NativeFunction.of(libc, "gettid");

        System.out.println("Spindle runtime demo: raw clone(2) threads inside this JVM (pid "
                + ProcessHandle.current().pid() + ")");
        System.out.println();
        System.out.println("1. Four raw threads with glibc's thread flags:");
        System.out.println("   " + CloneFlags.THREAD);
        List<NativeThread> pids = new ArrayList<>();
        List<NativeThread> tids = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            pids.add(NativeThread.start(getpid, 0));
            tids.add(NativeThread.start(gettid, 0));
        }
        for (int i = 0; i < 4; i++) {
            NativeThread t = tids.get(i);
            System.out.printf("   thread %d: getpid() = %d (the JVM's: CLONE_THREAD), gettid() = %d, tid() at start = %d%n",
                    i, pids.get(i).join(), t.join(), t.tid());
        }
        System.out.println();
        System.out.println("2. Rules are checked before the kernel sees a flag set:");
        try {
            CloneFlags.of(CloneFlag.THREAD, CloneFlag.VM).validate();
        } catch (IllegalArgumentException e) {
            System.out.println("   " + e.getMessage());
        }
        System.out.println();
        System.out.println("3. A child process in a new pid namespace (CLONE_NEWPID) runs getpid():");
        try {
            CloneProcess child = CloneProcess.start(CloneFlags.of(CloneFlag.NEWPID), getpid, 0);
            System.out.printf("   our pid for it: %d; its own answer (exit code): %d%n", child.pid(), child.join().exitCode());
        } catch (RuntimeException e) {
            System.out.println("   not possible here: " + e.getMessage());
        }
        System.out.println();
        System.out.println("More in README.md: the flag table, the libc guarantees on raw threads, and their limits.");
    }
}
