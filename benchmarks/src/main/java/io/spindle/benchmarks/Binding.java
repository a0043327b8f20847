package io.spindle.benchmarks;

/**
 * How a Java thread calls a native function: the three bindings the Java alternatives come
 * in. A suite's {@code runtime} names end with the binding's suffix ({@code forkJoin},
 * {@code forkJoinFfm}, {@code forkJoinFfmCritical}); the names are the {@code @Param} values
 * where the binding alone is the alternative (NativeCallBenchmark).
 */
public enum Binding {
    /** JNA direct mapping ({@link io.spindle.benchmarks.internal.BenchNative}): a JNI call. */
    jna(""),
    /** An FFM downcall, default linkage ({@link io.spindle.benchmarks.internal.Ffm#downcall}). */
    ffm("Ffm"),
    /** An FFM downcall, critical linkage ({@link io.spindle.benchmarks.internal.Ffm#criticalDowncall}). */
    ffmCritical("FfmCritical");

    private final String suffix;

    Binding(String suffix) {
        this.suffix = suffix;
    }

    /** The binding an alternative's name ends with; no suffix: JNA. */
    public static Binding ofRuntime(String runtime) {
        return runtime.endsWith(ffmCritical.suffix) ? ffmCritical : runtime.endsWith(ffm.suffix) ? ffm : jna;
    }
}
