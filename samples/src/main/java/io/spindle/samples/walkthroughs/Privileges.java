package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlags;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

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

    /** Says why a walkthrough cannot run here; returns {@code Walkthrough.NEEDS_PRIVILEGE}. */
    static int refuse(PrintStream out, CloneFlags flags) {
        out.println("  needs CAP_SYS_ADMIN: " + flags + " makes new namespaces, which the kernel allows only"
                + " to a privileged caller (EPERM otherwise). Run it as root.");
        return io.spindle.samples.Walkthrough.NEEDS_PRIVILEGE;
    }
}
