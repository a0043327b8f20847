package io.spindle.runtime;

import java.time.Duration;
import java.util.Objects;

/** The rule every timed join in Spindle follows for its {@link Duration}. */
public final class Timeouts {
    private Timeouts() {}

    /**
     * The timeout in nanoseconds: not null, not negative (IllegalArgumentException naming
     * it), and a duration too long for a long means "for ever, practically" (Long.MAX_VALUE).
     */
    public static long toNanos(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) throw new IllegalArgumentException("join timeout is negative: " + timeout);
        try {
            return timeout.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }
}
