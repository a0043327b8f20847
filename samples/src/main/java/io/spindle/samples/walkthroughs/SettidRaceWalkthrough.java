package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code settid-race}: why NPTL uses {@code CLONE_PARENT_SETTID}. Native code clones threads
 * that exit at once ({@code sample_settid_race} in walkthroughs.c, with the asynchronous signals
 * blocked around each clone, no Java on the threads) and looks at the tid word the instant
 * clone returns. With {@code CLONE_CHILD_SETTID} the kernel writes it only when the child first
 * runs, so the parent often finds nothing there, or finds it already cleared by the exit; with
 * {@code CLONE_PARENT_SETTID} it is written before clone returns: never a miss.
 *
 * <p>{@code settid-race [ROUNDS]}: threads per mode, default {@value #DEFAULT_ROUNDS}.
 */
public final class SettidRaceWalkthrough implements Walkthrough {
    static final int DEFAULT_ROUNDS = 2000;

    // struct settid_counts (walkthroughs.c): misses(8b) | unwritten(8b) | cleared(8b)
    private static final long COUNTS_SIZE = 24;

    /**
     * In how many rounds the word did not hold the tid when clone returned: still the initial
     * -1 (the child had not run yet), already 0 (it ran and exited, CHILD_CLEARTID), or other.
     */
    public record Misses(long misses, long unwritten, long cleared) {}

    public record Observations(int rounds, Misses childSettid, Misses parentSettid) {
        public boolean holds() {
            return childSettid.misses() > 0 && parentSettid.misses() == 0;
        }
    }

    @Override
    public String name() {
        return "settid-race";
    }

    @Override
    public String summary() {
        return "CLONE_PARENT_SETTID: the tid is in place before clone returns; CHILD_SETTID's is not";
    }

    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.PARENT_SETTID, CloneFlag.CHILD_SETTID, CloneFlag.CHILD_CLEARTID);
    }

    public Observations observe(int rounds) {
        if (rounds < 1) throw new IllegalArgumentException("rounds must be positive: " + rounds);
        return new Observations(rounds, race(false, rounds), race(true, rounds));
    }

    private static Misses race(boolean parentSettid, int rounds) {
        SamplesNative.checkLayout(SamplesNative.Report.SETTID, COUNTS_SIZE);
        long[] counts = new long[3];
        int err = SamplesNative.sample_settid_race(parentSettid ? 1 : 0, rounds, counts);
        if (err != 0) throw new IllegalStateException("clone failed in the settid race (errno " + err + ")");
        return new Misses(counts[0], counts[1], counts[2]);
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        int rounds = DEFAULT_ROUNDS;
        if (args.size() > 1) throw new UsageException(name() + " takes at most one argument, the rounds");
        if (args.size() == 1) {
            try {
                rounds = Integer.parseInt(args.get(0));
            } catch (NumberFormatException e) {
                throw new UsageException("rounds must be a number, not '" + args.get(0) + "'");
            }
            if (rounds < 1 || rounds > 1_000_000) throw new UsageException("rounds must be 1..1000000, not " + rounds);
        }
        Observations o = observe(rounds);
        out.println("  " + rounds + " raw threads per mode, each exiting at once; the parent reads the tid word"
                + " the instant clone returns");
        Misses c = o.childSettid();
        out.printf("  CLONE_CHILD_SETTID  (the child writes it):       no tid %d/%d times (%d not yet written,"
                + " %d already cleared by the exit)%n", c.misses(), rounds, c.unwritten(), c.cleared());
        out.printf("  CLONE_PARENT_SETTID (written before the return): no tid %d/%d times%n",
                o.parentSettid().misses(), rounds);
        out.println("  why: CHILD_SETTID is stored when the child first runs, which may be after clone returns or"
                + " after the child exited; code that needs the tid then (an exit handler) finds nothing");
        out.println(o.holds() ? "  shown: only CLONE_PARENT_SETTID gives the tid race-free (0 misses)"
                : "  NOT shown: expected misses > 0 with CHILD_SETTID and 0 with PARENT_SETTID; saw " + o);
        return o.holds() ? 0 : 1;
    }
}
