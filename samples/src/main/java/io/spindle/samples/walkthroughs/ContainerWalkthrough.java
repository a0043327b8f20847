package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneException;
import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneProcess;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code container}: the tutorial's container model in one clone. A child made with
 * {@code CLONE_NEWUTS|NEWPID|NEWNS|NEWIPC|NEWNET} (plus {@code CLONE_NEWUSER} when this process
 * lacks {@code CAP_SYS_ADMIN}) sets a hostname of its own, finds itself pid 1, mounts a proc of
 * its own pid namespace over {@code /proc} (after making its mount tree private) in which it is
 * the only process, and lists its network devices by index: only the loopback device, down.
 * It sends nothing anywhere. It reports through a {@link SharedBlock}; this class checks.
 */
public final class ContainerWalkthrough implements Walkthrough {
    static final CloneFlags ROOT_FLAGS = CloneFlags.of(CloneFlag.NEWUTS, CloneFlag.NEWPID, CloneFlag.NEWNS,
            CloneFlag.NEWIPC, CloneFlag.NEWNET);
    static final String HOSTNAME = "spindle-container";
    static final List<String> NAMESPACES = List.of("uts", "pid", "mnt", "ipc", "net");
    /**
     * Devices the kernel itself puts in every new network namespace when their tunnel module is
     * loaded (unless net.core.fb_tunnels_only_for_init_net is set): placeholders, not the host's.
     */
    static final Set<String> FALLBACK_TUNNELS = Set.of("tunl0", "sit0", "ip6tnl0", "ip6gre0", "gre0", "gretap0",
            "erspan0", "ip_vti0", "ip6_vti0");

    // struct container_report (walkthroughs.c): hostname_wanted(65b) | hostname_seen(65b) |
    // proc_self(16b) | pad(2b) | step(4b) | error(4b) | pid(4b) | proc_pids(4b) | first_proc_pid(4b) |
    // if_count(4b) | if_names(16 x 16b) | if_up(16 x 4b) | ns_links(5 x 48b)
    private static final int HOST_MAX = 65, PROC_SELF_MAX = 16, IF_MAX = 16, IF_NAME_MAX = 16, NS_LINK_MAX = 48;
    private static final long HOSTNAME_WANTED = 0, HOSTNAME_SEEN = 65, PROC_SELF = 130, STEP = 148, ERROR = 152,
            PID = 156, PROC_PIDS = 160, FIRST_PROC_PID = 164, IF_COUNT = 168, IF_NAMES = 172, IF_UP = 428,
            NS_LINKS = 492, REPORT_SIZE = 732;
    private static final String[] STEPS = {"done", "making / private", "stat", "mount", "create",
            "mounting and reading its own /proc", "opening a socket to list devices", "sethostname"};
    private static final int EPERM = 1;

    public record Device(String name, boolean up) {}

    /**
     * What the child found, and the parent's side for comparison.
     *
     * @param procSelf     where {@code /proc/self} points in the child's own proc
     * @param procPids     how many processes its /proc lists
     * @param namespaces   the child's {@code /proc/self/ns/<kind>} links, and {@code parentNamespaces} ours
     */
    public record Findings(CloneFlags flags, int step, int errno, String hostname, String parentHostnameBefore,
                           String parentHostnameAfter, int pid, String procSelf, int procPids, int firstProcPid,
                           List<Device> devices, Map<String, String> namespaces, Map<String, String> parentNamespaces) {
        public String failedStep() {
            return step >= 0 && step < STEPS.length ? STEPS[step] : "step " + step;
        }

        public boolean ownHostname() {
            return hostname.equals(HOSTNAME) && parentHostnameAfter.equals(parentHostnameBefore);
        }

        public boolean pidOne() {
            return pid == 1 && procSelf.equals("1") && procPids == 1 && firstProcPid == 1;
        }

        public boolean loopbackOnly() {
            return devices.stream().anyMatch(d -> d.name().equals("lo"))
                    && devices.stream().allMatch(d -> d.name().equals("lo") || FALLBACK_TUNNELS.contains(d.name()));
        }

        /** The namespace kinds whose link is the same in the child and the parent (none, when it worked). */
        public List<String> sharedNamespaces() {
            return NAMESPACES.stream().filter(k -> namespaces.getOrDefault(k, "").isEmpty()
                    || namespaces.get(k).equals(parentNamespaces.get(k))).toList();
        }

        public boolean holds() {
            return step == 0 && ownHostname() && pidOne() && loopbackOnly() && sharedNamespaces().isEmpty();
        }
    }

    @Override
    public String name() {
        return "container";
    }

    @Override
    public String summary() {
        return "NEWUTS|NEWPID|NEWNS|NEWIPC|NEWNET at once: own hostname, pid 1, own /proc, only lo";
    }

    /** False: without CAP_SYS_ADMIN it adds CLONE_NEWUSER, which unprivileged users may use where enabled. */
    @Override
    public boolean needsPrivilege() {
        return false;
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of(CloneFlag.NEWNET);
    }

    /** The flags this process uses: {@link #ROOT_FLAGS}, plus CLONE_NEWUSER without CAP_SYS_ADMIN. */
    public static CloneFlags flags() {
        return Privileges.hasSysAdmin() ? ROOT_FLAGS : ROOT_FLAGS.with(CloneFlag.NEWUSER);
    }

    /** @throws CloneException when the kernel refuses the clone */
    public Findings observe() throws IOException {
        SamplesNative.checkLayout(SamplesNative.Report.CONTAINER, REPORT_SIZE);
        CloneFlags flags = flags();
        Map<String, String> parentNamespaces = new LinkedHashMap<>();
        for (String kind : NAMESPACES) {
            parentNamespaces.put(kind, Files.readSymbolicLink(Path.of("/proc/self/ns", kind)).toString());
        }
        String parentBefore = NewUtsWalkthrough.hostname();
        try (SharedBlock report = SharedBlock.map(REPORT_SIZE)) {
            report.setString(HOSTNAME_WANTED, HOST_MAX, HOSTNAME);
            CloneProcess child = CloneProcess.start(flags, SamplesNative.function("sample_container"), report.address());
            CloneProcess.ExitStatus status = child.join();
            if (!status.exited()) throw new IllegalStateException("the container child was " + status);
            List<Device> devices = new ArrayList<>();
            int count = Math.min(report.getInt(IF_COUNT), IF_MAX);
            for (int i = 0; i < count; i++) {
                devices.add(new Device(report.getString(IF_NAMES + (long) i * IF_NAME_MAX, IF_NAME_MAX),
                        report.getInt(IF_UP + 4L * i) != 0));
            }
            Map<String, String> namespaces = new LinkedHashMap<>();
            for (int k = 0; k < NAMESPACES.size(); k++) {
                namespaces.put(NAMESPACES.get(k), report.getString(NS_LINKS + (long) k * NS_LINK_MAX, NS_LINK_MAX));
            }
            return new Findings(flags, report.getInt(STEP), report.getInt(ERROR), report.getString(HOSTNAME_SEEN, HOST_MAX),
                    parentBefore, NewUtsWalkthrough.hostname(), report.getInt(PID), report.getString(PROC_SELF, PROC_SELF_MAX),
                    report.getInt(PROC_PIDS), report.getInt(FIRST_PROC_PID), List.copyOf(devices), namespaces,
                    parentNamespaces);
        }
    }

    @Override
    public int run(List<String> args, PrintStream out) throws IOException {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Findings f;
        try {
            f = observe();
        } catch (CloneException e) {
            if (e.isPermissionDenied()) {
                out.println("  needs CAP_SYS_ADMIN, or unprivileged user namespaces: the kernel refused " + flags()
                        + " (" + e.getMessage() + ")");
                return NEEDS_PRIVILEGE;
            }
            throw e;
        }
        out.println("  child (" + f.flags() + "):" + (f.flags().contains(CloneFlag.NEWUSER)
                ? " NEWUSER added, as this process lacks CAP_SYS_ADMIN: the child holds it in its new user namespace" : ""));
        if (f.step() != 0) {
            out.println("    failed at " + f.failedStep() + " (errno " + f.errno() + ")");
            if (f.errno() == EPERM && f.flags().contains(CloneFlag.NEWUSER)) {
                out.println("  needs CAP_SYS_ADMIN: inside an unprivileged user namespace the kernel refused that step");
                return NEEDS_PRIVILEGE;
            }
            return 1;
        }
        out.println("    hostname '" + f.hostname() + "' (the parent's is still '" + f.parentHostnameAfter() + "')");
        out.println("    getpid() " + f.pid() + "; in its own /proc, /proc/self -> " + f.procSelf() + " and "
                + f.procPids() + " process listed (pid " + f.firstProcPid() + ")");
        out.println("    network devices: " + f.devices().stream().map(d -> d.name() + (d.up() ? " (up)" : " (down)"))
                .collect(Collectors.joining(", ")));
        List<String> shared = f.sharedNamespaces();
        out.println("    namespaces " + String.join(", ", NAMESPACES) + ": " + (shared.isEmpty() ? "all new (e.g. "
                + f.namespaces().get("net") + ", the parent's " + f.parentNamespaces().get("net") + ")"
                : "still the parent's: " + shared));
        out.println("  why: each CLONE_NEW* flag gives the child a fresh copy or an empty instance of one kind of"
                + " namespace; together they are the isolation a container runtime builds on");
        out.println(f.holds() ? "  shown: own hostname, pid 1 alone in its /proc, only a loopback device, all namespaces new"
                : "  NOT shown: hostname " + f.ownHostname() + ", pid 1 " + f.pidOne() + ", loopback only "
                + f.loopbackOnly() + ", namespaces new " + shared.isEmpty());
        return f.holds() ? 0 : 1;
    }
}
