package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlag;
import io.spindle.runtime.CloneRule;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ThreadLikeWalkthroughTest {
    @Test
    void cloneVmMakesTheChildsWriteTheParentsAndWithoutItTheParentKeepsFive() {
        ThreadLikeWalkthrough.Observations o = new ThreadLikeWalkthrough().observe();
        assertEquals(5, o.start());
        assertTrue(o.withVm().flags().contains(CloneFlag.VM) && o.withVm().flags().contains(CloneFlag.SIGHAND));
        assertEquals(5, o.withVm().childBefore());
        assertEquals(105, o.withVm().childAfter());
        assertEquals(105, o.withVm().parentAfter(), "CLONE_VM: the child's += 100 is in our memory");
        assertFalse(o.withoutVm().flags().contains(CloneFlag.VM) || o.withoutVm().flags().contains(CloneFlag.SIGHAND));
        assertTrue(o.withoutVm().flags().contains(CloneFlag.FILES));
        assertEquals(5, o.withoutVm().childBefore(), "the copy starts with the parent's value");
        assertEquals(105, o.withoutVm().childAfter(), "the child did add 100, to its copy");
        assertEquals(5, o.withoutVm().parentAfter(), "without CLONE_VM the parent still sees 5");
        assertEquals(CloneRule.SIGHAND_NEEDS_VM, o.sigHandRule());
        assertTrue(o.holds());
    }

    @Test
    void theCommandShowsItAndExitsZero() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, new ThreadLikeWalkthrough().run(List.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        String text = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("CLONE_SIGHAND requires CLONE_VM"), text);
        assertTrue(text.lines().count() <= 8, "compact output: " + text);
    }
}
