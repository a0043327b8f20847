package io.spindle.benchmarks;

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

/**
 * {@code ./spindle report [--long] [JMH regexp...]} as the README documents it. The launcher's
 * dry-run mode (SPINDLE_DRY_RUN=1) prints the JMH command instead of building and running:
 * the argument handling is checked without a benchmark.
 */
class LauncherReportArgumentsTest {
    private static final String SHORT = " -f 1 -wi 2 -w 500ms -i 3 -r 500ms ";
    private static final String LONG = " -f 2 -wi 5 -w 1s -i 10 -r 1s ";

    record Run(int exitCode, String output) {
        /** The JMH command line the launcher would run, from its -jar up to the end. */
        String jmh() {
            return output.lines().filter(l -> l.contains("benchmarks.jar -f")).findFirst()
                    .orElseThrow(() -> new AssertionError("no JMH command in: " + output));
        }
    }

    private static Path projectRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("spindle")) && Files.isDirectory(p.resolve("benchmarks"))) return p;
        }
        throw new AssertionError("no ./spindle above " + Path.of("").toAbsolutePath());
    }

    private static Run report(String... args) throws IOException, InterruptedException {
        Path root = projectRoot();
        List<String> command = new ArrayList<>(List.of("bash", root.resolve("spindle").toString(), "report"));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(root.toFile()).redirectErrorStream(true);
        pb.environment().put("SPINDLE_DRY_RUN", "1");
        // The JDK running this test is one the launcher accepts; it need not search for one.
        pb.environment().put("SPINDLE_JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the launcher returned");
        return new Run(p.exitValue(), out);
    }

    @Test
    @Timeout(60)
    void noArgumentsRunEverySuiteWithTheShortProfile() throws Exception {
        Run r = report();
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.jmh().contains(SHORT), r.jmh());
        assertTrue(r.jmh().endsWith("jmh.json"), "no regexp: every suite: " + r.jmh());
        assertTrue(r.output().contains("io.spindle.benchmarks.report.Report"), "then the report is rendered: " + r.output());
    }

    @Test
    @Timeout(60)
    void aRegexpAloneSelectsSuitesWithTheShortProfile() throws Exception {
        Run r = report("Yield");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.jmh().contains(SHORT) && r.jmh().endsWith("jmh.json Yield"), r.jmh());
    }

    @Test
    @Timeout(60)
    void longMayStandBeforeOrAfterTheRegexps() throws Exception {
        for (String[] args : List.of(new String[] {"--long", "Yield", "Queue"}, new String[] {"Yield", "--long", "Queue"},
                new String[] {"Yield", "Queue", "--long"})) {
            Run r = report(args);
            assertEquals(0, r.exitCode(), r.output());
            assertTrue(r.jmh().contains(LONG) && r.jmh().endsWith("jmh.json Yield Queue"), String.join(" ", args) + ": " + r.jmh());
            assertFalse(r.jmh().contains("--long"), "--long is the launcher's, not JMH's: " + r.jmh());
        }
    }

    @Test
    @Timeout(60)
    void anUnknownOptionIsRefusedWithTheUsage() throws Exception {
        Run r = report("--lng", "Yield");
        assertEquals(2, r.exitCode(), r.output());
        assertTrue(r.output().contains("unknown option '--lng'") && r.output().contains("usage: ./spindle report [--long]"),
                r.output());
        assertFalse(r.output().contains("would run"), r.output());
    }
}
