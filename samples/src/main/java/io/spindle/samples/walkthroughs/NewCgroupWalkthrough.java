package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneException;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@code new-cgroup}: the cgroup a process sees itself in. A child of the JVM moves into a new
 * cgroup below the JVM's, then clones a grandchild that reads {@code /proc/self/cgroup}. With
 * {@code CLONE_NEWCGROUP} the grandchild's cgroup namespace has the cgroup it was born in as
 * its root: it reads {@code /}. Without the flag it reads the full path. (The child moves first
 * so that the difference shows wherever the JVM is: at the root of every hierarchy a new
 * namespace would read {@code /} too.)
 */
public final class NewCgroupWalkthrough implements Walkthrough {
    static final CloneFlags FLAGS = CloneFlags.of(CloneFlag.NEWCGROUP);

    /** A cgroup hierarchy the JVM is in: its line's prefix in /proc/self/cgroup, its path, its directory. */
    record Hierarchy(String prefix, String path, Path directory) {}

    /** @param withFlag, withoutFlag the grandchild's line for the hierarchy in /proc/self/cgroup */
    public record Observations(String cgroupPath, String withFlag, String withoutFlag, String prefix) {
        public boolean holds() {
            return withFlag.equals(prefix + "/") && withoutFlag.equals(prefix + cgroupPath);
        }
    }

    @Override
    public String name() {
        return "new-cgroup";
    }

    @Override
    public String summary() {
        return "CLONE_NEWCGROUP: the child's own cgroup is the root of what it sees";
    }

    @Override
    public boolean needsPrivilege() {
        return true;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.NEWCGROUP);
    }

    /** Empty when no hierarchy lets this process make a cgroup (it is not root). */
    public Optional<Observations> observe() throws IOException, InterruptedException {
        for (Hierarchy h : hierarchies()) {
            Path dir = h.directory().resolve("spindle-new-cgroup-" + ProcessHandle.current().pid());
            try {
                Files.createDirectory(dir);
            } catch (IOException notOurs) {
                continue;
            }
            try {
                String path = (h.path().equals("/") ? "" : h.path()) + "/" + dir.getFileName();
                return Optional.of(new Observations(path, look(dir, h, FLAGS), look(dir, h, CloneFlags.none()), h.prefix()));
            } finally {
                remove(dir);
            }
        }
        return Optional.empty();
    }

    private static String look(Path dir, Hierarchy h, CloneFlags grandchildFlags) {
        try (FlagReport report = new FlagReport()) {
            report.text(dir.resolve("cgroup.procs").toString()).text2(h.prefix()).value(8, grandchildFlags.mask());
            report.run(CloneFlags.none(), "sample_newcgroup_child");
            if (report.value(0) != 0) throw new IllegalStateException("the child could not move into " + dir + ": errno " + -report.value(0));
            return report.text();
        }
    }

    /** The hierarchies this process is in, each with the directory of its cgroup (from mountinfo). */
    static List<Hierarchy> hierarchies() throws IOException {
        List<String[]> mounts = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream().map(l -> l.split(" ")).toList();
        List<Hierarchy> found = new java.util.ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
            String[] f = line.split(":", 3);
            Set<String> controllers = new HashSet<>(Arrays.asList(f[1].split(",")));
            for (String[] m : mounts) {
                int dash = Arrays.asList(m).indexOf("-");
                if (dash < 0 || dash + 3 >= m.length) continue;
                String type = m[dash + 1];
                Set<String> options = new HashSet<>(Arrays.asList(m[dash + 3].split(",")));
                boolean match = f[0].equals("0") ? type.equals("cgroup2") : type.equals("cgroup") && options.containsAll(controllers);
                String root = m[3];
                if (!match || !(f[2].equals(root) || f[2].startsWith(root.equals("/") ? "/" : root + "/"))) continue;
                found.add(new Hierarchy(f[0] + ":" + f[1] + ":", f[2], Path.of(m[4] + f[2].substring(root.equals("/") ? 0 : root.length()))));
                break;
            }
        }
        return found;
    }

    /** rmdir once its last process (the child, reaped by now) has left. */
    private static void remove(Path dir) throws IOException, InterruptedException {
        for (int i = 0; ; i++) {
            try {
                Files.delete(dir);
                return;
            } catch (IOException busy) {
                if (i == 500) throw busy;
                Thread.sleep(10);
            }
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) throws IOException, InterruptedException {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        if (!Privileges.hasSysAdmin()) return Privileges.refuse(out, FLAGS);
        Optional<Observations> observed;
        try {
            observed = observe();
        } catch (CloneException e) {
            if (!e.isPermissionDenied()) throw e;
            return Privileges.refuse(out, FLAGS);
        }
        if (observed.isEmpty()) {
            out.println("  cannot be shown here: no cgroup hierarchy of this process lets it make a cgroup to move a child into");
            return NEEDS_PRIVILEGE;
        }
        Observations o = observed.get();
        out.println("  a child of the JVM moved into " + o.cgroupPath() + ", then cloned a grandchild, which reads /proc/self/cgroup:");
        out.println("    with " + FLAGS + ": " + o.withFlag());
        out.println("    without it:       " + o.withoutFlag());
        out.println("  why: a new cgroup namespace takes the cgroup its first process is in as its root, so paths inside"
                + " are relative to it; a container cannot read where on the host it has been put");
        out.println(o.holds() ? "  shown: \"/\" with CLONE_NEWCGROUP, the full path without" : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
