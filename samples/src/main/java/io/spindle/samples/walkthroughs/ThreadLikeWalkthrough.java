package io.spindle.samples.walkthroughs;

import com.sun.jna.Memory;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneProcess;
import io.spindle.runtime.CloneRule;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code thread-like}: the tutorial's Example 1 on raw clone. A counter of 5 lives in the JVM's
 * ordinary memory; a child made with {@code CLONE_VM|CLONE_FILES|CLONE_SIGHAND} adds 100 and the
 * parent reads 105. The same child without {@code CLONE_VM} (and so without
 * {@code CLONE_SIGHAND}, which the kernel refuses alone) adds 100 to its copy-on-write copy and
 * the parent still reads 5. Each child reports what it saw through a {@link SharedBlock}.
 */
public final class ThreadLikeWalkthrough implements Walkthrough {
    static final int START = 5;
    static final CloneFlags SHARED = CloneFlags.of(CloneFlag.VM, CloneFlag.FILES, CloneFlag.SIGHAND);
    static final CloneFlags COPIED = CloneFlags.of(CloneFlag.FILES);

    // struct counter_report (walkthroughs.c): counter(8b) | child_before(4b) | child_after(4b)
    private static final long COUNTER_ADDRESS = 0, CHILD_BEFORE = 8, CHILD_AFTER = 12, REPORT_SIZE = 16;

    /** One child: its flags, the counter as it saw it before and after its += 100, and what the parent reads after. */
    public record Run(CloneFlags flags, int childBefore, int childAfter, int parentAfter) {}

    /**
     * @param sigHandRule the kernel rule that took CLONE_SIGHAND away with CLONE_VM
     */
    public record Observations(int start, Run withVm, Run withoutVm, CloneRule sigHandRule) {
        /** The claim: the CLONE_VM child's write is the parent's; the other child's is not. */
        public boolean holds() {
            return withVm.childBefore == start && withVm.parentAfter == start + 100
                    && withoutVm.childBefore == start && withoutVm.childAfter == start + 100
                    && withoutVm.parentAfter == start;
        }
    }

    @Override
    public String name() {
        return "thread-like";
    }

    @Override
    public String summary() {
        return "CLONE_VM: a child's write to a counter is the parent's; without it, the child's own copy";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.VM);
    }

    /** Runs both children and returns what was seen. */
    public Observations observe() {
        SamplesNative.checkLayout(SamplesNative.Report.COUNTER, REPORT_SIZE);
        Run withVm = runChild(SHARED);
        Run withoutVm = runChild(COPIED);
        // CLONE_FILES|CLONE_SIGHAND would be refused: the rule that says why.
        CloneRule rule = COPIED.with(CloneFlag.SIGHAND).violations().get(0);
        return new Observations(START, withVm, withoutVm, rule);
    }

    private static Run runChild(CloneFlags flags) {
        Memory counter = new Memory(4); // the JVM's private memory, not shared
        counter.setInt(0, START);
        try (SharedBlock report = SharedBlock.map(REPORT_SIZE)) {
            report.setLong(COUNTER_ADDRESS, com.sun.jna.Pointer.nativeValue(counter));
            CloneProcess child = CloneProcess.start(flags, SamplesNative.function("sample_add_hundred"), report.address());
            CloneProcess.ExitStatus status = child.join();
            if (!status.exited() || status.exitCode() != 0) {
                throw new IllegalStateException("the " + flags + " child " + status);
            }
            // counter.getInt keeps the memory alive until the child is gone.
            return new Run(flags, report.getInt(CHILD_BEFORE), report.getInt(CHILD_AFTER), counter.getInt(0));
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o = observe();
        out.println("  counter = " + o.start() + " in the JVM's memory; each child adds 100 to it");
        print(out, o.withVm(), "one address space: the child wrote our counter");
        print(out, o.withoutVm(), "no CLONE_VM: the child wrote its copy-on-write copy");
        out.println("  CLONE_SIGHAND had to go too: " + o.sigHandRule().description());
        boolean holds = o.holds();
        out.println(holds ? "  shown: CLONE_VM is what makes a child's memory writes the parent's"
                : "  NOT shown: expected 105 with CLONE_VM and 5 without; saw " + o);
        return holds ? 0 : 1;
    }

    private static void print(PrintStream out, Run r, String why) {
        out.printf("  %-36s child saw %d -> %d; parent reads %d (%s)%n",
                r.flags() + ":", r.childBefore(), r.childAfter(), r.parentAfter(), why);
    }
}
