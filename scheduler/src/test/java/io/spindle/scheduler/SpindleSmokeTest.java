package io.spindle.scheduler;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SpindleSmokeTest {
    @Test
    void spawnJoin() {
        try (Spindle s = Spindle.builder().workers(2).build()) {
            for (int i = 0; i < 10000; i++) {
                assertEquals(i, s.spawn(SchedTestLib.fn("spn_test_return_arg"), i).join());
            }
            long[] r = s.spawnAll(SchedTestLib.fn("spn_test_return_arg"), new long[] {5, 6, 7}).join();
            assertArrayEquals(new long[] {5, 6, 7}, r);
            System.out.println(s.stats());
        }
    }
}
