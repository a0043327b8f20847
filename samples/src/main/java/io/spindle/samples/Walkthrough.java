package io.spindle.samples;

import io.spindle.runtime.CloneFlag;

import java.util.List;

/**
 * A walkthrough command: one behaviour of clone(2), shown on raw clone through Spindle's
 * runtime, printing what happened and why. Its {@code run} returns 0 when the behaviour was
 * shown, 3 when the machine lacks the privilege it needs (said clearly), 1 when what it saw
 * contradicts the claim.
 */
public interface Walkthrough extends Command {
    int NEEDS_PRIVILEGE = 3;

    /** True if this walkthrough needs CAP_SYS_ADMIN (the tour skips it, saying so, without). */
    boolean needsPrivilege();

    /** The flags whose effect this walkthrough shows (the tour's table of flags). */
    List<CloneFlag> flagsShown();
}
