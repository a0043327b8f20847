package io.spindle.samples.workloads;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.spindle.samples.Workload;
import io.spindle.scheduler.Spindle;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.spindle.samples.workloads.WorkloadNative.*;
import static io.spindle.samples.workloads.WorkloadSupport.*;

/**
 * {@code mandelbrot [height] [--out FILE.png]}: the Mandelbrot set over x in [-2.2, 0.8],
 * y in [-1, 1] at up to {@value #MAX_ITERATIONS} iterations a pixel, in an image of
 * {@code height} rows and 1.5 x height columns. One task per row three ways: Spindle
 * (spawnAll of a row task), a virtual thread per row calling the same C function through JNA,
 * and one JNA call that draws every row. Rows cost very different amounts (those crossing the
 * set run to the limit), which is what a scheduler has to even out. The three images must be
 * equal pixel for pixel; the sequential one is written as a PNG.
 */
public final class MandelbrotWorkload implements Workload {
    static final int MAX_ITERATIONS = 1000;
    static final long MIN_HEIGHT = 2, MAX_HEIGHT = 4096, DEFAULT_HEIGHT = 1000, TOUR_HEIGHT = 400;
    private static final int WARM_UP_HEIGHT = 16;

    static {
        // ImageIO needs no display; say so before AWT looks for one.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    @Override
    public String name() {
        return "mandelbrot";
    }

    @Override
    public String summary() {
        return "Mandelbrot rows as tasks: Spindle vs virtual threads vs sequential C; [height] [--out F.png]";
    }

    @Override
    public long tourSize() {
        return TOUR_HEIGHT;
    }

    static int widthFor(long height) {
        return (int) (height * 3 / 2);
    }

    @Override
    public int run(List<String> args, PrintStream out) throws Exception {
        Args a = parse(args, "height", DEFAULT_HEIGHT, MIN_HEIGHT, MAX_HEIGHT, Set.of("--out"));
        Path png = requireWritable("--out", a.path("--out"));
        Timing t = measure(a.size(), out, png);
        printTable(out, t, workers());
        return 0;
    }

    /** Writes the PNG to a temporary file (its path is printed). */
    @Override
    public Timing measure(long size, PrintStream out) throws Exception {
        return measure(size, out, null);
    }

    /** The work at {@code height} rows; the PNG to {@code png}, or to a temporary file if null. */
    Timing measure(long height, PrintStream out, Path png) throws Exception {
        if (height < MIN_HEIGHT || height > MAX_HEIGHT) {
            throw new IllegalArgumentException("height must be between " + MIN_HEIGHT + " and " + MAX_HEIGHT + ", was " + height);
        }
        int h = (int) height, w = widthFor(height);
        out.printf("mandelbrot: %d x %d pixels of [-2.2, 0.8] x [-1, 1], up to %d iterations a pixel, a task per row%n",
                w, h, MAX_ITERATIONS);
        try (Spindle spindle = openSpindle(name())) {
            // Class loading, JNA's binding and the virtual-thread scheduler's start stay out of the timings.
            out.println("  warm-up: every way " + ROUNDS + " times at " + WARM_UP_HEIGHT + " rows");
            runOnce(spindle, widthFor(WARM_UP_HEIGHT), WARM_UP_HEIGHT, null, null);
            Path target = png != null ? png : Files.createTempFile("spindle-mandelbrot-", ".png");
            Timing t = runOnce(spindle, w, h, out, target);
            out.println("  " + workerLine(spindle));
            out.println("  wrote " + target.toAbsolutePath() + " (" + w + " x " + h + " PNG)");
            return t;
        }
    }

    private Timing runOnce(Spindle spindle, int w, int h, PrintStream out, Path png) throws Exception {
        try (Image sequential = new Image(w, h); Image green = new Image(w, h); Image virtual = new Image(w, h);
             Memory rows = new Memory(ROW_SIZE * h)) {
            long[] rowArgs = new long[h];
            for (int y = 0; y < h; y++) {
                rows.setLong(ROW_SIZE * y + ROW_IMAGE, green.address());
                rows.setLong(ROW_SIZE * y + ROW_ROW, y);
                rowArgs[y] = Pointer.nativeValue(rows) + ROW_SIZE * y;
            }
            Duration seq = timed(out, "sequential native: one JNA call draws " + h + " rows",
                    sequential::reset, () -> sample_mandelbrot(sequential.address()));
            Duration spn = timed(out, "Spindle: spawnAll of " + h + " row tasks on " + spindle.workers() + " workers",
                    green::reset, () -> spindle.spawnAll(MANDELBROT_ROW_TASK, rowArgs).join());
            // A virtual thread in a JNA call pins its carrier until the call returns: at most
            // one row per carrier runs at a time, as on Spindle's workers.
            Duration vt = timed(out, "virtual threads: " + h + " threads, one JNA call each", virtual::reset, () -> {
                try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                    List<Future<?>> futures = new ArrayList<>(h);
                    for (int y = 0; y < h; y++) {
                        long row = y;
                        futures.add(threads.submit(() -> sample_mandelbrot_row(virtual.address(), row)));
                    }
                    for (Future<?> f : futures) f.get();
                }
            });
            requireSamePixels("Spindle", sequential.pixels, green.pixels, w, h);
            requireSamePixels("virtual threads", sequential.pixels, virtual.pixels, w, h);
            if (png != null) writePng(sequential.pixels, w, h, png);
            return new Timing(name(), w + "x" + h + " pixels", spn, vt, seq);
        }
    }

    /** Throws naming the first pixel (x, y) at which {@code actual} differs from {@code expected}. */
    static void requireSamePixels(String way, Pointer expected, Pointer actual, int w, int h) {
        long at = sample_first_difference(Pointer.nativeValue(expected), Pointer.nativeValue(actual), 4L * w * h);
        if (at >= 0) {
            long pixel = at / 4;
            throw new IllegalStateException("mandelbrot: " + way + "'s image differs from the sequential native run's at pixel ("
                    + pixel % w + ", " + pixel / w + "): " + actual.getInt(4 * pixel) + " iterations instead of "
                    + expected.getInt(4 * pixel));
        }
    }

    /** Inside the set black; outside a palette by iterations (log scale: most escape early). */
    static void writePng(Pointer pixels, int w, int h, Path png) throws IOException {
        int[] palette = new int[MAX_ITERATIONS + 1];
        for (int i = 0; i < MAX_ITERATIONS; i++) {
            double t = Math.log1p(i) / Math.log1p(MAX_ITERATIONS);
            int r = (int) (255 * Math.min(1, 9 * (1 - t) * t * t * t * 2.2));
            int g = (int) (255 * Math.min(1, 15 * (1 - t) * (1 - t) * t * t * 1.1));
            int b = (int) (255 * Math.min(1, 8.5 * (1 - t) * (1 - t) * (1 - t) * t * 1.6 + 0.1));
            palette[i] = r << 16 | g << 8 | b;
        }
        BufferedImage image = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] row = new int[w];
        for (int y = 0; y < h; y++) {
            pixels.read(4L * w * y, row, 0, w);
            for (int x = 0; x < w; x++) row[x] = palette[Math.min(Math.max(row[x], 0), MAX_ITERATIONS)];
            image.setRGB(0, y, w, 1, row, 0, w);
        }
        if (!ImageIO.write(image, "png", png.toFile())) throw new IOException("no PNG writer in this JDK");
    }

    /** A struct sample_image and its pixels, filled with -1 before each round so that a row nobody drew shows. */
    private static final class Image implements AutoCloseable {
        final Memory header = new Memory(IMAGE_SIZE);
        final Memory pixels;

        Image(int w, int h) {
            pixels = new Memory(4L * w * h);
            reset();
            header.setLong(IMAGE_PIXELS, Pointer.nativeValue(pixels));
            header.setLong(IMAGE_WIDTH, w);
            header.setLong(IMAGE_HEIGHT, h);
            header.setLong(IMAGE_MAX_ITER, MAX_ITERATIONS);
        }

        void reset() {
            pixels.setMemory(0, pixels.size(), (byte) 0xff);
        }

        long address() {
            return Pointer.nativeValue(header);
        }

        @Override
        public void close() {
            header.close();
            pixels.close();
        }
    }
}
