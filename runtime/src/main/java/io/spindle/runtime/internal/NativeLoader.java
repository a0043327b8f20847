package io.spindle.runtime.internal;

import com.sun.jna.Library;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Loads Spindle's own native libraries under their real names. <b>Internal.</b>
 *
 * <p>Why not {@code NativeLibrary.getInstance(name)}: from a jar, JNA extracts the library
 * to a temp file named {@code jna<digits>.tmp}, and that is the name hs_err reports,
 * {@code /proc/self/maps}, perf and gdb then show for a crash in a task. Here the library is
 * copied once per process into a private directory ({@code Files.createTempDirectory}:
 * owner-only, a name nobody can guess) as {@code lib<name>.so}, loaded by absolute path, and
 * deleted at a normal exit (a crashed JVM leaves it, which is what post-mortem tools need).
 * A fresh copy per process is never a stale one. From a directory on the class path (the
 * build's own tests) the file is loaded where it is.
 *
 * <p>Libraries are opened {@code RTLD_LAZY | RTLD_GLOBAL}, as JNA does by default: task
 * libraries resolve {@code spn_*} against the scheduler's.
 */
public final class NativeLoader {
    private static final int RTLD_LAZY = 0x1, RTLD_GLOBAL = 0x100;
    private static Path privateDirectory; // one per process, made on first extraction

    private NativeLoader() {}

    /** The library {@code lib<name>.so} that ships beside {@code anchor} (in its jar or class folder). */
    public static synchronized NativeLibrary load(String name, Class<?> anchor) {
        String fileName = System.mapLibraryName(name);
        String resource = Platform.RESOURCE_PREFIX + "/" + fileName;
        URL url = anchor.getClassLoader().getResource(resource);
        Map<String, Object> options = Map.of(Library.OPTION_OPEN_FLAGS, RTLD_LAZY | RTLD_GLOBAL);
        if (url == null) {
            return NativeLibrary.getInstance(name, options); // not bundled: jna.library.path and the system's
        }
        try {
            Path file = url.getProtocol().equals("file") ? Path.of(url.toURI()) : extract(url, fileName);
            return NativeLibrary.getInstance(file.toAbsolutePath().toString(), options);
        } catch (IOException e) {
            throw new UncheckedIOException("could not copy " + resource + " out of " + url + " to load it", e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("bad class-path URL " + url, e);
        }
    }

    /**
     * The program {@code fileName} that ships beside {@code anchor} (spindle-host), as a file
     * that can be executed: where it is in a class folder, else copied into the same private
     * directory as the libraries.
     */
    public static synchronized Path program(String fileName, Class<?> anchor) {
        String resource = Platform.RESOURCE_PREFIX + "/" + fileName;
        URL url = anchor.getClassLoader().getResource(resource);
        if (url == null) throw new IllegalStateException(resource + " is not on the class path beside " + anchor.getName());
        try {
            Path file = url.getProtocol().equals("file") ? Path.of(url.toURI()) : extract(url, fileName);
            if (!Files.isExecutable(file) && !file.toFile().setExecutable(true, true)) {
                throw new IllegalStateException(file + " cannot be made executable");
            }
            return file.toAbsolutePath();
        } catch (IOException e) {
            throw new UncheckedIOException("could not copy " + resource + " out of " + url, e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("bad class-path URL " + url, e);
        }
    }

    private static Path extract(URL url, String fileName) throws IOException {
        if (privateDirectory == null) {
            Path dir = Files.createTempDirectory("spindle-native-");
            dir.toFile().deleteOnExit(); // runs after the files' own deleteOnExit (reverse order)
            privateDirectory = dir;
        }
        Path file = privateDirectory.resolve(fileName);
        try (InputStream in = url.openStream()) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        file.toFile().deleteOnExit();
        return file;
    }
}
