package io.spindle.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The scheduler's C core with no JVM (src/test/selftest/sched_selftest.c: the ring, workers
 * fed from C, green threads that spawn, yield, join and are stolen, fork-join, typed calls),
 * built with the project's own build-native.sh and run three ways:
 * <ul>
 *   <li>on this machine;
 *   <li>under ThreadSanitizer, which holds every access to the C11 model rather than to this
 *       CPU's: a data race fails the test (the one race the code explains is suppressed in
 *       tsan.supp);
 *   <li>built for AArch64 with Debian's cross compiler and run under qemu-user: the context
 *       switch, the typed-call trampoline and the worker loop executed, not only assembled.
 *       (qemu runs the guest's memory accesses in the host's order, so this does not test
 *       weak ordering; the C11 argument and the sanitizer do.)
 * </ul>
 * {@code ./spindle test} installs the cross compiler, qemu-user and libtsan when it can (as
 * root, with apt-get); without them the test says what is missing and skips.
 */
class NativeSelfTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    static final Path BUILD = ROOT.resolve("build/build-native.sh");
    static final Path SOURCES = ROOT.resolve("scheduler/src/main/c");
    static final Path SELFTEST = ROOT.resolve("scheduler/src/test/selftest");

    static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }

    record Run(int code, String out) {}

    static Run run(List<String> command, String... environment) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        for (int i = 0; i + 1 < environment.length; i += 2) builder.environment().put(environment[i], environment[i + 1]);
        Process p = builder.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not end:\n" + out);
        }
        return new Run(p.exitValue(), out);
    }

    /** Builds the self-test with compiler {@code cc} (extra flags after), into a fresh folder. */
    static Path build(String cc, String... flags) throws Exception {
        Path program = Files.createTempDirectory("spindle-selftest").resolve("sched_selftest");
        List<String> command = new ArrayList<>(List.of(BUILD.toString(), "--executable", program.toString(),
                SOURCES.toString(), SELFTEST.resolve("sched_selftest.c").toString()));
        command.addAll(List.of(flags));
        Run built = run(command, "CC", cc);
        assertEquals(0, built.code(), "the self-test did not build with " + cc + ":\n" + built.out());
        return program;
    }

    static void assertPassed(Run r, String how) {
        assertEquals(0, r.code(), how + ":\n" + r.out());
        assertTrue(r.out().contains("selftest OK"), how + ":\n" + r.out());
        assertTrue(r.out().contains("each taken once") && r.out().contains("each run once"), r.out());
    }

    @Test
    @Timeout(300)
    void theCoreRunsHereWithEveryTaskRunOnce() throws Exception {
        Path program = build("gcc");
        assertPassed(run(List.of(program.toString())), "natively");
    }

    @Test
    @Timeout(300)
    void theCoreHasNoDataRacesUnderTheC11Model() throws Exception {
        assumeTrue(tsanRuntimeInstalled(), "no ThreadSanitizer runtime (libtsan): apt-get install libtsan2, or run ./spindle test as root");
        // -Wno-tsan: gcc notes that TSan does not model atomic_thread_fence; the seq-cst
        // fences left are StoreLoad fences, which order and do not synchronize.
        Path program = build("gcc", "-fsanitize=thread", "-O1", "-Wno-tsan");
        Run r = run(List.of(program.toString()), "TSAN_OPTIONS",
                "halt_on_error=1 report_signal_unsafe=0 suppressions=" + SELFTEST.resolve("tsan.supp"));
        assertFalse(r.out().contains("WARNING: ThreadSanitizer"), "a data race:\n" + r.out());
        assertPassed(r, "under ThreadSanitizer");
    }

    @Test
    @Timeout(300)
    void theCoreRunsOnAArch64UnderQemu() throws Exception {
        assumeTrue(onPath("aarch64-linux-gnu-gcc"), "no AArch64 cross compiler: apt-get install gcc-aarch64-linux-gnu, or run ./spindle test as root");
        assumeTrue(onPath("qemu-aarch64"), "no qemu-aarch64: apt-get install qemu-user, or run ./spindle test as root");
        Path program = build("aarch64-linux-gnu-gcc");
        byte[] elf = Files.readAllBytes(program);
        assertEquals(0xB7, (elf[18] & 0xff) | (elf[19] & 0xff) << 8, "an AArch64 ELF (e_machine EM_AARCH64)");
        Run r = run(List.of("qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", program.toString()));
        assertTrue(r.out().contains("on AArch64"), r.out());
        assertPassed(r, "on AArch64 under qemu-user");
    }

    static boolean tsanRuntimeInstalled() throws IOException {
        Path lib = Path.of("/usr/lib/" + System.getProperty("os.arch").replace("amd64", "x86_64") + "-linux-gnu");
        if (!Files.isDirectory(lib)) return false;
        try (var files = Files.list(lib)) {
            return files.anyMatch(f -> f.getFileName().toString().startsWith("libtsan.so"));
        }
    }
}
