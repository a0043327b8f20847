package io.spindle.scheduler;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The scheduler's native code for AArch64: the context switch is written for it and every C
 * file must compile for it with the project's warnings as errors. It cannot run here
 * (x86-64), so this test builds it with Debian's cross compiler when one is installed
 * (apt-get install gcc-aarch64-linux-gnu) and checks the switch's symbols.
 */
class CrossArchitectureBuildTest {
    static final String CROSS_CC = "aarch64-linux-gnu-gcc";

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) return false;
        for (String dir : path.split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) return true;
        }
        return false;
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + "\n" + out);
        return out;
    }

    @Test
    void theSchedulerBuildsForAArch64() throws Exception {
        assumeTrue(onPath(CROSS_CC), "no AArch64 cross compiler (" + CROSS_CC + "): apt-get install gcc-aarch64-linux-gnu");
        Path sources = Path.of("src/main/c").toAbsolutePath();
        Path out = Files.createTempDirectory("spindle-aarch64");
        List<Path> objects = new ArrayList<>();
        try (Stream<Path> files = Files.list(sources)) {
            for (Path source : files.filter(f -> f.toString().endsWith(".c") || f.toString().endsWith(".S")).toList()) {
                Path object = out.resolve(source.getFileName() + ".o");
                run(List.of(CROSS_CC, "-std=gnu11", "-O2", "-fPIC", "-Wall", "-Wextra", "-Werror",
                        "-Wno-unused-parameter", "-fno-strict-aliasing", "-fvisibility=hidden",
                        "-I", sources.toString(), "-c", source.toString(), "-o", object.toString()));
                objects.add(object);
            }
        }
        Path library = out.resolve("libspindle_scheduler.so");
        List<String> link = new ArrayList<>(List.of(CROSS_CC, "-shared", "-pthread", "-o", library.toString()));
        objects.forEach(o -> link.add(o.toString()));
        run(link);
        String symbols = run(List.of("aarch64-linux-gnu-nm", library.toString()));
        assertTrue(symbols.contains(" spn_ctx_switch"), symbols);
        assertTrue(symbols.contains(" spn_fiber_trampoline"), symbols);
        assertTrue(run(List.of("aarch64-linux-gnu-objdump", "-f", library.toString())).contains("aarch64"));
    }
}
