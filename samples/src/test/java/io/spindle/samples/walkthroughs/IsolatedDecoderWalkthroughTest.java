package io.spindle.samples.walkthroughs;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class IsolatedDecoderWalkthroughTest {
    @Test
    void corruptInputsFailTheirOwnTasksAndTheInProcessJvmDies() throws Exception {
        IsolatedDecoderWalkthrough.Observations o = new IsolatedDecoderWalkthrough().observe();
        for (IsolatedDecoderWalkthrough.Outcome r : o.outcomes()) {
            if (r.corrupt()) {
                assertNotNull(r.crash(), "a corrupt record fails its join");
                assertTrue(r.crash().contains("SIGSEGV") && r.crash().contains("sample_decode"), r.crash());
            } else {
                assertEquals(IsolatedDecoderWalkthrough.expectedSum(), r.sum(), "a good record decodes");
            }
        }
        assertEquals(IsolatedDecoderWalkthrough.corruptCount(), o.restarts(), "a new child after each crash");
        assertNotEquals(0, o.inProcessExit(), "the in-process JVM died: " + o.inProcessLastWords());
        assertTrue(o.inProcessLastWords().contains("A fatal error"), o.inProcessLastWords());
        assertTrue(o.holds(), o.toString());
    }

    @Test
    void theCommandSaysWhatItShowed() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        assertEquals(0, new IsolatedDecoderWalkthrough().run(List.of(), new PrintStream(bytes, true, StandardCharsets.UTF_8)));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("shown: the corrupt inputs failed their own tasks"), out);
    }
}
