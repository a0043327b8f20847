package io.spindle.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An isolated pool run by a user who is not root: the child gets a user namespace too (the
 * kernel allows the other namespaces inside one). As root, the checks run in a JVM started
 * as nobody (setpriv), with the class path copied where nobody can read it; as another user,
 * they run here. Skipped, saying so, only where the kernel forbids unprivileged user
 * namespaces.
 */
class IsolatedUnprivilegedTest {
    static final String OK = "UNPRIVILEGED ISOLATION OK";

    @Test
    @Timeout(300)
    void anIsolatedPoolWorksForAUserWhoIsNotRoot() throws Exception {
        if (!SchedTestLib.isRoot()) {
            assumeTrue(userNamespacesAllowed(), "this kernel forbids unprivileged user namespaces, which an isolated pool"
                    + " run by a user who is not root needs (kernel.unprivileged_userns_clone or an LSM policy)");
            Checks.run();
            return;
        }
        Path dir = Files.createTempDirectory("spindle-unprivileged");
        Files.setPosixFilePermissions(dir, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_EXECUTE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_EXECUTE));
        List<String> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(":")) {
            Path p = Path.of(entry);
            if (Files.isRegularFile(p) && !readableByOthers(p)) {
                Path copy = dir.resolve(classPath.size() + "-" + p.getFileName());
                Files.copy(p, copy, StandardCopyOption.REPLACE_EXISTING);
                Files.setPosixFilePermissions(copy, Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OTHERS_READ,
                        PosixFilePermission.GROUP_READ));
                classPath.add(copy.toString());
            } else {
                classPath.add(entry);
            }
        }
        Path tmp = Files.createDirectories(dir.resolve("tmp"));
        tmp.toFile().setWritable(true, false);
        List<String> command = List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-Djava.io.tmpdir=" + tmp, "-Djna.tmpdir=" + tmp, "-Xmx256m", "-cp", String.join(":", classPath),
                Checks.class.getName());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the unprivileged JVM did not end: " + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains(OK), out);
        assertTrue(out.contains("uid 65534"), out);
    }

    static boolean readableByOthers(Path file) throws IOException {
        for (Path p = file.toAbsolutePath(); p != null; p = p.getParent()) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
            if (!perms.contains(p.equals(file.toAbsolutePath()) ? PosixFilePermission.OTHERS_READ : PosixFilePermission.OTHERS_EXECUTE)) {
                return false;
            }
        }
        return true;
    }

    static boolean userNamespacesAllowed() throws Exception {
        Process p = new ProcessBuilder("unshare", "--user", "true").redirectErrorStream(true).start();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    /** What an unprivileged user's isolated pool must do: run, contain, crash and restart. */
    public static final class Checks {
        public static void main(String[] args) throws Exception {
            System.out.println("uid " + new com.sun.security.auth.module.UnixSystem().getUid());
            run();
            System.out.println(OK);
        }

        static void run() throws Exception {
            try (Spindle spindle = IsolatedPoolTest.isolated(2, IsolatedPoolTest.isolation())) {
                for (long i = 0; i < 100; i++) check(spindle.spawn(SpindleTest.RETURN_ARG, i).join() == i, "a task's result");
                check(spindle.spawn(IsolatedPoolTest.fn("spn_test_getpid_raw"), 0).join() == 1, "pid 1 of its own namespace");
                try {
                    spindle.spawn(IsolatedPoolTest.fn("spn_test_crash_segv"), 0x10).join();
                    check(false, "a segfault fails its join");
                } catch (TaskCrashedException e) {
                    check(e.signal() == 11, "the crash's signal: " + e.getMessage());
                }
                check(spindle.spawn(SpindleTest.RETURN_ARG, 9).join() == 9, "the restarted child runs tasks");
            }
        }

        static void check(boolean ok, String what) {
            if (!ok) throw new AssertionError(what);
        }
    }
}
