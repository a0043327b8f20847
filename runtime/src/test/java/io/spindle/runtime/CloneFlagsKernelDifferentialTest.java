package io.spindle.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The kernel is the arbiter of {@link CloneRule}: for every single flag, every pair of flags
 * and a few hundred random sets, {@link CloneFlags#validate()} must throw exactly when the
 * running kernel's legacy {@code clone} answers {@code EINVAL} (other errors, such as
 * {@code EPERM}, count as "not EINVAL"). The kernel is asked from a throwaway process
 * ({@code flag_probe.c}), never from the JVM.
 *
 * <p>The random sets come from a seeded {@link Random}; the seed is printed and can be fixed
 * with {@code -Dspindle.flagSeed=N}. Each flag is drawn with probability 0.3, so most sets break
 * some rule; a second batch repairs random sets until they keep every rule, so the kernel is
 * also asked about many large sets that validate() accepts.
 *
 * <p>Without root, namespace flags may be refused with {@code EPERM} before the kernel looks at
 * the combination (it checks {@code CAP_SYS_ADMIN} first for {@code NEWIPC|SYSVSEM}), so sets
 * with namespace flags are skipped, and the skip is printed.
 */
class CloneFlagsKernelDifferentialTest {

    private static final int RANDOM_SETS = 400;
    private static final int REPAIRED_SETS = 200;
    private static final double FLAG_PROBABILITY = 0.3;
    private static final int EINVAL = 22;

    private static long seed;
    private static boolean root;

    @BeforeAll
    static void probeTheKernel() {
        seed = Long.getLong("spindle.flagSeed", System.nanoTime());
        root = FlagProbe.isRoot();
        System.out.println("[CloneFlagsKernelDifferentialTest] seed=" + seed
                + " (rerun with -Dspindle.flagSeed=" + seed + "), euid "
                + (root ? "0: namespace flags probed" : "!= 0: sets with namespace flags are skipped,"
                        + " since without CAP_SYS_ADMIN the kernel answers EPERM before checking"
                        + " the combination"));
        // The probe must tell accepted from refused before it can judge anything.
        assertEquals(0, FlagProbe.cloneErrno(CloneFlags.none()), "fork-like clone");
        assertEquals(0, FlagProbe.cloneErrno(CloneFlags.THREAD), "pthread_create's flags");
        assertEquals(EINVAL, FlagProbe.cloneErrno(CloneFlags.of(CloneFlag.THREAD)), "CLONE_THREAD alone");
    }

    @Test
    void everySingleFlag() {
        List<CloneFlags> sets = new ArrayList<>();
        for (CloneFlag f : CloneFlag.values()) {
            sets.add(CloneFlags.of(f));
        }
        compareWithKernel("single flags", sets);
    }

    @Test
    void everyPairOfFlags() {
        List<CloneFlags> sets = new ArrayList<>();
        CloneFlag[] all = CloneFlag.values();
        for (int i = 0; i < all.length; i++) {
            for (int j = i + 1; j < all.length; j++) {
                sets.add(CloneFlags.of(all[i], all[j]));
            }
        }
        assertEquals(24 * 23 / 2, sets.size());
        compareWithKernel("pairs of flags", sets);
    }

    @Test
    void randomSets() {
        Random random = new Random(seed);
        List<CloneFlags> sets = new ArrayList<>();
        for (int i = 0; i < RANDOM_SETS; i++) {
            sets.add(randomSet(random));
        }
        compareWithKernel("random sets (seed " + seed + ")", sets);
    }

    @Test
    void randomSetsRepairedToKeepEveryRule() {
        Random random = new Random(seed ^ 0x5DEECE66DL);
        List<CloneFlags> sets = new ArrayList<>();
        for (int i = 0; i < REPAIRED_SETS; i++) {
            CloneFlags s = randomSet(random);
            for (List<CloneRule> broken = s.violations(); !broken.isEmpty(); broken = s.violations()) {
                CloneRule r = broken.get(random.nextInt(broken.size()));
                // Either supply the missing flag or drop one of the clashing ones.
                if (!r.absent().isEmpty() && random.nextBoolean()) {
                    s = s.with(r.absent().toArray(CloneFlag[]::new));
                } else {
                    CloneFlag[] present = r.present().toArray(CloneFlag[]::new);
                    s = s.without(present[random.nextInt(present.length)]);
                }
            }
            sets.add(s);
        }
        compareWithKernel("repaired random sets (seed " + seed + ")", sets);
    }

    private static CloneFlags randomSet(Random random) {
        CloneFlags s = CloneFlags.none();
        for (CloneFlag f : CloneFlag.values()) {
            if (random.nextDouble() < FLAG_PROBABILITY) {
                s = s.with(f);
            }
        }
        return s;
    }

    /** Asks the kernel about each set; fails with a table of every disagreement. */
    private static void compareWithKernel(String what, List<CloneFlags> sets) {
        List<String> mismatches = new ArrayList<>();
        Map<String, Integer> answers = new TreeMap<>();
        int skipped = 0;
        Set<CloneFlags> seen = new LinkedHashSet<>();
        for (CloneFlags s : sets) {
            if (!seen.add(s)) {
                continue;
            }
            if (!root && s.flags().stream().anyMatch(CloneFlag::isNamespace)) {
                skipped++;
                continue;
            }
            int errno = FlagProbe.cloneErrno(s);
            boolean kernelRefuses = errno == EINVAL;
            List<CloneRule> broken = s.violations();
            boolean modelRefuses = !broken.isEmpty();
            try {
                s.validate();
                assertTrue(broken.isEmpty());
            } catch (IllegalArgumentException e) {
                assertTrue(modelRefuses, "validate() threw for a set without violations: " + s);
            }
            answers.merge((modelRefuses ? "validate() throws, kernel " : "validate() passes, kernel ")
                    + FlagProbe.errnoName(errno), 1, Integer::sum);
            if (kernelRefuses != modelRefuses) {
                mismatches.add(row(s, broken, errno, kernelRefuses ? minimalRefusedSubset(s) : ""));
            }
        }
        System.out.println("[CloneFlagsKernelDifferentialTest] " + what + ": " + seen.size()
                + " distinct sets" + (skipped > 0 ? ", " + skipped + " skipped (namespace flags, not root)" : "")
                + ", " + answers);
        if (!mismatches.isEmpty()) {
            StringBuilder table = new StringBuilder()
                    .append(mismatches.size()).append(" of ").append(seen.size()).append(' ').append(what)
                    .append(" disagree with the kernel (seed ").append(seed).append("):\n")
                    .append(String.format("%-12s %-7s %s%n", "mask", "kernel", "validate(), then the flags"));
            mismatches.forEach(table::append);
            fail(table.toString());
        }
    }

    private static String row(CloneFlags s, List<CloneRule> broken, int errno, String minimal) {
        String model = broken.isEmpty() ? "passes" : "throws " + broken;
        String indent = " ".repeat(21);
        return String.format("0x%-10x %-7s validate() %s%n%s%s%n%s", s.mask(), FlagProbe.errnoName(errno), model,
                indent, s, minimal.isEmpty() ? "" : indent + "smallest subset the kernel still refuses: " + minimal + "\n");
    }

    /** Drops flags one at a time while the kernel keeps answering EINVAL: names the unknown rule. */
    private static String minimalRefusedSubset(CloneFlags s) {
        CloneFlags current = s;
        boolean shrunk = true;
        while (shrunk) {
            shrunk = false;
            for (CloneFlag f : current.flags()) {
                CloneFlags smaller = current.without(f);
                if (FlagProbe.cloneErrno(smaller) == EINVAL) {
                    current = smaller;
                    shrunk = true;
                    break;
                }
            }
        }
        return current.toString();
    }
}
