package io.spindle.samples.walkthroughs;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.NativeThread;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/**
 * {@code thread-group}: the tutorial's Example 2. Four raw threads cloned with
 * {@code CLONE_THREAD} (Spindle's {@link NativeThread}, glibc's own flag set) each report
 * {@code getpid()}, {@code gettid()} and {@code getppid()}, while all four are alive (they meet
 * at a barrier before returning). They share the JVM's pid, the thread group id; each has its
 * own tid; and their parent is the JVM's parent, since a thread group has one parent.
 */
public final class ThreadGroupWalkthrough implements Walkthrough {
    static final int THREADS = 4;

    // struct ids_report (walkthroughs.c): arrived(8b) | parties(4b) | pid(4b) | tid(4b) | ppid(4b)
    private static final long ARRIVED = 0, PARTIES = 8, PID = 12, TID = 16, PPID = 20, REPORT_SIZE = 24;

    /** What one thread saw; {@code startTid} is the tid {@link NativeThread#tid()} had when start returned. */
    public record ThreadIds(int startTid, int pid, int tid, int ppid) {}

    public record Observations(long jvmPid, long jvmParentPid, int callerTid, List<ThreadIds> threads) {
        public boolean sameTgid() {
            return threads.stream().allMatch(t -> t.pid() == jvmPid);
        }

        public boolean distinctTids() {
            HashSet<Integer> tids = new HashSet<>();
            for (ThreadIds t : threads) {
                if (t.tid() == jvmPid || t.tid() == callerTid || t.tid() != t.startTid() || !tids.add(t.tid())) return false;
            }
            return true;
        }

        public boolean sameParent() {
            return threads.stream().allMatch(t -> t.ppid() == jvmParentPid);
        }

        public boolean holds() {
            return threads.size() == THREADS && sameTgid() && distinctTids() && sameParent();
        }
    }

    @Override
    public String name() {
        return "thread-group";
    }

    @Override
    public String summary() {
        return "CLONE_THREAD: four raw threads share the JVM's pid (TGID), each with its own TID";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.THREAD);
    }

    public Observations observe() {
        SamplesNative.checkLayout(SamplesNative.Report.IDS, REPORT_SIZE);
        Memory arrived = new Memory(4);
        arrived.setInt(0, 0);
        Memory[] reports = new Memory[THREADS];
        NativeThread[] threads = new NativeThread[THREADS];
        for (int i = 0; i < THREADS; i++) {
            reports[i] = new Memory(REPORT_SIZE);
            reports[i].clear();
            reports[i].setLong(ARRIVED, Pointer.nativeValue(arrived));
            reports[i].setInt(PARTIES, THREADS);
            threads[i] = NativeThread.start(SamplesNative.function("sample_ids"), Pointer.nativeValue(reports[i]));
        }
        List<ThreadIds> ids = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            threads[i].join();
            ids.add(new ThreadIds(threads[i].tid(), reports[i].getInt(PID), reports[i].getInt(TID), reports[i].getInt(PPID)));
        }
        // The raw threads used the barrier word until they returned: keep its memory alive till here.
        Reference.reachabilityFence(arrived);
        ProcessHandle self = ProcessHandle.current();
        return new Observations(self.pid(), self.parent().map(ProcessHandle::pid).orElse(0L),
                SamplesNative.sample_gettid(), List.copyOf(ids));
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.println("  the JVM: pid " + o.jvmPid() + ", parent " + o.jvmParentPid() + "; this Java thread's tid "
                + o.callerTid() + "; " + THREADS + " raw threads, " + CloneFlags.THREAD);
        for (int i = 0; i < o.threads().size(); i++) {
            ThreadIds t = o.threads().get(i);
            out.printf("  raw thread %d: getpid() %d  gettid() %d  getppid() %d%n", i + 1, t.pid(), t.tid(), t.ppid());
        }
        out.println("  why: CLONE_THREAD puts a child in the caller's thread group, whose id (the TGID) is what"
                + " getpid() returns; a tid names one thread; the group has one parent");
        if (o.holds()) {
            out.println("  shown: the same TGID " + o.jvmPid() + " in all " + THREADS + ", " + THREADS
                    + " distinct TIDs, the same parent " + o.jvmParentPid());
            return 0;
        }
        out.println("  NOT shown: same TGID " + o.sameTgid() + ", distinct TIDs " + o.distinctTids()
                + ", same parent " + o.sameParent());
        return 1;
    }
}
