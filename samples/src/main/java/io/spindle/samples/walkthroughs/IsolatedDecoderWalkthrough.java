package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.NativeFunction;
import io.spindle.samples.UsageException;
import io.spindle.samples.Walkthrough;
import io.spindle.scheduler.Isolation;
import io.spindle.scheduler.SharedMemory;
import io.spindle.scheduler.Spindle;
import io.spindle.scheduler.TaskCrashedException;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code isolated-decoder}: a decoder with a bug (sample_decode in walkthroughs.c trusts the
 * offset in its input) fed good and corrupt records. In an isolated pool the good ones
 * succeed, each corrupt one fails its own join with the crash named (SIGSEGV in
 * sample_decode), the pool restarts its child, and the JVM goes on. The same records on an
 * in-process pool, in a JVM of their own: the first corrupt one ends that JVM.
 */
public final class IsolatedDecoderWalkthrough implements Walkthrough {
    static final String IN_PROCESS = "--in-process";
    /** Offsets in 4 KiB pages past the record: 0 is inside it; 1 << 20 is 4 GiB away. */
    static final int[] OFFSETS = {0, 0, 1 << 20, 0, 1 << 20, 0};
    static final int LENGTH = 16;
    static final Duration WAIT = Duration.ofSeconds(30);

    /** What happened to each record: its sum, or the crash's description. */
    public record Outcome(boolean corrupt, Long sum, String crash) {}

    public record Observations(List<Outcome> outcomes, int restarts, int inProcessExit, String inProcessLastWords) {
        public boolean holds() {
            for (Outcome o : outcomes) {
                if (o.corrupt() ? o.crash() == null || !o.crash().contains("SIGSEGV") || !o.crash().contains("sample_decode")
                        : o.sum() == null || o.sum() != expectedSum()) {
                    return false;
                }
            }
            return restarts == corruptCount() && inProcessExit != 0 && inProcessLastWords.contains("A fatal error");
        }
    }

    static long expectedSum() {
        long sum = 0;
        for (int i = 0; i < LENGTH; i++) sum += i + 1;
        return sum;
    }

    static int corruptCount() {
        int n = 0;
        for (int o : OFFSETS) if (o != 0) n++;
        return n;
    }

    @Override
    public String name() {
        return "isolated-decoder";
    }

    @Override
    public String summary() {
        return "isolated pool: a buggy decoder's crashes fail their own tasks, the JVM goes on";
    }

    @Override
    public boolean needsPrivilege() {
        return false; // a user namespace when not root
    }

    @Override
    public List<CloneFlag> flagsShown() {
        return List.of();
    }

    /** Writes a record at {@code at}: header then LENGTH bytes 1..LENGTH; returns the task's argument slot. */
    static void writeRecord(ByteBuffer b, int at, int offset) {
        b.putInt(at, offset);
        b.putInt(at + 4, LENGTH);
        for (int i = 0; i < LENGTH; i++) b.put(at + 8 + i, (byte) (i + 1));
    }

    public Observations observe() throws Exception {
        NativeFunction decode = SamplesNative.function("sample_decode");
        List<Outcome> outcomes = new ArrayList<>();
        int restarts;
        try (Spindle pool = Spindle.builder().workers(1).name("decoders")
                .isolated(Isolation.builder().library(SamplesNative.LIBRARY).build()).build();
             SharedMemory shared = pool.allocateShared(4096)) {
            ByteBuffer b = shared.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int k = 0; k < OFFSETS.length; k++) {
                writeRecord(b, 256, OFFSETS[k]);
                b.putLong(0, shared.address() + 256);
                try {
                    outcomes.add(new Outcome(OFFSETS[k] != 0, pool.spawn(decode, shared).join(WAIT), null));
                } catch (TaskCrashedException e) {
                    outcomes.add(new Outcome(OFFSETS[k] != 0, null, e.getMessage()));
                }
            }
            restarts = pool.restarts();
        }
        Path dir = Files.createTempDirectory("spindle-in-process");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:-CreateCoredumpOnCrash", "-XX:ErrorFile=" + dir + "/hs_err_%p.log",
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), IsolatedDecoderWalkthrough.class.getName(), IN_PROCESS)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("the in-process JVM did not end");
        }
        String lastWords = out.lines().filter(l -> l.contains("A fatal error") || l.contains("Problematic frame") || l.startsWith("# C")
                || l.startsWith("decoded")).reduce("", (a, l) -> a + l.strip() + "\n");
        return new Observations(outcomes, restarts, p.exitValue(), lastWords);
    }

    /** The in-process half, in its own JVM: decodes until the first corrupt record ends it. */
    public static void main(String[] args) throws Exception {
        if (args.length != 1 || !args[0].equals(IN_PROCESS)) throw new UsageException("run by isolated-decoder only");
        NativeFunction decode = SamplesNative.function("sample_decode");
        try (Spindle pool = Spindle.builder().workers(1).name("decoders").build()) {
            com.sun.jna.Memory memory = new com.sun.jna.Memory(4096);
            ByteBuffer b = memory.getByteBuffer(0, 4096).order(ByteOrder.LITTLE_ENDIAN);
            for (int offset : OFFSETS) {
                writeRecord(b, 256, offset);
                b.putLong(0, com.sun.jna.Pointer.nativeValue(memory) + 256);
                System.out.println("decoded " + pool.spawn(decode, memory).join(WAIT));
            }
        }
        System.out.println("SURVIVED (not expected)");
    }

    @Override
    public int run(List<String> args, PrintStream out) {
        if (!args.isEmpty()) throw new UsageException(name() + " takes no arguments");
        Observations o;
        try {
            o = observe();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        out.println("  an isolated pool (its worker in a namespaced child), " + OFFSETS.length + " records, "
                + corruptCount() + " of them corrupt:");
        for (int k = 0; k < o.outcomes().size(); k++) {
            Outcome r = o.outcomes().get(k);
            out.println("    record " + k + (r.corrupt() ? " (corrupt): " : " (good):    ")
                    + (r.sum() != null ? "decoded, sum " + r.sum() : "failed its join: " + r.crash()));
        }
        out.println("  the pool restarted its child " + o.restarts() + " time(s); this JVM goes on");
        out.println("  the same records on an in-process pool, in a JVM of its own: it ended with exit status "
                + o.inProcessExit() + " at the first corrupt record:");
        o.inProcessLastWords().lines().forEach(l -> out.println("    " + l));
        out.println("  why: the child is a process of its own with only the shared region in common with the JVM;"
                + " a fault there ends the child, which the JVM reaps and replaces");
        out.println(o.holds() ? "  shown: the corrupt inputs failed their own tasks, the good ones decoded, the JVM lived"
                : "  NOT shown: " + o);
        return o.holds() ? 0 : 1;
    }
}
