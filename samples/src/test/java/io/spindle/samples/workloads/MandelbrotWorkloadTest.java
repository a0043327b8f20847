package io.spindle.samples.workloads;

import com.sun.jna.Memory;
import io.spindle.samples.Workload;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.spindle.samples.workloads.WorkloadSupportTest.*;
import static org.junit.jupiter.api.Assertions.*;

class MandelbrotWorkloadTest {
    @TempDir
    Path dir;

    @Test
    void measureChecksEveryWayAgainstTheSequentialImage() throws Exception {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        Workload.Timing t = new MandelbrotWorkload().measure(60, new PrintStream(progress, true, StandardCharsets.UTF_8),
                dir.resolve("m.png"));
        assertEquals("mandelbrot", t.workload());
        assertEquals("90x60 pixels", t.size());
        assertTrue(t.spindle().toNanos() > 0 && t.virtualThreads().toNanos() > 0 && t.sequential().toNanos() > 0);
        String text = progress.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("Spindle: spawnAll of 60 row tasks"), text);
    }

    @Test
    void writesAReadablePngOfTheRightSize() throws Exception {
        Path png = dir.resolve("set.png");
        Outcome o = assertRunsAndChecks("mandelbrot", "80", "--out", png.toString());
        assertTrue(o.out().contains(png.toAbsolutePath().toString()), o.out());
        BufferedImage image = ImageIO.read(png.toFile());
        assertNotNull(image, "ImageIO could not read " + png);
        assertEquals(120, image.getWidth());
        assertEquals(80, image.getHeight());
        // The middle of the image, (-0.7, 0), is inside the set: black. The top-left corner is far outside.
        assertEquals(0, image.getRGB(60, 40) & 0xffffff);
        assertNotEquals(image.getRGB(60, 40), image.getRGB(0, 0));
    }

    @Test
    void withoutOutTheImageGoesToATemporaryFileWhosePathIsPrinted() throws Exception {
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        new MandelbrotWorkload().measure(MandelbrotWorkload.MIN_HEIGHT, new PrintStream(progress, true, StandardCharsets.UTF_8));
        String text = progress.toString(StandardCharsets.UTF_8);
        String line = text.lines().filter(l -> l.contains("wrote ")).findFirst().orElseThrow(() -> new AssertionError(text));
        Path png = Path.of(line.substring(line.indexOf("wrote ") + 6, line.indexOf(" (")));
        try {
            BufferedImage image = ImageIO.read(png.toFile());
            assertEquals(3, image.getWidth());
            assertEquals(2, image.getHeight());
        } finally {
            Files.deleteIfExists(png);
        }
    }

    @Test
    void aDifferentPixelIsReportedWithItsCoordinates() {
        int w = 30, h = 20;
        try (Memory a = new Memory(4L * w * h); Memory b = new Memory(4L * w * h)) {
            a.clear();
            b.clear();
            MandelbrotWorkload.requireSamePixels("Spindle", a, b, w, h);
            b.setInt(4L * (7 * w + 11), 99);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> MandelbrotWorkload.requireSamePixels("Spindle", a, b, w, h));
            assertEquals("mandelbrot: Spindle's image differs from the sequential native run's at pixel (11, 7): "
                    + "99 iterations instead of 0", e.getMessage());
        }
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertUsageError("height must be between 2 and 4,096, was 1", "mandelbrot", "1");
        assertUsageError("height must be between 2 and 4,096, was 5,000", "mandelbrot", "5000");
        assertUsageError("must be a whole number", "mandelbrot", "tall");
        assertUsageError("--out needs a value", "mandelbrot", "10", "--out");
        assertUsageError("--out: no such folder", "mandelbrot", "10", "--out", dir.resolve("nowhere/m.png").toString());
        assertUsageError("is a folder", "mandelbrot", "10", "--out", dir.toString());
    }

    @Test
    void theTourSizeIsSmall() {
        assertTrue(new MandelbrotWorkload().tourSize() <= 600);
    }
}
