package io.spindle.runtime;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.StringJoiner;

/**
 * An immutable set of {@link CloneFlag}s: the flags half of the legacy {@code clone(2)}
 * argument. The exit-signal byte ({@code CSIGNAL}, {@code 0xff}) is not part of it; the code
 * that calls clone adds the signal itself, because the kernel takes any byte there.
 *
 * <p>Values compare by mask. {@link #toString()} lists the flags in bit order, joined by
 * {@code |} as in C ({@code "CLONE_VM|CLONE_FS"}), or {@code "0"} for no flags, and
 * {@link #parse(String)} reads that back.
 *
 * <p>{@link #validate()} is the gate of invariant 4 (bad input never reaches the kernel): it
 * refuses every mask that the kernel would refuse with {@code EINVAL} whatever the caller's
 * state ({@link CloneRule}). Errors that depend on the caller (privilege, namespaces already
 * entered) can still come back from the kernel; {@link CloneRule} lists them.
 */
public final class CloneFlags {

    /** The exit-signal byte of the legacy clone argument: a signal number, not flags. */
    public static final long CSIGNAL = 0xffL;

    /** Every bit some {@link CloneFlag} owns: {@code 0xffffff00}. */
    public static final long ALL_FLAGS_MASK = maskOf(CloneFlag.values());

    private static final CloneFlags NONE = new CloneFlags(0L);

    /**
     * What glibc's {@code pthread_create} passes: share memory, filesystem context, descriptors,
     * signal handlers, the thread group and semaphore undo lists; set TLS; publish the tid
     * before the thread runs and clear it (with a futex wake) when it exits, for joins.
     */
    public static final CloneFlags THREAD = of(CloneFlag.VM, CloneFlag.FS, CloneFlag.FILES,
            CloneFlag.SIGHAND, CloneFlag.THREAD, CloneFlag.SYSVSEM, CloneFlag.SETTLS,
            CloneFlag.PARENT_SETTID, CloneFlag.CHILD_CLEARTID);

    /** No flags: the child gets a private copy of everything, as with {@code fork}. */
    public static final CloneFlags FORK_LIKE = NONE;

    /** {@code vfork}: borrow the caller's memory while the caller waits for execve or exit. */
    public static final CloneFlags VFORK_LIKE = of(CloneFlag.VM, CloneFlag.VFORK);

    private final long mask;

    private CloneFlags(long mask) {
        this.mask = mask;
    }

    /** The set of exactly these flags (duplicates are harmless). */
    public static CloneFlags of(CloneFlag... flags) {
        return ofMask(maskOf(flags));
    }

    /** The empty set, printed {@code "0"}. */
    public static CloneFlags none() {
        return NONE;
    }

    /**
     * The flags of {@code mask}.
     *
     * @throws IllegalArgumentException naming every bit that is not a flag: bits of the
     *         exit-signal byte {@code 0xff} and bits above 31
     */
    public static CloneFlags ofMask(long mask) {
        long unknown = mask & ~ALL_FLAGS_MASK;
        if (unknown != 0) {
            throw new IllegalArgumentException(unknownBitsMessage(mask, unknown));
        }
        return mask == 0 ? NONE : new CloneFlags(mask);
    }

    private static String unknownBitsMessage(long mask, long unknown) {
        StringJoiner bits = new StringJoiner(", ");
        for (long rest = unknown; rest != 0; rest &= rest - 1) {
            bits.add("0x" + Long.toHexString(Long.lowestOneBit(rest)));
        }
        StringBuilder m = new StringBuilder()
                .append("clone mask 0x").append(Long.toHexString(mask))
                .append(" has bits that are not clone flags: ").append(bits);
        if ((unknown & CSIGNAL) != 0) {
            m.append(" (the low byte 0xff is the exit signal, not flags");
            if ((unknown & 0x80L) != 0) {
                // The one question people ask: 0x80 is CLONE_NEWTIME for clone3/unshare only.
                m.append("; 0x80 is CLONE_NEWTIME, which legacy clone cannot express");
            }
            m.append(')');
        }
        if ((unknown & ~0xffffffffL) != 0) {
            m.append(" (legacy clone reads only the low 32 bits)");
        }
        return m.toString();
    }

    /**
     * Reads flags joined by {@code |}: C names or short names, any case, blanks ignored
     * ({@code "CLONE_VM|CLONE_FS"}, {@code "vm | fs"}). {@code ""} and {@code "0"} are no flags.
     *
     * @throws IllegalArgumentException naming the first word that is not a flag
     */
    public static CloneFlags parse(String text) {
        Objects.requireNonNull(text, "text");
        String t = text.strip();
        if (t.isEmpty() || t.equals("0")) {
            return NONE;
        }
        long m = 0;
        for (String word : t.split("\\|", -1)) {
            String w = word.strip();
            if (w.isEmpty()) {
                throw new IllegalArgumentException("empty clone flag name in \"" + text + "\"");
            }
            CloneFlag f = CloneFlag.byName(w).orElseThrow(() -> new IllegalArgumentException(
                    "unknown clone flag \"" + w + "\" in \"" + text + "\""));
            m |= f.value();
        }
        return new CloneFlags(m);
    }

    /** The bits, ready to be or'ed with an exit signal and passed to clone. */
    public long mask() {
        return mask;
    }

    public boolean contains(CloneFlag flag) {
        return (mask & flag.value()) != 0;
    }

    /** This set plus {@code flags}. */
    public CloneFlags with(CloneFlag... flags) {
        return ofMask(mask | maskOf(flags));
    }

    /** This set minus {@code flags}. */
    public CloneFlags without(CloneFlag... flags) {
        return ofMask(mask & ~maskOf(flags));
    }

    /** The flags, in bit order, as an unmodifiable copy. */
    public Set<CloneFlag> flags() {
        EnumSet<CloneFlag> s = EnumSet.noneOf(CloneFlag.class);
        for (CloneFlag f : CloneFlag.values()) {
            if (contains(f)) {
                s.add(f);
            }
        }
        return Collections.unmodifiableSet(s);
    }

    /** Every {@link CloneRule} this set breaks, in declaration order; empty when valid. */
    public List<CloneRule> violations() {
        List<CloneRule> broken = new ArrayList<>();
        for (CloneRule r : CloneRule.values()) {
            if (r.violatedBy(mask)) {
                broken.add(r);
            }
        }
        return Collections.unmodifiableList(broken);
    }

    /** True when no {@link CloneRule} is broken. */
    public boolean isValid() {
        return violations().isEmpty();
    }

    /**
     * True when a caller without {@code CAP_SYS_ADMIN} would get {@code EPERM}: some namespace
     * flag other than NEWUSER, and no NEWUSER to grant the capability in the new namespace.
     */
    public boolean needsPrivilege() {
        if (contains(CloneFlag.NEWUSER)) {
            return false;
        }
        for (CloneFlag f : flags()) {
            if (f.needsPrivilege()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Returns this set when the kernel could accept it.
     *
     * @throws IllegalArgumentException naming every broken rule, e.g. {@code "invalid clone
     *         flags CLONE_VM|CLONE_THREAD: CLONE_THREAD requires CLONE_SIGHAND (kernel: EINVAL)"}
     */
    public CloneFlags validate() {
        List<CloneRule> broken = violations();
        if (broken.isEmpty()) {
            return this;
        }
        StringJoiner why = new StringJoiner("; ", "invalid clone flags " + this + ": ", "");
        for (CloneRule r : broken) {
            why.add(r.summary());
        }
        throw new IllegalArgumentException(why.toString());
    }

    /** Several lines for people: the mask, each flag with its effect, then each broken rule. */
    public String explain() {
        StringBuilder b = new StringBuilder();
        b.append(this).append(" (0x").append(Long.toHexString(mask)).append(")\n");
        if (mask == 0) {
            b.append("  no flags: the child gets a private copy of everything, as with fork\n");
        }
        for (CloneFlag f : flags()) {
            b.append("  ").append(f.cName()).append(": ").append(f.effect()).append('\n');
        }
        if (needsPrivilege()) {
            b.append("  needs CAP_SYS_ADMIN (or CLONE_NEWUSER in the same call), else EPERM\n");
        }
        List<CloneRule> broken = violations();
        if (broken.isEmpty()) {
            b.append("valid: no rule of the kernel is broken\n");
        } else {
            b.append("invalid, the kernel answers EINVAL:\n");
            for (CloneRule r : broken) {
                b.append("  ").append(r.name()).append(": ").append(r.description()).append('\n');
            }
        }
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CloneFlags other && other.mask == mask;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(mask);
    }

    /** {@code "CLONE_A|CLONE_B"} in bit order, or {@code "0"} for no flags. */
    @Override
    public String toString() {
        if (mask == 0) {
            return "0";
        }
        StringJoiner j = new StringJoiner("|");
        for (CloneFlag f : flags()) {
            j.add(f.cName());
        }
        return j.toString();
    }

    private static long maskOf(CloneFlag... flags) {
        long m = 0;
        for (CloneFlag f : flags) {
            m |= Objects.requireNonNull(f, "flag").value();
        }
        return m;
    }
}
