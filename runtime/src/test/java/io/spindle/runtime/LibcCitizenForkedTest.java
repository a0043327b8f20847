package io.spindle.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** One malloc arena for everybody: raw threads must share it through its lock, correctly. */
class LibcCitizenForkedTest {
    @Test
    @Timeout(300)
    void aMillionMallocsWithOneArena() throws Exception {
        ForkedJvm.Result r = ForkedJvm.run(ForkedJvm.builder(LibcCitizenTest.class, List.of()),
                Map.of("MALLOC_ARENA_MAX", "1"));
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("CITIZENS OK"), r.output());
    }
}
