package io.spindle.runtime.internal;

/** The errno values the runtime's Java side reacts to (Linux, all architectures Spindle builds on). Internal. */
public final class Errno {
    public static final int EPERM = 1;
    public static final int EINTR = 4;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int EUSERS = 87;
    public static final int ETIMEDOUT = 110;

    private Errno() {}

    /** "EINVAL (Invalid argument)". */
    public static String describe(int errno) {
        String name = switch (errno) {
            case EPERM -> "EPERM";
            case EINTR -> "EINTR";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EINVAL -> "EINVAL";
            case ENOSPC -> "ENOSPC";
            case EUSERS -> "EUSERS";
            case ETIMEDOUT -> "ETIMEDOUT";
            default -> "errno " + errno;
        };
        return name + " (" + RuntimeNative.spn_strerror(errno) + ")";
    }
}
