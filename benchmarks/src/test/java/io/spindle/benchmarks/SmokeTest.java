package io.spindle.benchmarks;

import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every benchmark once, in a smoke mode: in this JVM, no warm-up, one short measurement,
 * small inputs. Each benchmark checks its own answer (in its set-up and its invocations), and
 * a failure there fails this test: the suite cannot rot between report runs.
 */
class SmokeTest {
    @Test
    void everyBenchmarkRunsOnceAndChecksItsAnswer() throws Exception {
        Options options = new OptionsBuilder()
                .include("io\\.spindle\\.benchmarks\\..*")
                .forks(0)
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(100))
                .param("bufferBytes", String.valueOf(4L << 20)) // the CRC workload: 4 MiB, not 256
                .shouldFailOnError(true)
                .build();
        Collection<RunResult> results = new Runner(options).run();
        Set<String> benchmarks = new TreeSet<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            benchmarks.add(name.substring(0, name.lastIndexOf('.')));
            assertTrue(r.getPrimaryResult().getScore() > 0, name + " " + r.getParams());
        }
        System.out.println("smoke: " + results.size() + " runs of " + benchmarks);
        assertEquals(Set.of(
                "io.spindle.benchmarks.BackpressureBenchmark", "io.spindle.benchmarks.BatchBenchmark", "io.spindle.benchmarks.Crc32cWorkloadBenchmark",
                "io.spindle.benchmarks.ForkJoinFibBenchmark", "io.spindle.benchmarks.IsolatedRestartBenchmark",
                "io.spindle.benchmarks.IsolationBenchmark", "io.spindle.benchmarks.NativeCallBenchmark",
                "io.spindle.benchmarks.QueueBenchmark", "io.spindle.benchmarks.RoundTripBenchmark",
                "io.spindle.benchmarks.SpawnJoinBenchmark", "io.spindle.benchmarks.ThreadSpawnBenchmark",
                "io.spindle.benchmarks.YieldPingPongBenchmark"), benchmarks);
    }
}
