package io.spindle.runtime;

import static io.spindle.runtime.CloneFlag.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The flag model without the kernel: values, names, rules, parsing, messages. */
class CloneFlagsTest {

    // ---- CloneFlag ----------------------------------------------------------------------

    @Test
    void flagValuesAreTheKernels() {
        Map<CloneFlag, Long> expected = Map.ofEntries(
                Map.entry(VM, 0x100L), Map.entry(FS, 0x200L), Map.entry(FILES, 0x400L),
                Map.entry(SIGHAND, 0x800L), Map.entry(PIDFD, 0x1000L), Map.entry(PTRACE, 0x2000L),
                Map.entry(VFORK, 0x4000L), Map.entry(PARENT, 0x8000L), Map.entry(THREAD, 0x10000L),
                Map.entry(NEWNS, 0x20000L), Map.entry(SYSVSEM, 0x40000L), Map.entry(SETTLS, 0x80000L),
                Map.entry(PARENT_SETTID, 0x100000L), Map.entry(CHILD_CLEARTID, 0x200000L),
                Map.entry(DETACHED, 0x400000L), Map.entry(UNTRACED, 0x800000L),
                Map.entry(CHILD_SETTID, 0x1000000L), Map.entry(NEWCGROUP, 0x2000000L),
                Map.entry(NEWUTS, 0x4000000L), Map.entry(NEWIPC, 0x8000000L),
                Map.entry(NEWUSER, 0x10000000L), Map.entry(NEWPID, 0x20000000L),
                Map.entry(NEWNET, 0x40000000L), Map.entry(IO, 0x80000000L));
        assertEquals(expected.keySet(), EnumSet.allOf(CloneFlag.class));
        for (CloneFlag f : CloneFlag.values()) {
            assertEquals(expected.get(f), f.value(), f.name());
        }
        // Every bit of the low 32 outside the exit-signal byte is a flag, each one once.
        assertEquals(0xffffff00L, CloneFlags.ALL_FLAGS_MASK);
    }

    @Test
    void flagNamesAndByName() {
        for (CloneFlag f : CloneFlag.values()) {
            assertEquals("CLONE_" + f.name(), f.cName());
            assertEquals(f, CloneFlag.byName(f.cName()).orElseThrow());
            assertEquals(f, CloneFlag.byName(f.name()).orElseThrow());
            assertEquals(f, CloneFlag.byName(f.cName().toLowerCase(Locale.ROOT)).orElseThrow());
            assertEquals(f, CloneFlag.byName("  clone_" + f.name().toLowerCase(Locale.ROOT) + " ").orElseThrow());
        }
        assertEquals(VM, CloneFlag.byName("Clone_Vm").orElseThrow());
        assertTrue(CloneFlag.byName("CLONE_NEWTIME").isEmpty(), "legacy clone cannot express NEWTIME");
        assertTrue(CloneFlag.byName("CLONE_").isEmpty());
        assertTrue(CloneFlag.byName("").isEmpty());
        assertTrue(CloneFlag.byName(null).isEmpty());
    }

    @Test
    void namespacesAndPrivilege() {
        Set<CloneFlag> namespaces = EnumSet.of(NEWNS, NEWUTS, NEWIPC, NEWNET, NEWPID, NEWCGROUP, NEWUSER);
        for (CloneFlag f : CloneFlag.values()) {
            assertEquals(namespaces.contains(f), f.isNamespace(), f.name());
            assertEquals(namespaces.contains(f) && f != NEWUSER, f.needsPrivilege(), f.name());
        }
        assertTrue(CloneFlags.of(NEWNET).needsPrivilege());
        assertFalse(CloneFlags.of(NEWNET, NEWUSER).needsPrivilege(), "NEWUSER grants the capability");
        assertFalse(CloneFlags.of(NEWUSER).needsPrivilege());
        assertFalse(CloneFlags.THREAD.needsPrivilege());
    }

    @Test
    void everyFlagIsDocumented() {
        for (CloneFlag f : CloneFlag.values()) {
            assertTrue(f.effect().length() > 30 && f.effect().endsWith("."), f + ": " + f.effect());
            assertTrue(f.sinceKernel().matches("\\d+\\.\\d+(\\.\\d+)?"), f + ": " + f.sinceKernel());
            assertFalse(f.usedBy().isBlank(), f.name());
        }
        assertEquals("2.6.19", NEWUTS.sinceKernel());
        assertEquals("2.6.24", NEWPID.sinceKernel());
        assertEquals("5.2", PIDFD.sinceKernel());
        assertEquals("4.6", NEWCGROUP.sinceKernel());
    }

    @Test
    void usedByFollowsTheFlagTable() {
        // The "Used By" column of the flag table the model started from.
        Map<CloneFlag, String> users = Map.ofEntries(
                Map.entry(FILES, "POSIX threads"), Map.entry(FS, "POSIX threads"),
                Map.entry(SIGHAND, "POSIX threads"), Map.entry(VM, "vfork"),
                Map.entry(THREAD, "NPTL"), Map.entry(SYSVSEM, "NPTL"), Map.entry(SETTLS, "NPTL"),
                Map.entry(PARENT_SETTID, "NPTL"), Map.entry(CHILD_CLEARTID, "NPTL"),
                Map.entry(NEWNS, "Containers"), Map.entry(NEWIPC, "Containers"),
                Map.entry(NEWNET, "Containers"), Map.entry(NEWPID, "Containers"),
                Map.entry(NEWUSER, "Containers"), Map.entry(NEWUTS, "Containers"),
                Map.entry(NEWCGROUP, "Containers"), Map.entry(VFORK, "vfork"),
                Map.entry(PTRACE, "Debuggers"), Map.entry(UNTRACED, "Kernel threads"));
        users.forEach((f, who) -> assertTrue(f.usedBy().contains(who), f + " used by " + f.usedBy()));
        assertTrue(VM.usedBy().contains("POSIX threads"));
    }

    // ---- CloneRule: one test per rule, broken and kept --------------------------------------

    @Test
    void ruleThreadNeedsSighand() {
        assertBroken(CloneRule.THREAD_NEEDS_SIGHAND, CloneFlags.of(THREAD, VM));
        assertBroken(CloneRule.THREAD_NEEDS_SIGHAND, CloneFlags.of(THREAD));
        assertKept(CloneRule.THREAD_NEEDS_SIGHAND, CloneFlags.of(THREAD, SIGHAND, VM));
        assertKept(CloneRule.THREAD_NEEDS_SIGHAND, CloneFlags.of(SIGHAND, VM));
    }

    @Test
    void ruleSighandNeedsVm() {
        assertBroken(CloneRule.SIGHAND_NEEDS_VM, CloneFlags.of(SIGHAND));
        assertBroken(CloneRule.SIGHAND_NEEDS_VM, CloneFlags.of(SIGHAND, THREAD, FILES));
        assertKept(CloneRule.SIGHAND_NEEDS_VM, CloneFlags.of(SIGHAND, VM));
        assertKept(CloneRule.SIGHAND_NEEDS_VM, CloneFlags.of(VM));
    }

    @Test
    void ruleNewnsWithFs() {
        assertBroken(CloneRule.NEWNS_WITH_FS, CloneFlags.of(NEWNS, FS));
        assertKept(CloneRule.NEWNS_WITH_FS, CloneFlags.of(NEWNS, FILES));
        assertKept(CloneRule.NEWNS_WITH_FS, CloneFlags.of(FS));
    }

    @Test
    void ruleNewuserWithFs() {
        assertBroken(CloneRule.NEWUSER_WITH_FS, CloneFlags.of(NEWUSER, FS));
        assertKept(CloneRule.NEWUSER_WITH_FS, CloneFlags.of(NEWUSER, NEWNS));
        assertKept(CloneRule.NEWUSER_WITH_FS, CloneFlags.of(FS, VM));
    }

    @Test
    void ruleThreadWithNewuser() {
        assertBroken(CloneRule.THREAD_WITH_NEWUSER, CloneFlags.of(THREAD, SIGHAND, VM, NEWUSER));
        assertKept(CloneRule.THREAD_WITH_NEWUSER, CloneFlags.of(SIGHAND, VM, NEWUSER));
        assertKept(CloneRule.THREAD_WITH_NEWUSER, CloneFlags.THREAD);
    }

    @Test
    void ruleThreadWithNewpid() {
        assertBroken(CloneRule.THREAD_WITH_NEWPID, CloneFlags.of(THREAD, SIGHAND, VM, NEWPID));
        assertKept(CloneRule.THREAD_WITH_NEWPID, CloneFlags.of(NEWPID, PARENT));
        assertKept(CloneRule.THREAD_WITH_NEWPID, CloneFlags.THREAD);
    }

    @Test
    void ruleNewipcWithSysvsem() {
        assertBroken(CloneRule.NEWIPC_WITH_SYSVSEM, CloneFlags.of(NEWIPC, SYSVSEM));
        assertKept(CloneRule.NEWIPC_WITH_SYSVSEM, CloneFlags.of(NEWIPC));
        assertKept(CloneRule.NEWIPC_WITH_SYSVSEM, CloneFlags.of(SYSVSEM));
    }

    @Test
    void rulePidfdWithDetached() {
        assertBroken(CloneRule.PIDFD_WITH_DETACHED, CloneFlags.of(PIDFD, DETACHED));
        assertKept(CloneRule.PIDFD_WITH_DETACHED, CloneFlags.of(DETACHED));
        assertKept(CloneRule.PIDFD_WITH_DETACHED, CloneFlags.of(PIDFD));
    }

    @Test
    void rulePidfdWithParentSettid() {
        assertBroken(CloneRule.PIDFD_WITH_PARENT_SETTID, CloneFlags.of(PIDFD, PARENT_SETTID));
        assertKept(CloneRule.PIDFD_WITH_PARENT_SETTID, CloneFlags.of(PIDFD, CHILD_SETTID));
        assertKept(CloneRule.PIDFD_WITH_PARENT_SETTID, CloneFlags.of(PARENT_SETTID));
    }

    @Test
    void theRulesAreExactlyTheseNine() {
        assertEquals(List.of("THREAD_NEEDS_SIGHAND", "SIGHAND_NEEDS_VM", "NEWNS_WITH_FS",
                        "NEWUSER_WITH_FS", "THREAD_WITH_NEWUSER", "THREAD_WITH_NEWPID",
                        "NEWIPC_WITH_SYSVSEM", "PIDFD_WITH_DETACHED", "PIDFD_WITH_PARENT_SETTID"),
                java.util.Arrays.stream(CloneRule.values()).map(Enum::name).toList());
        for (CloneRule r : CloneRule.values()) {
            assertEquals(22, r.errno());
            for (CloneFlag f : r.present()) {
                assertTrue(r.description().contains(f.cName()), r + " names " + f);
            }
            for (CloneFlag f : r.absent()) {
                assertTrue(r.description().contains(f.cName()), r + " names " + f);
            }
        }
    }

    @Test
    void rulesIgnoreBitsThatAreNotFlags() {
        // The kernel does not look at the exit-signal byte or above bit 31 for these checks.
        assertTrue(CloneRule.THREAD_NEEDS_SIGHAND.violatedBy(THREAD.value() | 0x11));
        assertFalse(CloneRule.SIGHAND_NEEDS_VM.violatedBy(0xffL | (1L << 40)));
    }

    // ---- CloneFlags ---------------------------------------------------------------------------

    @Test
    void presetsAreValid() {
        assertEquals(0x3d0f00L, CloneFlags.THREAD.mask());
        assertEquals(EnumSet.of(VM, FS, FILES, SIGHAND, THREAD, SYSVSEM, SETTLS, PARENT_SETTID,
                CHILD_CLEARTID), CloneFlags.THREAD.flags());
        assertEquals(CloneFlags.none(), CloneFlags.FORK_LIKE);
        assertEquals(0L, CloneFlags.FORK_LIKE.mask());
        assertEquals(0x4100L, CloneFlags.VFORK_LIKE.mask());
        for (CloneFlags preset : List.of(CloneFlags.THREAD, CloneFlags.FORK_LIKE, CloneFlags.VFORK_LIKE)) {
            assertSame(preset, preset.validate());
            assertTrue(preset.violations().isEmpty(), preset.toString());
            assertTrue(preset.isValid());
        }
    }

    @Test
    void toStringParseAndOfMaskRoundTrip() {
        assertEquals("0", CloneFlags.none().toString());
        assertEquals("CLONE_VM|CLONE_FS", CloneFlags.of(FS, VM).toString());
        assertEquals("CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM"
                + "|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID", CloneFlags.THREAD.toString());
        assertEquals(CloneFlags.of(VM, FS), CloneFlags.parse("CLONE_VM|CLONE_FS"));
        assertEquals(CloneFlags.of(VM, FS), CloneFlags.parse("vm | fs"));
        assertEquals(CloneFlags.of(VM, FS), CloneFlags.parse(" Clone_Fs|VM|vm "));
        assertSame(CloneFlags.none(), CloneFlags.parse(""));
        assertSame(CloneFlags.none(), CloneFlags.parse("   "));
        assertSame(CloneFlags.none(), CloneFlags.parse("0"));
        assertSame(CloneFlags.none(), CloneFlags.ofMask(0));

        for (CloneFlag f : CloneFlag.values()) {
            CloneFlags one = CloneFlags.of(f);
            assertEquals(f.cName(), one.toString());
            assertEquals(one, CloneFlags.parse(one.toString()));
            assertEquals(one, CloneFlags.ofMask(f.value()));
        }
        Random random = new Random(42);
        for (int i = 0; i < 2000; i++) {
            long mask = random.nextLong() & CloneFlags.ALL_FLAGS_MASK;
            CloneFlags flags = CloneFlags.ofMask(mask);
            assertEquals(mask, flags.mask());
            assertEquals(flags, CloneFlags.parse(flags.toString()));
            assertEquals(flags, CloneFlags.parse(flags.toString().toLowerCase(Locale.ROOT).replace("clone_", "")));
            assertEquals(flags, CloneFlags.of(flags.flags().toArray(CloneFlag[]::new)));
            assertEquals(flags.hashCode(), CloneFlags.ofMask(mask).hashCode());
        }
        CloneFlags all = CloneFlags.ofMask(0xffffff00L);
        assertEquals(EnumSet.allOf(CloneFlag.class), all.flags());
        assertEquals(all, CloneFlags.parse(all.toString()));
    }

    @Test
    void withWithoutContainsFlags() {
        CloneFlags vm = CloneFlags.of(VM);
        CloneFlags more = vm.with(SIGHAND, THREAD);
        assertEquals(CloneFlags.of(VM, SIGHAND, THREAD), more);
        assertEquals(CloneFlags.of(VM), vm, "values are immutable");
        assertTrue(more.contains(THREAD));
        assertFalse(more.contains(FS));
        assertEquals(CloneFlags.of(VM, THREAD), more.without(SIGHAND, FS));
        assertEquals(CloneFlags.none(), more.without(CloneFlag.values()));
        assertEquals(CloneFlags.THREAD, CloneFlags.none().with(CloneFlags.THREAD.flags().toArray(CloneFlag[]::new)));
        Set<CloneFlag> flags = more.flags();
        assertThrows(UnsupportedOperationException.class, () -> flags.add(FS));
        assertThrows(UnsupportedOperationException.class, () -> more.violations().clear());
        assertNotEquals(CloneFlags.of(VM), CloneFlags.of(FS));
        assertNotEquals(CloneFlags.of(VM), (Object) "CLONE_VM");
        assertThrows(NullPointerException.class, () -> CloneFlags.of(VM, null));
    }

    @Test
    void unknownNamesAreRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CloneFlags.parse("CLONE_VM|CLONE_BOGUS"));
        assertTrue(e.getMessage().contains("CLONE_BOGUS"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CloneFlags.parse("vm | newtime"));
        assertTrue(e.getMessage().contains("newtime"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CloneFlags.parse("VM||FS"));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> CloneFlags.parse("VM|"));
        assertThrows(IllegalArgumentException.class, () -> CloneFlags.parse("0x100"));
        assertThrows(NullPointerException.class, () -> CloneFlags.parse(null));
    }

    @Test
    void unknownBitsAreRejectedByValue() {
        // SIGCHLD (17 = 0x11) is an exit signal, not flags.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CloneFlags.ofMask(CloneFlags.THREAD.mask() | 17));
        assertTrue(e.getMessage().contains("0x1,") && e.getMessage().contains("0x10"), e.getMessage());
        assertTrue(e.getMessage().contains("exit signal"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CloneFlags.ofMask(0x80));
        assertTrue(e.getMessage().contains("0x80") && e.getMessage().contains("CLONE_NEWTIME"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CloneFlags.ofMask(0xffL));
        for (int bit = 0; bit < 8; bit++) {
            assertTrue(e.getMessage().contains("0x" + Long.toHexString(1L << bit)), e.getMessage());
        }
        // clone3-only flags such as CLONE_CLEAR_SIGHAND (1 << 32) do not fit legacy clone.
        e = assertThrows(IllegalArgumentException.class, () -> CloneFlags.ofMask(VM.value() | (1L << 32)));
        assertTrue(e.getMessage().contains("0x100000000"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CloneFlags.ofMask(-1L));
        assertTrue(e.getMessage().contains("0x8000000000000000"), e.getMessage());
    }

    @Test
    void validateNamesEveryBrokenRule() {
        CloneFlags bad = CloneFlags.of(THREAD, NEWPID, NEWUSER, FS);
        assertEquals(List.of(CloneRule.THREAD_NEEDS_SIGHAND, CloneRule.NEWUSER_WITH_FS,
                CloneRule.THREAD_WITH_NEWUSER, CloneRule.THREAD_WITH_NEWPID), bad.violations());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, bad::validate);
        String m = e.getMessage();
        assertTrue(m.startsWith("invalid clone flags " + bad + ": "), m);
        assertTrue(m.contains("CLONE_THREAD requires CLONE_SIGHAND (kernel: EINVAL)"), m);
        assertTrue(m.contains("CLONE_NEWUSER cannot be combined with CLONE_FS (kernel: EINVAL)"), m);
        assertTrue(m.contains("CLONE_THREAD cannot be combined with CLONE_NEWUSER (kernel: EINVAL)"), m);
        assertTrue(m.contains("CLONE_THREAD cannot be combined with CLONE_NEWPID (kernel: EINVAL)"), m);
        assertFalse(m.contains("CLONE_SIGHAND requires"), m);

        assertEquals("invalid clone flags CLONE_VM|CLONE_THREAD: CLONE_THREAD requires CLONE_SIGHAND (kernel: EINVAL)",
                assertThrows(IllegalArgumentException.class, () -> CloneFlags.of(THREAD, VM).validate()).getMessage());

        // All the flags at once break every rule but SIGHAND_NEEDS_VM and THREAD_NEEDS_SIGHAND.
        CloneFlags all = CloneFlags.ofMask(CloneFlags.ALL_FLAGS_MASK);
        String allMessage = assertThrows(IllegalArgumentException.class, all::validate).getMessage();
        assertEquals(7, all.violations().size());
        for (CloneRule r : all.violations()) {
            assertTrue(allMessage.contains(r.summary()), r + " in " + allMessage);
        }
    }

    @Test
    void explainMentionsEveryFlagAndBrokenRule() {
        CloneFlags all = CloneFlags.ofMask(CloneFlags.ALL_FLAGS_MASK);
        String text = all.explain();
        for (CloneFlag f : CloneFlag.values()) {
            assertTrue(text.contains(f.cName() + ": " + f.effect()), f + " in:\n" + text);
        }
        for (CloneRule r : all.violations()) {
            assertTrue(text.contains(r.name()) && text.contains(r.description()), r + " in:\n" + text);
        }
        String threadText = CloneFlags.THREAD.explain();
        assertTrue(threadText.contains("valid"), threadText);
        assertEquals(CloneFlags.THREAD.flags().size() + 2, threadText.lines().count(), threadText);
        assertTrue(CloneFlags.none().explain().contains("fork"));
        assertTrue(CloneFlags.of(NEWNET).explain().contains("CAP_SYS_ADMIN"));
        Set<String> mentioned = CloneFlags.of(THREAD, VM).explain().lines()
                .filter(l -> l.startsWith("  CLONE_")).map(l -> l.substring(2, l.indexOf(':')))
                .collect(Collectors.toSet());
        assertEquals(Set.of("CLONE_VM", "CLONE_THREAD"), mentioned);
    }

    private static void assertBroken(CloneRule rule, CloneFlags flags) {
        assertTrue(rule.violatedBy(flags.mask()), rule + " should be broken by " + flags);
        assertTrue(flags.violations().contains(rule), flags.violations().toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, flags::validate);
        assertTrue(e.getMessage().contains(rule.summary()), e.getMessage());
    }

    private static void assertKept(CloneRule rule, CloneFlags flags) {
        assertFalse(rule.violatedBy(flags.mask()), rule + " should hold for " + flags);
        assertFalse(flags.violations().contains(rule), flags.violations().toString());
    }
}
