package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneException;
import io.spindle.runtime.CloneFlags;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** What this process may do: the namespace walkthroughs need {@code CAP_SYS_ADMIN}. */
public final class Privileges {
    private static final int CAP_SYS_ADMIN = 21;

    private Privileges() {}

    /** True when the effective capability set holds CAP_SYS_ADMIN (root normally does). */
    public static boolean hasSysAdmin() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) {
                    long caps = Long.parseUnsignedLong(line.substring("CapEff:".length()).trim(), 16);
                    return (caps & (1L << CAP_SYS_ADMIN)) != 0;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return false;
        }
        return false;
    }

    /** What a namespace walkthrough observes with its clone. */
    @FunctionalInterface
    interface Observation<T, E extends Exception> {
        T observe() throws E;
    }

    /**
     * Runs a namespace walkthrough's observation, or says why it cannot run here and gives
     * empty: when this process lacks CAP_SYS_ADMIN, or the kernel refuses the clone anyway
     * (EPERM, in a container that drops it, say). Other failures go to the caller.
     */
    static <T, E extends Exception> Optional<T> observeOrRefuse(PrintStream out, CloneFlags flags, Observation<T, E> observation) throws E {
        if (!hasSysAdmin()) {
            refuse(out, flags);
            return Optional.empty();
        }
        try {
            return Optional.of(observation.observe());
        } catch (CloneException e) {
            if (!e.isPermissionDenied()) throw e;
            refuse(out, flags);
            return Optional.empty();
        }
    }

    /** Says why a walkthrough cannot run here; returns {@code Walkthrough.NEEDS_PRIVILEGE}. */
    static int refuse(PrintStream out, CloneFlags flags) {
        out.println("  needs CAP_SYS_ADMIN: " + flags + " makes new namespaces, which the kernel allows only"
                + " to a privileged caller (EPERM otherwise). Run it as root.");
        return io.spindle.samples.Walkthrough.NEEDS_PRIVILEGE;
    }
}
