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
 * {@code ./spindle report [--long] [--runs N] [JMH regexp...]} as the README documents it. The
 * launcher's dry-run mode (SPINDLE_DRY_RUN=1) prints the commands instead of building and
 * running: the argument handling is checked without a benchmark.
 */
class LauncherReportArgumentsTest {
    private static final String SHORT = " -f 1 -wi 2 -w 500ms -i 3 -r 500ms ";
    private static final String LONG = " -f 2 -wi 5 -w 1s -i 10 -r 1s ";

    record Run(int exitCode, String output) {
        /** The first JMH command line the launcher would run. */
        String jmh() {
            return jmhRuns().stream().findFirst().orElseThrow(() -> new AssertionError("no JMH command in: " + output));
        }

        /** Every JMH command line the launcher would run, in order: one per run. */
        List<String> jmhRuns() {
            return output.lines().filter(l -> l.contains("benchmarks.jar -f")).toList();
        }

        /** The command line rendering the report. */
        String render() {
            return output.lines().filter(l -> l.contains("io.spindle.benchmarks.report.Report")).findFirst()
                    .orElseThrow(() -> new AssertionError("no report command in: " + output));
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
    void noArgumentsRunEverySuiteThreeTimesWithTheShortProfileAndRenderTheirMedians() throws Exception {
        Run r = report();
        assertEquals(0, r.exitCode(), r.output());
        List<String> runs = r.jmhRuns();
        assertEquals(3, runs.size(), r.output());
        for (int i = 1; i <= 3; i++) {
            assertTrue(runs.get(i - 1).contains(SHORT), runs.get(i - 1));
            assertTrue(runs.get(i - 1).endsWith("/results/latest/jmh-" + i + ".json"), "no regexp: every suite: " + runs.get(i - 1));
        }
        assertRendersFromRuns(r, 3);
        assertTrue(r.output().indexOf(r.render()) > r.output().indexOf(runs.get(2)), "after the last run: " + r.output());
    }

    @Test
    @Timeout(60)
    void runsSetsHowManyTimesJmhRunsWithEveryOtherArgument() throws Exception {
        for (String[] args : List.of(new String[] {"--runs", "2", "Yield", "--long"}, new String[] {"Yield", "--runs", "2", "--long"},
                new String[] {"--long", "Yield", "--runs", "2"})) {
            Run r = report(args);
            assertEquals(0, r.exitCode(), r.output());
            assertEquals(2, r.jmhRuns().size(), String.join(" ", args) + ": " + r.output());
            for (int i = 1; i <= 2; i++) {
                String jmh = r.jmhRuns().get(i - 1);
                assertTrue(jmh.contains(LONG) && jmh.endsWith("jmh-" + i + ".json Yield"), String.join(" ", args) + ": " + jmh);
                assertFalse(jmh.contains("--runs"), "--runs is the launcher's, not JMH's: " + jmh);
            }
            assertRendersFromRuns(r, 2);
        }
    }

    @Test
    @Timeout(60)
    void oneRunIsOneJmhRunRenderedFromItsFile() throws Exception {
        Run r = report("--runs", "1", "Yield");
        assertEquals(0, r.exitCode(), r.output());
        assertEquals(List.of(r.jmh()), r.jmhRuns(), r.output());
        assertTrue(r.jmh().contains(SHORT) && r.jmh().endsWith("jmh-1.json Yield"), r.jmh());
        assertRendersFromRuns(r, 1);
    }

    @Test
    @Timeout(60)
    void anEarlierReportsResultsAreRemovedBeforeTheFirstRun() throws Exception {
        Run r = report("Yield");
        assertEquals(0, r.exitCode(), r.output());
        String remove = r.output().lines().filter(l -> l.startsWith("[spindle] would run: rm -f ")).findFirst()
                .orElseThrow(() -> new AssertionError("no rm in: " + r.output()));
        assertTrue(remove.contains("/results/latest/jmh.json") && remove.contains("/results/latest/jmh-"), remove);
        assertTrue(r.output().indexOf(remove) < r.output().indexOf(r.jmh()), r.output());
    }

    @Test
    @Timeout(60)
    void runsWithoutAPositiveNumberIsRefusedWithTheUsage() throws Exception {
        for (String[] args : List.of(new String[] {"Yield", "--runs"}, new String[] {"--runs", "0", "Yield"},
                new String[] {"--runs", "Yield"}, new String[] {"--runs", "-1"})) {
            Run r = report(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + ": " + r.output());
            assertTrue(r.output().contains("--runs takes a number of runs")
                    && r.output().contains("usage: ./spindle report [--long] [--runs N]"), r.output());
            assertFalse(r.output().contains("would run"), r.output());
        }
    }

    @Test
    @Timeout(60)
    void aRegexpAloneSelectsSuitesWithTheShortProfile() throws Exception {
        Run r = report("Yield");
        assertEquals(0, r.exitCode(), r.output());
        for (String jmh : r.jmhRuns()) assertTrue(jmh.contains(SHORT) && jmh.endsWith(".json Yield"), jmh);
    }

    @Test
    @Timeout(60)
    void longMayStandBeforeOrAfterTheRegexps() throws Exception {
        for (String[] args : List.of(new String[] {"--long", "Yield", "Queue"}, new String[] {"Yield", "--long", "Queue"},
                new String[] {"Yield", "Queue", "--long"})) {
            Run r = report(args);
            assertEquals(0, r.exitCode(), r.output());
            assertTrue(r.jmh().contains(LONG) && r.jmh().endsWith("jmh-1.json Yield Queue"), String.join(" ", args) + ": " + r.jmh());
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

    /** The report is rendered from the files of runs 1..n, into the folder that holds them. */
    private static void assertRendersFromRuns(Run r, int n) {
        String render = r.render();
        String folder = render.substring(render.lastIndexOf(' ') + 1);
        assertTrue(folder.endsWith("/benchmarks/results/latest"), render);
        StringBuilder expected = new StringBuilder(" io.spindle.benchmarks.report.Report");
        for (int i = 1; i <= n; i++) expected.append(' ').append(folder).append("/jmh-").append(i).append(".json");
        assertTrue(render.endsWith(expected + " " + folder), "rendered from the " + n + " run(s): " + render);
    }
}
