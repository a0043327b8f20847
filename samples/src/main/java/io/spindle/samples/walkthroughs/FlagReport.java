package io.spindle.samples.walkthroughs;

import io.spindle.runtime.CloneFlags;
import io.spindle.runtime.CloneProcess;

import java.time.Duration;
import java.util.concurrent.TimeoutException;

/**
 * The report block of the flag walkthroughs: {@code struct flag_report} of flag_report.h, in
 * {@link SharedBlock} memory so that a child cloned without {@code CLONE_VM} writes what the
 * parent reads. Sixteen numbers, two futex words (go, done) and two strings.
 */
final class FlagReport implements AutoCloseable {
    // struct flag_report (flag_report.h): value[16] (8b each) | go(4b) | done(4b) | text(256b) | text2(256b)
    static final int TEXT_MAX = 256;
    private static final long GO = 128, DONE = 132, TEXT = 136, TEXT2 = 392, SIZE = 648;
    /** How long a child may take before the walkthrough calls it hung. */
    static final Duration CHILD_DEADLINE = Duration.ofSeconds(30);

    private final SharedBlock block;

    FlagReport() {
        SamplesNative.checkLayout(SamplesNative.Report.FLAG, SIZE);
        block = SharedBlock.map(SIZE);
    }

    long address() {
        return block.address();
    }

    long value(int i) {
        return block.getLong(8L * check(i));
    }

    FlagReport value(int i, long v) {
        block.setLong(8L * check(i), v);
        return this;
    }

    int go() {
        return block.getInt(GO);
    }

    int done() {
        return block.getInt(DONE);
    }

    /** Sets go and wakes a child waiting for it. */
    void go(int value) {
        SamplesNative.sample_set_word(block.address() + GO, value);
    }

    String text() {
        return block.getString(TEXT, TEXT_MAX);
    }

    FlagReport text(String value) {
        block.setString(TEXT, TEXT_MAX, value);
        return this;
    }

    FlagReport text2(String value) {
        block.setString(TEXT2, TEXT_MAX, value);
        return this;
    }

    /** Flags as a walkthrough prints them: "no flag" for none. */
    static String label(CloneFlags flags) {
        return flags.mask() == 0 ? "no flag" : flags.toString();
    }

    private static int check(int i) {
        if (i < 0 || i >= 16) throw new IndexOutOfBoundsException("value[" + i + "] of 16");
        return i;
    }

    /** Starts {@code function} of the samples library in a child cloned with {@code flags}, this block its argument. */
    CloneProcess start(CloneFlags flags, String function) {
        return CloneProcess.start(flags, SamplesNative.function(function), address());
    }

    /** {@link #start}, then waits for the child, which must exit 0. */
    void run(CloneFlags flags, String function) {
        expectSuccess(start(flags, function), function);
    }

    static void expectSuccess(CloneProcess child, String function) {
        CloneProcess.ExitStatus status;
        try {
            status = child.join(CHILD_DEADLINE);
        } catch (TimeoutException e) {
            throw new IllegalStateException(function + " in a " + child.flags() + " child did not end within " + CHILD_DEADLINE);
        }
        if (!status.exited() || status.exitCode() != 0) {
            throw new IllegalStateException(function + " in a " + child.flags() + " child " + status);
        }
    }

    @Override
    public void close() {
        block.close();
    }
}
