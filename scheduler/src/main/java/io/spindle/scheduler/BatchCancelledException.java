package io.spindle.scheduler;

import java.util.BitSet;
import java.util.concurrent.CancellationException;

/**
 * Some tasks of a batch never ran: shutdownNow() cancelled them before they started, or the
 * runtime closed while {@link Spindle#spawnAll} was still queueing them. The results of the
 * tasks that did run are kept here.
 */
public final class BatchCancelledException extends CancellationException {
    private static final long serialVersionUID = 1L;

    private final long[] results;
    private final BitSet skipped;

    BatchCancelledException(String message, long[] results, BitSet skipped) {
        super(message);
        this.results = results;
        this.skipped = skipped;
    }

    /** Every task's result in argument order; 0 for the tasks that never ran. A copy. */
    public long[] results() {
        return results.clone();
    }

    /** The indices of the tasks that never ran. A copy. */
    public BitSet skipped() {
        return (BitSet) skipped.clone();
    }

    /** True if task {@code i} ran to its end, so {@code results()[i]} is its result. */
    public boolean ran(int i) {
        if (i < 0 || i >= results.length) throw new IndexOutOfBoundsException(i);
        return !skipped.get(i);
    }
}
