package io.spindle.benchmarks.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The renderer on a stored JMH result file (a real short run on this project's machine), and on
 * three small synthetic runs of one comparison (three-runs/jmh-N.json): Spindle's third run and
 * pthread's second are the odd ones out, and cloneThread is missing from the second run.
 */
class ReportTest {
    static Path sample() throws URISyntaxException {
        return resource("/sample-jmh.json");
    }

    static Path[] threeRuns() throws URISyntaxException {
        return new Path[] {resource("/three-runs/jmh-1.json"), resource("/three-runs/jmh-2.json"), resource("/three-runs/jmh-3.json")};
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(Objects.requireNonNull(ReportTest.class.getResource(name)).toURI());
    }

    private static Report.Table threeRunsTable() throws Exception {
        List<List<Report.Result>> runs = new ArrayList<>();
        for (Path run : threeRuns()) runs.add(Report.read(run));
        List<Report.Table> tables = Report.tables(Report.medians(runs));
        assertEquals(1, tables.size(), "the runs measured one comparison");
        return tables.get(0);
    }

    @Test
    void groupsTheAlternativesOfEachComparison() throws Exception {
        List<Report.Table> tables = Report.tables(Report.read(sample()));
        assertEquals(List.of("BatchBenchmark.batch, function=trivial", "RoundTripBenchmark.roundTrip, function=trivial"),
                tables.stream().map(Report.Table::title).toList());
        Report.Table roundTrip = tables.get(1);
        assertEquals(List.of("spindle", "virtualThread", "threadPool", "forkJoin", "pthread", "cloneThread"),
                roundTrip.rows().stream().map(Report.Row::alternative).toList());
        assertEquals("spindle", roundTrip.reference());
        assertEquals("ns/op", roundTrip.unit());
        Report.Row spindle = roundTrip.spindle();
        assertEquals(544.379, spindle.score(), 0.001);
        assertEquals(444.230, spindle.error(), 0.001);
        Report.Row virtual = roundTrip.rows().get(1);
        assertEquals(virtual.score() / spindle.score(), virtual.relative(), 1e-12, "time relative to Spindle's");
        assertEquals(79.6, virtual.relative(), 0.01);
        assertEquals("spindleSpawnAll", tables.get(0).reference(), "the first Spindle alternative is the reference");
    }

    @Test
    void markdownTableHasEveryAlternativeWithScoreErrorAndRatio() throws Exception {
        Report.Table roundTrip = Report.tables(Report.read(sample())).get(1);
        String md = Report.markdown(roundTrip);
        assertTrue(md.contains("| alternative | average time (ns/op) | ± error | vs spindle |"), md);
        assertTrue(md.contains("| **spindle** | 544 | 444 | 1 |"), md);
        assertTrue(md.contains("| virtualThread | 43,329 | 11,431 | 80× |"), md);
        assertTrue(md.contains("| pthread | 43,476 | 8,190 | 80× |"), md);
        assertTrue(md.contains("above 1× Spindle is faster"), md);
    }

    @Test
    void severalRunsScoreTheirMedianSoTheOddRunOutIsIgnored() throws Exception {
        Report.Table t = threeRunsTable();
        assertEquals(3, t.runs());
        assertEquals(List.of("spindle", "virtualThread", "pthread", "cloneThread"),
                t.rows().stream().map(Report.Row::alternative).toList());
        assertEquals(520, t.spindle().score(), 1e-9, "runs of 500, 520 and 2000");
        Report.Row pthread = t.rows().get(2);
        assertEquals(43000, pthread.score(), 1e-9, "runs of 44000, 30000 and 43000");
        assertEquals(43000.0 / 520, pthread.relative(), 1e-12, "the ratio of the medians");
        assertEquals(new Report.Spread(30000, 44000, 3, 3), pthread.spread());
    }

    @Test
    void severalRunsShowTheLowestAndHighestRunInPlaceOfJmhsError() throws Exception {
        Report.Table t = threeRunsTable();
        String md = Report.markdown(t);
        assertTrue(md.contains("| alternative | average time (ns/op), median | min–max of 3 runs | vs spindle |"), md);
        assertTrue(md.contains("| **spindle** | 520 | 500–2,000 | 1 |"), md);
        assertTrue(md.contains("| virtualThread | 41,000 | 40,000–42,000 | 79× |"), md);
        assertTrue(md.contains("| pthread | 43,000 | 30,000–44,000 | 83× |"), md);
        assertFalse(md.contains("error"), "JMH's error is one run's: " + md);
        assertArrayEquals(new double[] {500, 2000}, Report.whisker(t, t.spindle()), "the chart's whisker spans the runs");
    }

    @Test
    void aBenchmarkMissingFromARunIsShownWithTheRunsThatHaveIt() throws Exception {
        Report.Table t = threeRunsTable();
        Report.Row cloneThread = t.rows().get(3);
        assertEquals(39500, cloneThread.score(), 1e-9, "the median of two runs, 39000 and 40000");
        assertEquals(new Report.Spread(39000, 40000, 2, 3), cloneThread.spread());
        String md = Report.markdown(t);
        assertTrue(md.contains("| cloneThread | 39,500 | 39,000–40,000 (2 of 3 runs) | 76× |"), md);
    }

    @Test
    void theReportOfSeveralRunsSaysItShowsTheirMedians(@TempDir Path out) throws Exception {
        Path[] runs = threeRuns();
        Report.main(new String[] {runs[0].toString(), runs[1].toString(), runs[2].toString(), out.toString()});
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("- Runs: 3, each 1 fork(s), 2 warm-up x 500 ms, 3 measurements x 500 ms per alternative;"
                + " every figure is the median of the 3 runs (ratios too are of medians), beside the lowest and highest run ("), md);
        assertTrue(md.contains("- Results: `jmh-1.json`, `jmh-2.json`, `jmh-3.json` (JMH JSON, one file per run, beside this file)"), md);
        assertTrue(md.contains("| **spindle** | 520 | 500–2,000 | 1 |"), md);
        assertNotNull(ImageIO.read(out.resolve("roundtripbenchmark-roundtrip-function-trivial.png").toFile()), "the chart");
    }

    @Test
    void oneRunIsReportedAsItIs(@TempDir Path out) throws Exception {
        List<Report.Result> run = Report.read(sample());
        assertEquals(run, Report.medians(List.of(run)), "one run's results are their own medians, JMH's errors kept");
        Report.Row spindle = Report.tables(run).get(1).spindle();
        assertArrayEquals(new double[] {spindle.score() - spindle.error(), spindle.score() + spindle.error()},
                Report.whisker(Report.tables(run).get(1), spindle), "the chart's whisker is JMH's error");
        Report.main(new String[] {sample().toString(), out.toString()});
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("\n- Run: 1 fork(s), 3 warm-up x 1 s, 5 measurements x 1 s per alternative;"
                + " errors are JMH's 99.9% intervals ("), md);
        assertTrue(md.contains("\n- Results: `sample-jmh.json` (JMH JSON, beside this file)\n"), md);
        assertTrue(md.contains("| alternative | average time (ns/op) | ± error | vs spindle |"), md);
        assertTrue(md.contains("| **spindle** | 544 | 444 | 1 |"), md);
        assertFalse(md.contains("median"), md);
    }

    @Test
    void theBindingsOfANativeCallAreOneComparisonPerFunction() {
        List<Report.Result> results = new java.util.ArrayList<>();
        for (String function : List.of("trivial", "work1us")) {
            for (String binding : List.of("jna", "ffm", "ffmCritical")) {
                results.add(new Report.Result("NativeCallBenchmark", "call", "avgt",
                        java.util.Map.of("binding", binding, "function", function), 10, 1, "ns/op"));
            }
        }
        List<Report.Table> tables = Report.tables(results);
        assertEquals(List.of("NativeCallBenchmark.call, function=trivial", "NativeCallBenchmark.call, function=work1us"),
                tables.stream().map(Report.Table::title).toList());
        assertEquals(List.of("jna", "ffm", "ffmCritical"), tables.get(0).rows().stream().map(Report.Row::alternative).toList());
        assertNull(tables.get(0).reference(), "no Spindle row: no ratio column");
    }

    @Test
    void throughputRatiosAreInvertedSoAboveOneStillMeansSpindleIsFaster() {
        Report.Table t = Report.tables(List.of(
                new Report.Result("QueueBenchmark", "oneToOne", "thrpt", java.util.Map.of("queue", "spindleRing"), 200, 5, "ops/us"),
                new Report.Result("QueueBenchmark", "oneToOne", "thrpt", java.util.Map.of("queue", "jctools"), 100, 5, "ops/us"))).get(0);
        assertEquals(2.0, t.rows().get(1).relative(), 1e-9);
    }

    @Test
    void writesTheReportAndOneChartPerComparison(@TempDir Path out) throws Exception {
        List<Report.Table> tables = Report.tables(Report.read(sample()));
        Report.write(tables, Environment.describe(sample()), out);
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.startsWith("# Spindle benchmarks"), md);
        assertTrue(md.contains("- JDK: OpenJDK 64-Bit Server VM 25.0.3+9-LTS"), md);
        for (Report.Table t : tables) {
            Path png = out.resolve(Report.fileName(t.title()) + ".png");
            assertTrue(md.contains("(" + png.getFileName() + ")"), "the report links its chart");
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, "a readable PNG: " + png);
            assertEquals(Report.WIDTH, image.getWidth());
            assertTrue(image.getHeight() > 100);
            assertTrue(Report.logScale(t), "pthread vs Spindle spans over 20x: log scale");
        }
    }

    @Test
    void noLabelRunsIntoItsBar(@TempDir Path out) throws Exception {
        // Two of the suites' longest names; Spindle's row is drawn bold, wider still.
        String spindle = "spindleNativeThreadUncached", other = "forkJoinChunks64FfmCritical";
        Report.Table t = new Report.Table("ThreadSpawnBenchmark.spawnJoin", "avgt", "ns/op", List.of(
                new Report.Row(spindle, 100, Double.NaN, 1), new Report.Row(other, 200, Double.NaN, 2)), spindle);
        Path png = out.resolve("labels.png");
        Report.chart(t, png);
        BufferedImage image = ImageIO.read(png.toFile());
        int scanlinesThroughBars = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            int barStart = -1;
            for (int x = 0; x < image.getWidth() && barStart < 0; x++) {
                int rgb = image.getRGB(x, y) & 0xffffff;
                if (rgb == (Report.SPINDLE.getRGB() & 0xffffff) || rgb == (Report.OTHER.getRGB() & 0xffffff)) barStart = x;
            }
            if (barStart < 0) continue;
            scanlinesThroughBars++;
            int textEnd = -1;
            for (int x = 0; x < barStart; x++) if (dark(image.getRGB(x, y))) textEnd = x;
            assertTrue(barStart - textEnd > 6, "at y=" + y + " the label reaches x=" + textEnd + ", its bar starts at x=" + barStart);
        }
        assertTrue(scanlinesThroughBars > 0, "the chart has bars");
    }

    private static boolean dark(int rgb) {
        return ((rgb >> 16 & 0xff) + (rgb >> 8 & 0xff) + (rgb & 0xff)) / 3 < 128;
    }

    @Test
    void readsWhatJmhWritesIncludingNaNErrors() {
        Object parsed = Json.parse("[{\"a\": \"NaN\", \"b\": [1, 2.5e3, -3], \"c\": {\"d\": null, \"e\": true}, \"s\": \"x\\\"y\\u0041\"}]");
        assertEquals("[{a=NaN, b=[1.0, 2500.0, -3.0], c={d=null, e=true}, s=x\"yA}]", parsed.toString());
        assertThrows(IllegalArgumentException.class, () -> Json.parse("[1, 2"));
    }
}
