package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.Command;
import io.spindle.samples.UsageException;

import java.io.PrintStream;
import java.util.List;

/**
 * {@code flags}: the table of clone's flags; {@code flags CLONE_X|CLONE_Y} checks a combination
 * against the kernel's rules ({@link CloneFlags#violations()}) and explains it. Exit 0 when the
 * kernel could accept it, 1 when it breaks a rule; an unknown name is a usage error (2).
 */
public final class FlagsCommand implements Command {
    @Override
    public String name() {
        return "flags";
    }

    @Override
    public String summary() {
        return "the table of clone's flags; 'flags CLONE_A|CLONE_B' checks and explains a combination";
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (args.isEmpty()) {
            printTable(out);
            return 0;
        }
        CloneFlags flags = parse(args);
        out.print(flags.explain());
        return flags.isValid() ? 0 : 1;
    }

    /**
     * The combination the arguments name: one argument {@code CLONE_VM|CLONE_FS}, or several
     * ({@code CLONE_VM CLONE_FS}, {@code vm "|" fs}), joined with {@code |}.
     */
    static CloneFlags parse(List<String> args) {
        String text = String.join("|", args.stream().filter(a -> !a.isBlank() && !a.strip().equals("|")).toList());
        try {
            return CloneFlags.parse(text);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage() + "; flag names are the C ones (CLONE_VM) or short (vm),"
                    + " joined with |; run 'flags' for the table");
        }
    }

    static void printTable(PrintStream out) {
        out.println("clone(2) flags (legacy clone: the low byte is the exit signal, the flags are bits 8..31)");
        out.printf("%-10s  %-19s  %-9s  %-6s  %s%n", "value", "flag", "privilege", "since", "used by");
        for (CloneFlag f : CloneFlag.values()) {
            String privilege = f.needsPrivilege() ? "SYS_ADMIN" : f == CloneFlag.NEWUSER ? "none*" : "-";
            out.printf("0x%08x  %-19s  %-9s  %-6s  %s%n", f.value(), f.cName(), privilege, f.sinceKernel(), f.usedBy());
            out.println("            " + f.effect());
        }
        out.println("SYS_ADMIN: EPERM without CAP_SYS_ADMIN, unless CLONE_NEWUSER is in the same call (the child"
                + " then holds the capability in its new user namespace). *none since Linux 3.8.");
        out.println("Check a combination: flags CLONE_THREAD|CLONE_VM");
    }
}
