package io.spindle.scheduler;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Spindle's libraries are mapped under their own names, so that hs_err reports, perf and gdb
 * name them, whether they come from a class folder (this build's tests) or from a jar (where
 * JNA alone would extract them to jna&lt;digits&gt;.tmp).
 */
class LibraryNamesTest {

    /** Started in a forked JVM: builds a runtime, runs a task, prints its own maps. */
    public static void main(String[] args) throws Exception {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            spindle.workerTids();
            String maps = Files.readString(Path.of("/proc/self/maps"));
            System.out.print(maps);
            for (String copy : spindleLibrariesUnderJnaNames(maps)) System.out.println("UNDER-JNA-NAME " + copy);
        }
    }

    @Test
    void inTheTestJvmTheLibrariesAreMappedUnderTheirOwnNames() throws Exception {
        try (Spindle spindle = Spindle.builder().workers(1).build()) {
            assertEquals(9, spindle.spawn(SpindleTest.RETURN_ARG, 9).join());
            String maps = Files.readString(Path.of("/proc/self/maps"));
            assertNamedAfterThemselves(maps);
            assertEquals(List.of(), spindleLibrariesUnderJnaNames(maps));
        }
    }

    @Test
    @Timeout(120)
    void fromJarsTheyAreMappedUnderTheirOwnNamesNotJnaTempFiles(@TempDir Path dir) throws Exception {
        // The class path of this JVM with the runtime's and the scheduler's class folders
        // packed as jars, as a user's application has them.
        List<String> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            Path p = Path.of(entry);
            boolean mainClasses = p.endsWith(Path.of("target", "classes"))
                    && (p.getParent().getParent().endsWith("runtime") || p.getParent().getParent().endsWith("scheduler"));
            classPath.add(mainClasses ? jar(p, dir.resolve(p.getParent().getParent().getFileName() + ".jar")).toString() : entry);
        }
        assertTrue(classPath.stream().noneMatch(e -> e.endsWith("classes") && !e.endsWith("test-classes")),
                "Spindle's classes and libraries come from jars: " + classPath);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Djava.io.tmpdir=" + dir, "-cp", String.join(java.io.File.pathSeparator, classPath),
                LibraryNamesTest.class.getName()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertNamedAfterThemselves(out);
        assertFalse(out.contains("UNDER-JNA-NAME"), out);
        try (Stream<Path> left = Files.walk(dir)) {
            assertEquals(List.of(), left.filter(f -> f.getFileName().toString().startsWith("spindle-native-")).toList(),
                    "the private copy is deleted at exit");
        }
    }

    private static void assertNamedAfterThemselves(String maps) {
        List<String> paths = maps.lines().map(l -> l.split("\\s+", 6)).filter(f -> f.length == 6)
                .map(f -> f[5]).distinct().collect(Collectors.toList());
        assertTrue(paths.stream().anyMatch(f -> f.endsWith("/libspindle_scheduler.so")), String.join("\n", paths));
        assertTrue(paths.stream().anyMatch(f -> f.endsWith("/libspindle_runtime.so")), String.join("\n", paths));
    }

    /**
     * The jna*.tmp mappings of this process that hold one of Spindle's libraries. JNA deletes
     * its copies once loaded, so each is read through /proc/self/map_files; JNA's own
     * dispatch library may keep such a name.
     */
    static List<String> spindleLibrariesUnderJnaNames(String maps) throws IOException {
        List<String> found = new ArrayList<>();
        for (String line : (Iterable<String>) maps.lines()::iterator) {
            String[] f = line.split("\\s+", 6);
            if (f.length < 6 || !f[5].matches(".*/jna[^/]*\\.tmp( \\(deleted\\))?") || found.contains(f[5])) continue;
            String content = new String(Files.readAllBytes(Path.of("/proc/self/map_files", f[0])), StandardCharsets.ISO_8859_1);
            if (content.contains("spn_sched_create") || content.contains("spn_thread_start")) found.add(f[5]);
        }
        return found;
    }

    private static Path jar(Path classes, Path jar) throws IOException {
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                out.putNextEntry(new JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, (OutputStream) out);
                out.closeEntry();
            }
        }
        return jar;
    }
}
