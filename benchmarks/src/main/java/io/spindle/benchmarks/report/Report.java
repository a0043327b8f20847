package io.spindle.benchmarks.report;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns JMH's JSON results into the report: a Markdown table per comparison (each
 * alternative's score with its error, and its time relative to Spindle's) and a PNG bar chart
 * per table (log scale when the spread is large).
 *
 * <p>Given the result files of several runs, every score is the median of the runs, shown with
 * the lowest and highest run in place of JMH's error (which describes one run's iterations), and
 * the ratios are of medians.
 *
 * <p>A comparison is one benchmark method at one setting of its parameters, with the
 * alternatives side by side: the values of its {@code runtime} (or {@code alternative},
 * {@code queue}, {@code impl}, {@code binding}, {@code pool}) parameter, or, in benchmarks without one,
 * its methods. Spindle's row is the first alternative whose name starts with "spindle".
 *
 * <pre>java -cp benchmarks.jar io.spindle.benchmarks.report.Report RESULTS.json [MORE_RESULTS.json...] OUTPUT_DIR</pre>
 */
public final class Report {
    static final List<String> ALTERNATIVE_PARAMS = List.of("runtime", "alternative", "queue", "impl", "binding", "pool");

    /** One JMH result, of one run or the median of several (see {@link #medians}). */
    record Result(String benchmark, String method, String mode, Map<String, String> params,
                  double score, double error, String unit, Spread spread) {
        /** One run's result. */
        Result(String benchmark, String method, String mode, Map<String, String> params,
               double score, double error, String unit) {
            this(benchmark, method, mode, params, score, error, unit, Spread.of(score));
        }
    }

    /**
     * How the runs of a report measured one result: the lowest and highest score, and how many
     * of the report's runs measured it (a suite may fail, or be added, between runs).
     */
    record Spread(double min, double max, int runs, int reportRuns) {
        static Spread of(double score) {
            return new Spread(score, score, 1, 1);
        }
    }

    /** One comparison: rows of alternatives under one title. */
    record Table(String title, String mode, String unit, List<Row> rows, String reference) {
        Row spindle() {
            return rows.stream().filter(r -> r.alternative().equals(reference)).findFirst().orElse(null);
        }

        /** How many runs the report summarises; above 1, the scores are medians. */
        int runs() {
            return rows.get(0).spread().reportRuns();
        }
    }

    /**
     * @param relative this alternative's time per operation divided by Spindle's (for
     *                 throughput modes, Spindle's throughput divided by this one's): above 1,
     *                 Spindle is faster; NaN when the table has no Spindle row
     */
    record Row(String alternative, double score, double error, double relative, Spread spread) {
        /** One run's row. */
        Row(String alternative, double score, double error, double relative) {
            this(alternative, score, error, relative, Spread.of(score));
        }
    }

    private Report() {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: Report RESULTS.json [MORE_RESULTS.json...] OUTPUT_DIR (one results file per run)");
            System.exit(2);
        }
        Path[] runFiles = Arrays.stream(args, 0, args.length - 1).map(Path::of).toArray(Path[]::new);
        Path out = Path.of(args[args.length - 1]);
        List<List<Result>> runs = new ArrayList<>();
        for (Path file : runFiles) runs.add(read(file));
        List<Table> tables = tables(medians(runs));
        write(tables, Environment.describe(runFiles), out);
        System.out.println("report: " + out.resolve("report.md") + " (" + tables.size() + " comparisons"
                + (runs.size() > 1 ? ", medians of " + runs.size() + " runs)" : ")"));
    }

    /** Writes report.md and one chart per table into {@code out}. */
    static void write(List<Table> tables, String environment, Path out) throws IOException {
        Files.createDirectories(out);
        StringBuilder md = new StringBuilder("# Spindle benchmarks\n\n").append(environment).append('\n');
        for (Table t : tables) {
            String chart = fileName(t.title()) + ".png";
            chart(t, out.resolve(chart));
            md.append(markdown(t)).append('\n').append("![").append(t.title()).append("](").append(chart).append(")\n\n");
        }
        Files.writeString(out.resolve("report.md"), md.toString(), StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    static List<Result> read(Path json) throws IOException {
        List<Result> results = new ArrayList<>();
        for (Object o : (List<Object>) Json.parse(Files.readString(json, StandardCharsets.UTF_8))) {
            Map<String, Object> r = (Map<String, Object>) o;
            String full = (String) r.get("benchmark");
            String[] parts = full.split("\\.");
            String benchmark = parts[parts.length - 2];
            String method = parts[parts.length - 1];
            Map<String, String> params = new TreeMap<>();
            Object p = r.get("params");
            if (p instanceof Map<?, ?> map) map.forEach((k, v) -> params.put((String) k, String.valueOf(v)));
            Map<String, Object> metric = (Map<String, Object>) r.get("primaryMetric");
            results.add(new Result(benchmark, method, (String) r.get("mode"), params,
                    number(metric.get("score")), number(metric.get("scoreError")), (String) metric.get("scoreUnit")));
        }
        return results;
    }

    private static double number(Object o) {
        if (o instanceof Double d) return d;
        if (o instanceof String s) return s.equalsIgnoreCase("NaN") ? Double.NaN : Double.parseDouble(s);
        return Double.NaN;
    }

    /**
     * One result per benchmark, mode and parameters measured in any of the runs, scoring the
     * median of the runs that measured it, so that one disturbed run does not move the figure.
     * In the order first met, run after run; with one run, that run's results as they are.
     */
    static List<Result> medians(List<List<Result>> runs) {
        Map<List<Object>, List<Result>> sameResult = new LinkedHashMap<>();
        for (List<Result> run : runs) {
            for (Result r : run) {
                sameResult.computeIfAbsent(List.of(r.benchmark(), r.method(), r.mode(), r.params()), k -> new ArrayList<>()).add(r);
            }
        }
        List<Result> medians = new ArrayList<>();
        for (List<Result> same : sameResult.values()) {
            Result first = same.get(0);
            double[] scores = same.stream().mapToDouble(Result::score).sorted().toArray();
            int n = scores.length;
            double median = n % 2 == 1 ? scores[n / 2] : (scores[n / 2 - 1] + scores[n / 2]) / 2;
            // JMH's error is an interval of one run's iterations: it says nothing of a median's.
            double error = n == 1 ? first.error() : Double.NaN;
            medians.add(new Result(first.benchmark(), first.method(), first.mode(), first.params(), median, error,
                    first.unit(), new Spread(scores[0], scores[n - 1], n, runs.size())));
        }
        return medians;
    }

    /** Groups results into comparisons, in the order JMH ran them. */
    static List<Table> tables(List<Result> results) {
        Map<String, List<Result>> groups = new LinkedHashMap<>();
        Map<String, String> alternativeOf = new LinkedHashMap<>();
        for (Result r : results) {
            String alternativeParam = ALTERNATIVE_PARAMS.stream().filter(r.params()::containsKey).findFirst().orElse(null);
            StringBuilder title = new StringBuilder(r.benchmark());
            if (alternativeParam != null) title.append('.').append(r.method());
            r.params().forEach((k, v) -> {
                if (!k.equals(alternativeParam)) title.append(", ").append(k).append('=').append(v);
            });
            String key = title.toString();
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(r);
            alternativeOf.put(key + "#" + groups.get(key).size(), alternativeParam == null ? r.method() : r.params().get(alternativeParam));
        }
        List<Table> tables = new ArrayList<>();
        groups.forEach((title, rs) -> {
            List<String> names = new ArrayList<>();
            for (int i = 1; i <= rs.size(); i++) names.add(alternativeOf.get(title + "#" + i));
            String reference = names.stream().filter(n -> n.toLowerCase(Locale.ROOT).startsWith("spindle")).findFirst().orElse(null);
            boolean throughput = rs.get(0).mode().equals("thrpt");
            double spindle = Double.NaN;
            for (int i = 0; i < rs.size(); i++) if (names.get(i).equals(reference)) spindle = rs.get(i).score();
            List<Row> rows = new ArrayList<>();
            for (int i = 0; i < rs.size(); i++) {
                double score = rs.get(i).score();
                double relative = throughput ? spindle / score : score / spindle;
                rows.add(new Row(names.get(i), score, rs.get(i).error(), relative, rs.get(i).spread()));
            }
            tables.add(new Table(title, rs.get(0).mode(), rs.get(0).unit(), rows, reference));
        });
        return tables;
    }

    static String markdown(Table t) {
        boolean medians = t.runs() > 1;
        StringBuilder s = new StringBuilder("### ").append(t.title()).append("\n\n");
        s.append("| alternative | ").append(modeName(t.mode())).append(" (").append(t.unit()).append(")")
                .append(medians ? ", median | min–max of " + t.runs() + " runs | " : " | ± error | ")
                .append(t.reference() == null ? "" : "vs " + t.reference()).append(" |\n|---|---:|---:|---:|\n");
        for (Row r : t.rows()) {
            boolean isSpindle = r.alternative().equals(t.reference());
            s.append("| ").append(isSpindle ? "**" + r.alternative() + "**" : r.alternative())
                    .append(" | ").append(format(r.score()))
                    .append(" | ").append(medians ? spread(r.spread()) : format(r.error())).append(" | ")
                    .append(Double.isNaN(r.relative()) ? "" : isSpindle ? "1" : relative(r.relative())).append(" |\n");
        }
        if (t.reference() != null) {
            s.append("\n\"vs ").append(t.reference()).append("\": ").append(t.mode().equals("thrpt")
                    ? "its throughput divided by this one's" : "this one's time divided by its time")
                    .append(": above 1× Spindle is faster, below 1× slower.\n");
        }
        return s.toString();
    }

    /** The lowest and highest run. */
    private static String spread(Spread s) {
        return (s.runs() == 1 ? format(s.min()) : format(s.min()) + "–" + format(s.max())) + fewerRuns(s);
    }

    /** How many runs measured the result, when not all of the report's did; else nothing. */
    private static String fewerRuns(Spread s) {
        return s.runs() < s.reportRuns() ? " (" + s.runs() + " of " + s.reportRuns() + " runs)" : "";
    }

    private static String modeName(String mode) {
        return switch (mode) {
            case "avgt" -> "average time";
            case "thrpt" -> "throughput";
            case "ss" -> "single shot";
            case "sample" -> "sampled time";
            default -> mode;
        };
    }

    static String format(double v) {
        if (Double.isNaN(v)) return "n/a";
        double a = Math.abs(v);
        if (a >= 100) return String.format(Locale.ROOT, "%,.0f", v);
        if (a >= 10) return String.format(Locale.ROOT, "%.1f", v);
        if (a >= 1) return String.format(Locale.ROOT, "%.2f", v);
        return String.format(Locale.ROOT, "%.3g", v);
    }

    private static String relative(double r) {
        return (r >= 10 ? String.format(Locale.ROOT, "%.0f", r) : String.format(Locale.ROOT, "%.2f", r)) + "×";
    }

    static String fileName(String title) {
        return title.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-|-$)", "");
    }

    // ---- charts ------------------------------------------------------------------------------

    static final int WIDTH = 960;
    /** The least width of the label column; a longer label widens it (see {@link #plotLeft}). */
    static final int LABEL_WIDTH = 200;
    static final int LABEL_LEFT = 12;
    static final Font LABEL = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    static final Font SPINDLE_LABEL = LABEL.deriveFont(Font.BOLD);
    static final int ROW_HEIGHT = 30;
    static final Color SPINDLE = new Color(0xD9, 0x5F, 0x0E);
    static final Color OTHER = new Color(0x4C, 0x78, 0xA8);

    /** True when bars would be unreadable on a linear axis: the largest is over 20× the smallest. */
    static boolean logScale(Table t) {
        double min = Double.MAX_VALUE, max = 0;
        for (Row r : t.rows()) {
            if (r.score() > 0) {
                min = Math.min(min, r.score());
                max = Math.max(max, r.score());
            }
        }
        return max > 0 && max / min > 20;
    }

    static void chart(Table t, Path png) throws IOException {
        int height = 70 + ROW_HEIGHT * t.rows().size() + 30;
        BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, height);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(t.title(), 12, 24);
            boolean log = logScale(t);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            g.drawString(modeName(t.mode()) + ", " + t.unit()
                    + (t.runs() > 1 ? ", median of " + t.runs() + " runs, whiskers: lowest to highest run" : "")
                    + (log ? ", log scale" : "")
                    + (t.mode().equals("thrpt") ? " (longer is better)" : " (shorter is better)"), 12, 44);
            double max = 0, min = Double.MAX_VALUE;
            for (Row r : t.rows()) {
                double hi = whisker(t, r)[1];
                max = Math.max(max, Double.isNaN(hi) ? r.score() : hi);
                if (r.score() > 0) min = Math.min(min, r.score());
            }
            int plotLeft = plotLeft(t, g), plotRight = WIDTH - 110, top = 60;
            Scale scale = log ? new Scale(Math.pow(10, Math.floor(Math.log10(min))), Math.pow(10, Math.ceil(Math.log10(max))), true)
                    : new Scale(0, max * 1.05, false);
            FontMetrics fm = g.getFontMetrics();
            // Grid and ticks.
            g.setColor(new Color(0xE0, 0xE0, 0xE0));
            int bottom = top + ROW_HEIGHT * t.rows().size();
            for (double tick : scale.ticks()) {
                int x = plotLeft + (int) Math.round(scale.position(tick) * (plotRight - plotLeft));
                g.setColor(new Color(0xE0, 0xE0, 0xE0));
                g.drawLine(x, top, x, bottom);
                g.setColor(Color.DARK_GRAY);
                String label = format(tick);
                g.drawString(label, x - fm.stringWidth(label) / 2, bottom + 16);
            }
            for (int i = 0; i < t.rows().size(); i++) {
                Row r = t.rows().get(i);
                int y = top + i * ROW_HEIGHT;
                boolean isSpindle = r.alternative().equals(t.reference());
                g.setColor(Color.BLACK);
                g.setFont(isSpindle ? SPINDLE_LABEL : LABEL);
                g.drawString(label(r), LABEL_LEFT, y + ROW_HEIGHT / 2 + 5);
                int x0 = plotLeft + (int) Math.round(scale.position(scale.low()) * (plotRight - plotLeft));
                int x1 = plotLeft + (int) Math.round(scale.position(r.score()) * (plotRight - plotLeft));
                g.setColor(isSpindle ? SPINDLE : OTHER);
                g.fillRect(x0, y + 5, Math.max(1, x1 - x0), ROW_HEIGHT - 10);
                int labelX = x1;
                double[] whisker = whisker(t, r);
                if (whisker[1] > whisker[0]) {
                    int e0 = plotLeft + (int) Math.round(scale.position(Math.max(scale.low(), whisker[0])) * (plotRight - plotLeft));
                    int e1 = plotLeft + (int) Math.round(scale.position(whisker[1]) * (plotRight - plotLeft));
                    g.setColor(Color.BLACK);
                    g.setStroke(new BasicStroke(1.2f));
                    int mid = y + ROW_HEIGHT / 2;
                    g.drawLine(e0, mid, e1, mid);
                    g.drawLine(e0, mid - 4, e0, mid + 4);
                    g.drawLine(e1, mid - 4, e1, mid + 4);
                    labelX = Math.max(labelX, e1);
                }
                g.setColor(Color.BLACK);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
                String value = format(r.score()) + (isSpindle || Double.isNaN(r.relative()) ? "" : "  (" + relative(r.relative()) + ")");
                g.drawString(value, Math.min(labelX + 6, WIDTH - 105), y + ROW_HEIGHT / 2 + 4);
            }
        } finally {
            g.dispose();
        }
        if (!ImageIO.write(image, "png", png.toFile())) throw new IOException("no PNG writer");
    }

    /**
     * The ends of a row's error bar: the lowest and highest run for a median of several runs,
     * else JMH's error interval (NaN when JMH had none).
     */
    static double[] whisker(Table t, Row r) {
        return t.runs() > 1 ? new double[] {r.spread().min(), r.spread().max()}
                : new double[] {r.score() - r.error(), r.score() + r.error()};
    }

    /** A row's name on its chart: the alternative, and how many runs measured it when not all did. */
    private static String label(Row r) {
        return r.alternative() + fewerRuns(r.spread());
    }

    /** Where the bars start: a gap right of the widest label (Spindle's is bold), so no label runs into a bar. */
    static int plotLeft(Table t, Graphics2D g) {
        int widest = 0;
        for (Row r : t.rows()) {
            Font font = r.alternative().equals(t.reference()) ? SPINDLE_LABEL : LABEL;
            widest = Math.max(widest, g.getFontMetrics(font).stringWidth(label(r)));
        }
        return Math.max(LABEL_WIDTH, LABEL_LEFT + widest + 12);
    }

    /** Maps values to 0..1 along the axis. */
    record Scale(double low, double high, boolean log) {
        double position(double v) {
            if (log) {
                double lv = Math.log10(Math.max(v, low));
                return (lv - Math.log10(low)) / (Math.log10(high) - Math.log10(low));
            }
            return (v - low) / (high - low);
        }

        List<Double> ticks() {
            List<Double> ticks = new ArrayList<>();
            if (log) {
                for (double d = low; d <= high * 1.0001; d *= 10) ticks.add(d);
            } else {
                double step = niceStep(high / 5);
                for (double d = 0; d <= high; d += step) ticks.add(d);
            }
            return ticks;
        }

        private static double niceStep(double raw) {
            double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
            double n = raw / magnitude;
            return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * magnitude;
        }
    }
}
