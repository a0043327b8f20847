package io.spindle.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** How a JVM with raw threads running reacts to signals (forked JVMs). */
class SignalsTest {

    private static Process startWaiting(Path dir) throws IOException {
        Process p = ForkedJvm.builder(SignalVictim.class, List.of("-XX:ErrorFile=" + dir + "/hs_err_%p.log"), "wait")
                .directory(dir.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null && !line.equals("READY")) { /* JVM warnings */ }
        assertEquals("READY", line, "the victim started its raw threads");
        return p;
    }

    private static void kill(String signal, long pid) throws Exception {
        Process k = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start();
        assertEquals(0, k.waitFor(), "kill -" + signal);
    }

    @Test
    @Timeout(120)
    void sigquitPrintsAThreadDumpAndTheJvmCarriesOn(@TempDir Path dir) throws Exception {
        Process p = startWaiting(dir);
        kill("QUIT", p.pid());
        // The dump goes to stdout; read until it has been printed, then let the victim finish.
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null) {
            seen.append(line).append('\n');
            if (line.startsWith("JNI global refs") || line.contains("Heap")) break;
        }
        assertTrue(seen.toString().contains("Full thread dump"), seen.toString());
        try (OutputStream in = p.getOutputStream()) {
            in.write("go\n".getBytes(StandardCharsets.UTF_8));
        }
        String rest = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), seen + rest);
        assertTrue(rest.contains("JOINED 28"), "the raw threads ran on and were joined: " + rest);
    }

    @Test
    @Timeout(120)
    void sigtermRunsShutdownHooksThatJoinTheRawThreads(@TempDir Path dir) throws Exception {
        Process p = startWaiting(dir);
        kill("TERM", p.pid());
        String rest = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(143, p.exitValue(), "128 + SIGTERM: " + rest);
        assertTrue(rest.contains("HOOK JOINED 28"), "the shutdown hook stopped and joined the threads: " + rest);
    }

    /**
     * glibc's internal signals, 32 (SIGCANCEL) and 33 (SIGSETXID), which glibc's own mask calls
     * will not block: a raw thread is born with them blocked, so a stray one sent with tgkill
     * from this process (what glibc's senders do) stays pending and the thread runs on. While
     * they were deliverable, 33 crashed the JVM in glibc's setxid handler and 32 killed it
     * (the victim gives 32 the default action it has in a JVM started from a shell).
     */
    @Test
    @Timeout(120)
    void aStrayGlibcInternalSignalStaysPendingOnARawThread(@TempDir Path dir) throws Exception {
        for (int signal : new int[] {32, 33}) {
            Process p = ForkedJvm.builder(SignalVictim.class, List.of("-XX:ErrorFile=" + dir + "/hs_err_%p.log",
                    "-XX:-CreateCoredumpOnCrash"), "stray", Integer.toString(signal)).directory(dir.toFile()).start();
            CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(p));
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("signal " + signal + ": the victim hung; output: " + output.getNow(""));
            }
            String out = output.get(10, TimeUnit.SECONDS);
            assertEquals(0, p.exitValue(), "signal " + signal + " did not end the JVM: " + out);
            long blocked = hexField(out, "SIGBLK ");
            assertTrue((blocked & bit(32)) != 0 && (blocked & bit(33)) != 0,
                    "32 and 33 are blocked on the raw thread: SigBlk " + Long.toHexString(blocked));
            assertTrue((hexField(out, "SIGPND ") & bit(signal)) != 0, "signal " + signal + " is pending, not delivered: " + out);
            assertTrue(out.contains("JOINED 7"), "the thread ran on and returned: " + out);
        }
    }

    private static long bit(int signal) {
        return 1L << (signal - 1);
    }

    private static long hexField(String output, String prefix) {
        return output.lines().filter(l -> l.startsWith(prefix)).findFirst()
                .map(l -> Long.parseUnsignedLong(l.substring(prefix.length()).trim(), 16))
                .orElseThrow(() -> new AssertionError("no " + prefix + "line in: " + output));
    }

    private static String readAll(Process p) {
        try {
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    @Timeout(120)
    void aNullDereferenceOnARawThreadGivesHotSpotsCrashReport(@TempDir Path dir) throws Exception {
        Process p = ForkedJvm.builder(SignalVictim.class,
                        List.of("-XX:ErrorFile=" + dir + "/hs_err_%p.log", "-XX:-CreateCoredumpOnCrash"), "crash")
                .directory(dir.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertFalse(out.contains("SURVIVED"), out);
        // HotSpot ends the process after writing its report (exit 1 when core dumps are off, as here).
        assertNotEquals(0, p.exitValue(), out);
        assertTrue(out.contains("A fatal error has been detected"), out);
        Path report;
        try (Stream<Path> files = Files.list(dir)) {
            report = files.filter(f -> f.getFileName().toString().startsWith("hs_err_")).findFirst()
                    .orElseThrow(() -> new AssertionError("no hs_err file in " + dir + "; output: " + out));
        }
        String text = Files.readString(report);
        assertTrue(text.contains("SIGSEGV"), "the report names the signal");
        assertTrue(text.contains("spn_test_null_dereference"), "the report names the faulting native frame");
        assertTrue(text.contains("Current thread is native thread"), "HotSpot knows the raw thread is not one of its own");
    }
}
