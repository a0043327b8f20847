package io.spindle.scheduler.internal;

import java.nio.ByteBuffer;

import static io.spindle.scheduler.internal.Layout.*;
import static io.spindle.scheduler.internal.Memory.LONGS;

/**
 * The Java side of the off-heap MPMC ring drawn in {@code spindle_sched.h}: Vyukov's bounded
 * MPMC queue with sequence-numbered slots, as JCTools' {@code MpmcArrayQueue} implements it,
 * over native memory so that C workers ({@code ring.h}) consume what Java produces.
 * Elements are non-zero {@code long}s (task descriptor addresses). <b>Internal.</b>
 *
 * <p>Trade-offs, as JCTools states them for its original: offers and polls are lock-free
 * but not wait-free (a producer preempted between its cas and its sequence store holds up
 * the consumers of that slot); capacity is a power of two; {@link #size()} is a racy
 * estimate. Unlike JCTools', this ring can be closed: bit 62 of the producer index, set by
 * a cas, so that every offer is either accepted before the close or refused after it.
 */
public final class OffHeapRing {
    /** Results of {@link #offer(long)}. */
    public static final int OFFERED = 0, FULL = 1, CLOSED = 2;

    private final ByteBuffer buffer;
    private final long address;
    private final long capacity;
    private final long mask;

    /** A view of the ring at {@code address} (made by {@code spn_ring_create}). */
    public OffHeapRing(long address) {
        ByteBuffer header = Memory.map(address, RING_SLOTS);
        this.capacity = (long) LONGS.get(header, RING_CAPACITY);
        this.mask = (long) LONGS.get(header, RING_MASK);
        this.buffer = Memory.map(address, RING_SLOTS + (capacity << RING_SLOT_SHIFT));
        this.address = address;
    }

    public long address() {
        return address;
    }

    public long capacity() {
        return capacity;
    }

    private long lvProducerIndex() {
        return (long) LONGS.getAcquire(buffer, RING_PRODUCER_INDEX);
    }

    private long lvConsumerIndex() {
        return (long) LONGS.getAcquire(buffer, RING_CONSUMER_INDEX);
    }

    private boolean casProducerIndex(long expect, long newValue) {
        return LONGS.compareAndSet(buffer, RING_PRODUCER_INDEX, expect, newValue);
    }

    private boolean casConsumerIndex(long expect, long newValue) {
        return LONGS.compareAndSet(buffer, RING_CONSUMER_INDEX, expect, newValue);
    }

    private int slotOffset(long index) {
        return RING_SLOTS + (int) ((index & mask) << RING_SLOT_SHIFT);
    }

    private long lvSequence(int slot) {
        return (long) LONGS.getAcquire(buffer, slot + RING_SLOT_SEQUENCE);
    }

    private void soSequence(int slot, long value) {
        LONGS.setRelease(buffer, slot + RING_SLOT_SEQUENCE, value);
    }

    /** {@link #OFFERED}, {@link #FULL} or {@link #CLOSED}. {@code e} must not be 0. */
    public int offer(long e) {
        long pIndex = claim();
        if (pIndex < 0) return (int) -pIndex;
        publish(pIndex, e);
        return OFFERED;
    }

    /**
     * The first half of an offer: claims the next index, or returns {@code -FULL} or
     * {@code -CLOSED}. Until {@link #publish} the slot holds up its consumers (they skip it
     * for now: ring.h), so the two halves are split only by {@link #offer} itself, and by
     * tests that stall a producer on purpose.
     */
    public long claim() {
        final long capacity = this.capacity;
        long cIndex = Long.MIN_VALUE; // cached across retries, as in JCTools
        while (true) {
            final long pIndex = lvProducerIndex();
            if ((pIndex & RING_CLOSED) != 0) return -CLOSED;
            final int slot = slotOffset(pIndex);
            final long seq = lvSequence(slot);
            if (seq < pIndex) {
                // The slot still holds last lap's element: full, unless the consumer moved on.
                if (pIndex - capacity >= cIndex && pIndex - capacity >= (cIndex = lvConsumerIndex())) {
                    return -FULL;
                }
                continue;
            }
            if (seq > pIndex) continue; // another producer claimed pIndex
            if (casProducerIndex(pIndex, pIndex + 1)) return pIndex;
        }
    }

    /** The second half: writes the element of a claimed index and publishes it. */
    public void publish(long pIndex, long e) {
        final int slot = slotOffset(pIndex);
        LONGS.setRelease(buffer, slot + RING_SLOT_ELEMENT, e);
        soSequence(slot, pIndex + 1); // publishes the element
    }

    /**
     * The next element, or 0 when empty. Unlike the workers' poll (ring.h), which skips a slot
     * whose producer has not published yet, this one waits for it: it serves the tests that
     * check this ring against JCTools' queues, where an element claimed is an element there.
     */
    public long poll() {
        long pIndex = -1;
        while (true) {
            final long cIndex = lvConsumerIndex();
            final int slot = slotOffset(cIndex);
            final long seq = lvSequence(slot);
            final long expected = cIndex + 1;
            if (seq < expected) {
                // Not yet published; empty only if nobody claimed cIndex.
                if (cIndex >= pIndex && cIndex == (pIndex = lvProducerIndex() & ~RING_CLOSED)) return 0;
                continue;
            }
            if (seq > expected) continue; // another consumer took it
            if (casConsumerIndex(cIndex, cIndex + 1)) {
                final long e = (long) LONGS.get(buffer, slot + RING_SLOT_ELEMENT); // ordered by the acquire of seq
                soSequence(slot, cIndex + capacity);
                return e;
            }
        }
    }

    /** Closes the ring to offers; true if this call closed it. */
    public boolean close() {
        while (true) {
            long pIndex = lvProducerIndex();
            if ((pIndex & RING_CLOSED) != 0) return false;
            if (casProducerIndex(pIndex, pIndex | RING_CLOSED)) return true;
        }
    }

    public boolean isClosed() {
        return (lvProducerIndex() & RING_CLOSED) != 0;
    }

    /** A racy estimate, exact when nothing is in flight. */
    public long size() {
        while (true) {
            long before = lvConsumerIndex();
            long pIndex = lvProducerIndex() & ~RING_CLOSED;
            long after = lvConsumerIndex();
            if (before == after) return Math.max(0, Math.min(capacity, pIndex - after));
        }
    }

    /** Total offers accepted so far. */
    public long offered() {
        return lvProducerIndex() & ~RING_CLOSED;
    }
}
