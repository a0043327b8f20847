package io.spindle.samples.walkthroughs;

import io.spindle.samples.UsageException;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class SettidRaceWalkthroughTest {
    @Test
    void childSettidMissesTheTidAndParentSettidNever() {
        SettidRaceWalkthrough.Observations o = new SettidRaceWalkthrough().observe(2000);
        SettidRaceWalkthrough.Misses child = o.childSettid();
        assertTrue(child.misses() > 0, "CLONE_CHILD_SETTID: the parent found no tid in the word some of the time: " + o);
        assertEquals(child.misses(), child.unwritten() + child.cleared(),
                "a miss is either the initial -1 or the 0 of an exit already done: " + o);
        assertEquals(0, o.parentSettid().misses(), "CLONE_PARENT_SETTID: the tid was there every time: " + o);
        assertTrue(o.holds());
    }

    @Test
    void theCommandShowsItAndExitsZero() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, new SettidRaceWalkthrough().run(List.of("1000"), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains("no tid 0/1000"));
    }

    @Test
    void badRoundsAreAUsageError() {
        PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        assertThrows(UsageException.class, () -> new SettidRaceWalkthrough().run(List.of("many"), out));
        assertThrows(UsageException.class, () -> new SettidRaceWalkthrough().run(List.of("0"), out));
    }
}
