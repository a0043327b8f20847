package io.spindle.samples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;

/** The tool's front door: usage, unknown commands, bad arguments, the tour. */
class MainTest {
    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void noCommandPrintsUsageAndFails() {
        Run r = run();
        assertEquals(2, r.code());
        assertTrue(r.err().contains("usage: spindle-samples COMMAND"), r.err());
        for (String name : Main.commands().keySet()) assertTrue(r.err().contains(name), name + " listed");
    }

    @Test
    void helpListsEveryCommand() {
        Run r = run("help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("tour"), r.out());
    }

    @Test
    void unknownCommandIsAUsageErrorNotAStackTrace() {
        Run r = run("no-such-command");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown command 'no-such-command'"), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        Run flags = run("flags", "CLONE_NOPE");
        assertEquals(2, flags.code(), flags.err());
        assertTrue(flags.err().contains("CLONE_NOPE"), flags.err());
        assertFalse(flags.err().contains("\tat "), "no stack trace: " + flags.err());
        Run tour = run("tour", "extra");
        assertEquals(2, tour.code());
        assertTrue(tour.err().contains("tour takes no arguments"), tour.err());
        for (String workload : new String[] {"mandelbrot", "fib", "sort", "hash", "zlib"}) {
            Run r = run(workload, "-5");
            assertEquals(2, r.code(), workload + ": " + r.err());
            assertFalse(r.err().contains("\tat "), workload + ": no stack trace: " + r.err());
        }
    }

    @Test
    void theTourRunsEverythingAndSucceeds() {
        Run r = run("tour");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("The tour took"), r.out());
        for (String workload : new String[] {"mandelbrot", "fib", "sort", "hash", "zlib"}) {
            assertTrue(r.out().contains("$ " + workload), workload + " ran: " + r.out());
        }
        // The table of flags at the end: each one shown, or (without root) needing a privilege.
        String table = r.out().substring(r.out().indexOf("4. Every flag"));
        for (io.spindle.runtime.CloneFlag f : Tour.SEED_FLAGS) {
            String row = table.lines().filter(l -> l.trim().startsWith("CLONE_" + f.name() + " ")).findFirst().orElse("");
            assertTrue(row.contains("shown by") || row.contains("needs privilege"), "CLONE_" + f + ": '" + row + "'");
        }
    }
}
