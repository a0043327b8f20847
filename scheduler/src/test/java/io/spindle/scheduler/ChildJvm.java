package io.spindle.scheduler;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Runs a test class's main in a fresh JVM (this JVM's java and classpath): for scenarios
 * that may hang or kill a JVM. The deadline turns a hang into a failure (the child is then
 * killed), so a regression fails instead of hanging the suite.
 */
final class ChildJvm {
    record Result(boolean finished, int exitCode, String output) {
        @Override
        public String toString() {
            return (finished ? "exit " + exitCode : "HUNG (killed at the deadline)") + ", output:\n" + output;
        }
    }

    private ChildJvm() {}

    static Result run(Class<?> main, long deadlineSeconds, String... args) throws IOException, InterruptedException {
        return run(main, deadlineSeconds, p -> {}, args);
    }

    /** {@code whileRunning} gets the process once it started (to signal it, say). */
    static Result run(Class<?> main, long deadlineSeconds, Consumer<Process> whileRunning, String... args)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-XX:-CreateCoredumpOnCrash");
        command.add("-Xmx256m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        command.addAll(List.of(args));
        // To a file, not a pipe: Process.destroy() (SIGTERM) closes the pipes it made.
        Path output = Files.createTempFile("spindle-child-jvm", ".out");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            whileRunning.accept(p);
            boolean finished = p.waitFor(deadlineSeconds, TimeUnit.SECONDS);
            if (!finished) {
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
            return new Result(finished, finished ? p.exitValue() : -1, Files.readString(output, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(output);
        }
    }
}
